//! The `flockrelay` command line (clap). One file per subcommand; `anyhow` lives
//! here and in `main.rs` only.

mod check;
mod destinations;
pub mod docs;
mod messages;
mod render;
mod send;
mod serve;
mod silences;
mod test;

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

/// `flockrelay --version`: the version and the commit it was built from
/// (`build.rs`; "commit unknown" when it was built without git metadata).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("BUILD_COMMIT"), ")");

/// flockrelay — relays security alerts to Slack, Microsoft Teams, Splunk HEC and
/// JSON webhooks.
#[derive(Debug, Parser)]
#[command(name = "flockrelay", version = VERSION, about, after_long_help = docs::after_help())]
pub struct Cli {
    /// Configuration file [default: config/flockrelay.toml when it exists].
    #[arg(long, global = true, env = "FLOCKRELAY_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the relay: HTTP API and delivery workers (SQLite under ./data by default).
    Serve,
    /// Inspect, replay and recover messages in the store.
    #[command(subcommand_required = true)]
    Messages {
        #[command(subcommand)]
        command: messages::MessagesCommand,
    },
    /// List, create and expire silences (mute rules with matchers and an expiry).
    #[command(subcommand_required = true)]
    Silences {
        #[command(subcommand)]
        command: silences::SilencesCommand,
    },
    /// List destinations with their state; re-enable or disable one.
    Destinations {
        #[command(subcommand)]
        command: destinations::DestinationsCommand,
    },
    /// Validate the configuration and every template; exit non-zero with the reason.
    Check,
    /// Print the exact request a destination would receive (secrets masked).
    Render {
        /// Destination name.
        #[arg(long, short)]
        destination: String,
        /// Alert JSON file, or `-` for standard input [default: a test alert].
        alert: Option<String>,
        /// Print the body indented for reading (what would be sent does not change).
        #[arg(long)]
        pretty: bool,
    },
    /// Send a test notification to every resolved destination now.
    Test {
        /// Only the destinations this flock resolves to (`global` for the global set).
        #[arg(long)]
        flock: Option<String>,
        /// Only this destination (even if disabled).
        #[arg(long, short)]
        destination: Option<String>,
        /// Check instead of sending: a Splunk HEC's /services/collector/health
        /// (token included), so nothing is written into the index. Channels
        /// without a health check are skipped.
        #[arg(long)]
        health: bool,
    },
    /// Deliver one alert now to the destinations its flock resolves to (no server).
    Send {
        /// Deliver as if the alert belonged to this flock.
        #[arg(long)]
        flock: Option<String>,
        /// Alert JSON file, or `-` for standard input.
        alert: String,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page, or write one page per command into a directory.
    Man {
        /// Write flockrelay.1 and one flockrelay-<command>.1 per command here
        /// instead of printing the main page.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// Parses the command line and runs it; returns the process exit code.
pub fn run() -> anyhow::Result<i32> {
    let cli = Cli::parse();
    // The commands that need no configuration (or, for `check`, report on it).
    match &cli.command {
        Command::Check => return Ok(check::run(cli.config.as_deref())),
        Command::Completions { shell } => return docs::completions(*shell, &mut std::io::stdout().lock()),
        Command::Man { dir: Some(dir) } => return docs::man_pages(dir),
        Command::Man { dir: None } => return docs::man_page(&mut std::io::stdout().lock()),
        _ => {}
    }
    // `serve` starts only from a configuration `check` accepts; every command
    // says why not exactly as `check` does (exit 1, not a usage error).
    let loaded = match &cli.command {
        Command::Serve => check::validated(cli.config.as_deref()),
        _ => check::loaded(cli.config.as_deref()),
    };
    let (config, renderer) = match loaded {
        Ok(valid) => valid,
        Err(refused) => {
            eprintln!("{refused}");
            return Ok(check::INVALID);
        }
    };
    match &cli.command {
        Command::Check | Command::Completions { .. } | Command::Man { .. } => Ok(0),
        Command::Serve => runtime()?.block_on(serve::run(cli.config.as_deref(), config, renderer)),
        Command::Messages { command } => runtime()?.block_on(messages::run(&config, command)),
        Command::Destinations { command } => runtime()?.block_on(destinations::run(&config, command)),
        Command::Silences { command } => runtime()?.block_on(silences::run(&config, command)),
        Command::Render { destination, alert, pretty } => {
            render::run(&config, &renderer, destination, alert.as_deref(), *pretty)
        }
        Command::Test { flock, destination, health } => {
            runtime()?.block_on(test::run(&config, &renderer, flock.as_deref(), destination.as_deref(), *health))
        }
        Command::Send { flock, alert } => runtime()?.block_on(send::run(&config, &renderer, flock.as_deref(), alert)),
    }
}

/// The error for a destination name that is not there, listing the ones that are.
fn unknown_destination<'a>(name: &str, known: impl IntoIterator<Item = &'a str>, place: &str) -> anyhow::Error {
    let mut known: Vec<&str> = known.into_iter().collect();
    known.sort_unstable();
    known.dedup();
    if known.is_empty() {
        anyhow::anyhow!("no destination named `{name}` {place}, which has none")
    } else {
        anyhow::anyhow!("no destination named `{name}` {place}; destinations: {}", known.join(", "))
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

/// Reads an alert document from a file or, for `-`, standard input.
fn read_input(source: &str) -> anyhow::Result<Vec<u8>> {
    if source == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).context("cannot read the alert from standard input")?;
        Ok(bytes)
    } else {
        std::fs::read(source).with_context(|| format!("cannot read alert file {source}"))
    }
}

/// The relay's store, for the commands that read or change it without a
/// running relay (`messages`, `destinations`, `silences`), opened with the key
/// `serve` made (never a new one).
async fn open_store(config: &crate::config::Config) -> anyhow::Result<std::sync::Arc<dyn crate::store::Store>> {
    let url = config.store.url.expose();
    let key = crate::api::run::existing_secret_key(config)?;
    crate::store::open(url, &key)
        .await
        .with_context(|| format!("cannot open the store {}", crate::secret::mask_url_text(url)))
}
