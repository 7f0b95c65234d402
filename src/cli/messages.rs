//! `flockrelay messages list|show|replay|recover`: the operator API's answers,
//! read from and written to the store directly (SQLite file or PostgreSQL), so
//! they work whether or not a server is running.

use anyhow::Context as _;
use chrono::Utc;
use clap::Subcommand;

use crate::config::Config;
use crate::secret::redact_url_password;
use crate::server::messages::{parse_time, MAX_LIST};
use crate::store::{self, MessageFilter, MessageStatus};

#[derive(Debug, Subcommand)]
pub enum MessagesCommand {
    /// List messages, newest first.
    List {
        /// pending, delivering, delivered, failed or cancelled.
        #[arg(long)]
        status: Option<String>,
        /// Destination id (its name in the config file).
        #[arg(long)]
        destination: Option<String>,
        #[arg(long)]
        flock: Option<String>,
        #[arg(long)]
        alert: Option<String>,
        /// Created at or after (RFC 3339 or Unix seconds).
        #[arg(long)]
        since: Option<String>,
        /// Created before (RFC 3339 or Unix seconds).
        #[arg(long)]
        until: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show one message with every attempt.
    Show { id: String },
    /// Queue a delivered or failed message again (same message id, so the same webhook-id).
    Replay { id: String },
    /// Queue again every failed message of a destination created in a time window.
    Recover {
        #[arg(long)]
        destination: String,
        #[arg(long)]
        since: String,
        /// [default: now]
        #[arg(long)]
        until: Option<String>,
    },
}

fn time(name: &str, text: Option<&str>) -> anyhow::Result<Option<chrono::DateTime<Utc>>> {
    text.map(|text| parse_time(name, text).map_err(|error| anyhow::anyhow!("{error}"))).transpose()
}

pub async fn run(config: &Config, command: &MessagesCommand) -> anyhow::Result<i32> {
    let url = config.store.url.expose();
    let store =
        store::open(url).await.with_context(|| format!("cannot open the store {}", redact_url_password(url)))?;
    match command {
        MessagesCommand::List { status, destination, flock, alert, since, until, limit } => {
            let status = status
                .as_deref()
                .map(|text| MessageStatus::parse(text).with_context(|| format!("unknown status {text:?}")))
                .transpose()?;
            let filter = MessageFilter {
                status,
                destination_id: destination.clone(),
                flock_id: flock.clone(),
                alert_id: alert.clone(),
                since: time("--since", since.as_deref())?,
                until: time("--until", until.as_deref())?,
                limit: (*limit).clamp(1, MAX_LIST),
                before: None,
            };
            for message in store.messages(&filter).await? {
                println!(
                    "{}  {:<10}  {:<20}  attempts={}  created={}  {}",
                    message.id,
                    message.status.as_str(),
                    message.destination_id,
                    message.attempts,
                    message.created_at.to_rfc3339(),
                    message.last_error.unwrap_or_default()
                );
            }
            Ok(0)
        }
        MessagesCommand::Show { id } => {
            let Some((message, attempts)) = store.message(id).await? else {
                eprintln!("message {id} not found");
                return Ok(1);
            };
            let shown = serde_json::json!({"message": message, "attempts": attempts});
            println!("{}", serde_json::to_string_pretty(&shown)?);
            Ok(0)
        }
        MessagesCommand::Replay { id } => {
            let message = store.replay(id, Utc::now()).await?;
            println!("{} queued again for {}", message.id, message.destination_id);
            Ok(0)
        }
        MessagesCommand::Recover { destination, since, until } => {
            let since = time("--since", Some(since))?.context("--since is required")?;
            let until = time("--until", until.as_deref())?.unwrap_or_else(Utc::now);
            let recovered = store.recover(destination, since, until, Utc::now()).await?;
            println!("{recovered} failed message(s) of {destination} queued again");
            Ok(0)
        }
    }
}
