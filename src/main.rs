//! The `flockrelay` binary: set up logging, run the command, exit with its code.

fn main() {
    flockrelay::telemetry::init();
    let code = match flockrelay::cli::run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            2
        }
    };
    std::process::exit(code);
}
