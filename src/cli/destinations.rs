//! `flockrelay destinations list|enable|disable`: the destinations' stored
//! state, read from and written to the store directly (SQLite file or
//! PostgreSQL), so they work with or without a running server; a running
//! relay picks a change up when it next re-reads its catalogue (seconds).

use crate::catalogue::registry::Registry;
use clap::Subcommand;

use crate::api::destinations::MAX_REASON_LEN;
use crate::config::Config;
use crate::store::{DestinationState, StateRecord};

/// Exit code of a usage error (README's table).
const USAGE: i32 = 2;

#[derive(Debug, Subcommand)]
pub enum DestinationsCommand {
    /// List destinations with their state (enabled, disabled_by_operator, disabled_by_channel).
    List,
    /// Re-enable a destination an operator or its channel (410 Gone) disabled.
    Enable {
        /// Destination name (or id).
        name: String,
    },
    /// Disable a destination until it is re-enabled; its queued messages wait.
    Disable {
        /// Destination name (or id).
        name: String,
        /// Why, kept with the state.
        #[arg(long, default_value = "disabled by an operator")]
        reason: String,
    },
}

pub async fn run(config: &Config, command: &DestinationsCommand) -> anyhow::Result<i32> {
    let registry = Registry::offline(super::open_store(config).await?, config.flocks.keys().cloned().collect());
    match command {
        DestinationsCommand::List => {
            for line in lines(&registry).await? {
                println!("{line}");
            }
            Ok(0)
        }
        DestinationsCommand::Enable { name } => change(&registry, name, DestinationState::Enabled, None).await,
        DestinationsCommand::Disable { name, reason } => {
            if reason.trim().is_empty()
                || reason.chars().count() > MAX_REASON_LEN
                || reason.chars().any(char::is_control)
            {
                eprintln!("error: --reason must be 1 to {MAX_REASON_LEN} characters, without control characters");
                return Ok(USAGE);
            }
            change(&registry, name, DestinationState::DisabledByOperator, Some(reason)).await
        }
    }
}

/// One line per destination: name, kind, flock, state, and why.
async fn lines(registry: &Registry) -> anyhow::Result<Vec<String>> {
    let catalogue = registry.current().await?;
    Ok(catalogue
        .destinations()
        .iter()
        .map(|destination| {
            let record = catalogue.state(&destination.id);
            line(&destination.name, destination.channel.kind().as_str(), destination.scope.as_str(), record)
        })
        .collect())
}

fn line(name: &str, kind: &str, flock: &str, record: Option<&StateRecord>) -> String {
    let (state, reason, at) = record.map_or((DestinationState::Enabled, None, None), StateRecord::effective);
    let mut text = format!("{name:<20}  {kind:<8}  {flock:<20}  {}", state.as_str());
    if let Some(at) = at {
        text.push_str(&format!("  since {}", at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
    }
    if let Some(reason) = reason {
        text.push_str(&format!("  ({reason})"));
    }
    text.trim_end().to_owned()
}

async fn change(registry: &Registry, name: &str, state: DestinationState, reason: Option<&str>) -> anyhow::Result<i32> {
    let catalogue = registry.current().await?;
    let destinations = catalogue.destinations();
    let Some(destination) = destinations.iter().find(|destination| destination.name == name || destination.id == name)
    else {
        // A usage error (exit 2), listing the destinations there are.
        return Err(super::unknown_destination(name, destinations.iter().map(|d| d.name.as_str()), "in the store"));
    };
    registry.set_destination_state(&destination.id, state, reason).await?;
    let catalogue = registry.current().await?;
    let record = catalogue.state(&destination.id);
    println!("{}", line(&destination.name, destination.channel.kind().as_str(), destination.scope.as_str(), record));
    Ok(0)
}
