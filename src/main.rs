//! The `flockrelay` binary: set up logging, run the command, exit with its code.

/// mimalloc: rendering and JSON handling allocate many small strings; it roughly
/// halves their cost against the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if let Err(error) = flockrelay::telemetry::init() {
        eprintln!("error: {error}");
        std::process::exit(2);
    }
    let code = match flockrelay::cli::run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            2
        }
    };
    std::process::exit(code);
}
