//! `flockrelay messages list|show|replay|recover`: the operator API's answers,
//! read from and written to the store directly (SQLite file or PostgreSQL), so
//! they work whether or not a server is running.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Subcommand;

use crate::api::messages::{parse_time_at, MAX_LIST};
use crate::config::Config;
use std::sync::Arc;

use crate::catalogue::registry::Registry;
use crate::outbox::Outbox;
use crate::store::{Message, MessageFilter, MessageStatus, Store};

/// What `--since` and `--until` take.
const TIME_HELP: &str = "RFC 3339 (2026-11-25T10:00:00Z), Unix seconds, or a duration ago (30m, 1h, 7d)";

#[derive(Debug, Subcommand)]
pub enum MessagesCommand {
    /// List messages, newest first: a header line and one line per message, or JSON.
    List {
        /// Only messages in this status: pending, delivering, delivered, failed, cancelled,
        /// grouped, suppressed or silenced.
        #[arg(long)]
        status: Option<String>,
        /// Only messages of this destination (its name in the config file, or its API id).
        #[arg(long)]
        destination: Option<String>,
        /// Only messages of alerts of this flock (`flock:…`).
        #[arg(long)]
        flock: Option<String>,
        /// Only the messages of this alert id.
        #[arg(long)]
        alert: Option<String>,
        /// Only messages created at or after this time.
        #[arg(long, value_name = "TIME", long_help = format!("Only messages created at or after this time: {TIME_HELP}."))]
        since: Option<String>,
        /// Only messages created before this time.
        #[arg(long, value_name = "TIME", long_help = format!("Only messages created before this time: {TIME_HELP}."))]
        until: Option<String>,
        /// At most this many messages (1 to 1000).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print a JSON array of the messages instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one message with every attempt (JSON).
    Show {
        /// The message id (`msg_…`).
        id: String,
    },
    /// Queue a delivered or failed message again (same message id, so the same webhook-id).
    Replay {
        /// The message id (`msg_…`).
        id: String,
    },
    /// Queue again every failed message of a destination created in a time window.
    Recover {
        /// The destination whose failed messages are queued again.
        #[arg(long)]
        destination: String,
        /// Window start: messages created at or after this time.
        #[arg(long, value_name = "TIME", long_help = format!("Window start: messages created at or after this time: {TIME_HELP}."))]
        since: String,
        /// Window end [default: now].
        #[arg(long, value_name = "TIME", long_help = format!("Window end [default: now]: {TIME_HELP}."))]
        until: Option<String>,
    },
}

fn time(name: &str, text: Option<&str>, now: DateTime<Utc>) -> anyhow::Result<Option<DateTime<Utc>>> {
    text.map(|text| parse_time_at(name, text, now).map_err(|error| anyhow::anyhow!("{error}"))).transpose()
}

/// Destination names the store and the config file know, for an error.
async fn known_destinations(store: &Arc<dyn Store>, config: &Config) -> anyhow::Result<Vec<String>> {
    let registry = Registry::offline(Arc::clone(store), Default::default());
    let catalogue = registry.current().await?;
    let mut names: Vec<String> = catalogue.destinations().iter().map(|destination| destination.id.clone()).collect();
    names.extend(config.destinations.keys().cloned());
    Ok(names)
}

/// The error for an unknown destination, listing the known ones.
async fn unknown_destination(store: &Arc<dyn Store>, config: &Config, name: &str) -> anyhow::Result<anyhow::Error> {
    let known = known_destinations(store, config).await?;
    Ok(super::unknown_destination(name, known.iter().map(String::as_str), "in the store or the configuration"))
}

/// The table `messages list` prints: a header, then one line per message.
fn print_table(messages: &[Message]) {
    let width = |header: &str, values: &mut dyn Iterator<Item = usize>| values.max().unwrap_or(0).max(header.len());
    let id = width("ID", &mut messages.iter().map(|message| message.id.len()));
    let status = width("STATUS", &mut messages.iter().map(|message| message.status.as_str().len()));
    let destination = width("DESTINATION", &mut messages.iter().map(|message| message.destination_id.len()));
    let created = width("CREATED", &mut messages.iter().map(|message| rfc3339(message.created_at).len()));
    println!(
        "{:<id$}  {:<status$}  {:<destination$}  ATTEMPTS  {:<created$}  LAST ERROR",
        "ID", "STATUS", "DESTINATION", "CREATED"
    );
    for message in messages {
        let line = format!(
            "{:<id$}  {:<status$}  {:<destination$}  {:<8}  {:<created$}  {}",
            message.id,
            message.status.as_str(),
            message.destination_id,
            message.attempts,
            rfc3339(message.created_at),
            message.last_error.as_deref().unwrap_or_default()
        );
        println!("{}", line.trim_end());
    }
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `--status`, parsed.
fn status_filter(text: Option<&str>) -> anyhow::Result<Option<MessageStatus>> {
    text.map(|text| MessageStatus::parse(text).with_context(|| format!("unknown status {text:?}"))).transpose()
}

pub async fn run(config: &Config, command: &MessagesCommand) -> anyhow::Result<i32> {
    let store = super::open_store(config).await?;
    let outbox = Outbox::offline(Arc::clone(&store));
    let now = Utc::now();
    match command {
        MessagesCommand::List { status, destination, flock, alert, since, until, limit, json } => {
            let filter = MessageFilter {
                status: status_filter(status.as_deref())?,
                destination_id: destination.clone(),
                flock_id: flock.clone(),
                alert_id: alert.clone(),
                since: time("--since", since.as_deref(), now)?,
                until: time("--until", until.as_deref(), now)?,
                limit: (*limit).clamp(1, MAX_LIST),
                before: None,
            };
            let messages = outbox.list_messages(&filter).await?;
            // An empty answer for a name nobody knows is most likely a typo.
            if let Some(name) = destination.as_deref().filter(|_| messages.is_empty()) {
                if !known_destinations(&store, config).await?.iter().any(|known| known == name) {
                    return Err(unknown_destination(&store, config, name).await?);
                }
            }
            if *json {
                println!("{}", serde_json::to_string_pretty(&messages)?);
            } else {
                print_table(&messages);
            }
            Ok(0)
        }
        MessagesCommand::Show { id } => {
            let Some((message, attempts)) = outbox.message(id).await? else {
                eprintln!("message {id} not found");
                return Ok(1);
            };
            let digest_alerts = outbox.digest_alerts(id).await?;
            let shown = serde_json::json!({"message": message, "attempts": attempts, "digest_alerts": digest_alerts});
            println!("{}", serde_json::to_string_pretty(&shown)?);
            Ok(0)
        }
        MessagesCommand::Replay { id } => {
            let message = outbox.replay(id).await?;
            println!("{} queued again for {}", message.id, message.destination_id);
            Ok(0)
        }
        MessagesCommand::Recover { destination, since, until } => {
            if !known_destinations(&store, config).await?.iter().any(|known| known == destination) {
                return Err(unknown_destination(&store, config, destination).await?);
            }
            let since = time("--since", Some(since), now)?.context("--since is required")?;
            let until = time("--until", until.as_deref(), now)?.unwrap_or(now);
            let recovered = outbox.recover(destination, since, until).await?;
            println!("{recovered} failed message(s) of {destination} queued again");
            Ok(0)
        }
    }
}
