//! `flockrelay silences list|add|expire`: mute rules with matchers and an
//! expiry, read from and written to the store directly (like `messages`), so
//! they work whether or not a server is running; every relay on the store
//! applies a new silence to the alerts it ingests from then on.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Subcommand;

use crate::config::Config;
use crate::outbox::Outbox;
use crate::storm::service::NewSilence;
use crate::storm::silence::{self, Matcher, Op, Silence};

#[derive(Debug, Subcommand)]
pub enum SilencesCommand {
    /// List the silences in force (with --all, expired ones too), newest first.
    List {
        /// Expired silences too.
        #[arg(long)]
        all: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a silence: matching alerts are stored as silenced, not sent to
    /// destinations that can be silenced (chat by default).
    Add {
        /// `field=value` (equals) or `field=~regex` (the whole value matches);
        /// repeat for several (all must match). Fields: kind, flock, severity,
        /// title, description, actor, actor.ip, actor.name, target, target.name,
        /// target.ip, target.port, target.id, details.<name>.
        #[arg(long = "match", value_name = "MATCHER", required = true)]
        matchers: Vec<String>,
        /// Why (shown with every alert it silences).
        #[arg(long)]
        reason: String,
        /// Who created it.
        #[arg(long)]
        author: String,
        /// How long it lasts (30m, 2h, 1d).
        #[arg(long, conflicts_with = "until", required_unless_present = "until")]
        duration: Option<String>,
        /// When it ends (RFC 3339).
        #[arg(long)]
        until: Option<String>,
    },
    /// End a silence now (it stays listed with --all).
    Expire {
        /// The silence id (`sil_…`).
        id: String,
    },
}

/// `field=value` or `field=~pattern`.
fn matcher(text: &str) -> anyhow::Result<Matcher> {
    let (field, value) =
        text.split_once('=').with_context(|| format!("matcher {text:?} is not field=value or field=~regex"))?;
    let (op, value) = match value.strip_prefix('~') {
        Some(pattern) => (Op::Matches, pattern),
        None => (Op::Equals, value),
    };
    Ok(Matcher { field: field.trim().to_owned(), op, value: value.to_owned() })
}

fn print_table(silences: &[Silence], now: DateTime<Utc>) {
    println!("ID  STATE  EXPIRES  AUTHOR  MATCHERS  REASON");
    for silence in silences {
        let matchers: Vec<String> = silence
            .matchers
            .iter()
            .map(|matcher| match matcher.op {
                Op::Equals => format!("{}={}", matcher.field, matcher.value),
                Op::Matches => format!("{}=~{}", matcher.field, matcher.value),
            })
            .collect();
        println!(
            "{}  {}  {}  {}  {}  {}",
            silence.id,
            if silence::active(silence, now) { "active" } else { "expired" },
            silence.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            silence.author,
            matchers.join(","),
            silence.reason
        );
    }
}

pub async fn run(config: &Config, command: &SilencesCommand) -> anyhow::Result<i32> {
    let outbox = Outbox::offline(super::open_store(config).await?);
    let now = Utc::now();
    match command {
        SilencesCommand::List { all, json } => {
            let silences = outbox.silences(*all, now).await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&silences)?);
            } else {
                print_table(&silences, now);
            }
            Ok(0)
        }
        SilencesCommand::Add { matchers, reason, author, duration, until } => {
            let request = NewSilence {
                matchers: matchers.iter().map(|text| matcher(text)).collect::<anyhow::Result<_>>()?,
                reason: reason.clone(),
                author: author.clone(),
                expires_at: until.clone(),
                duration: duration.clone(),
            };
            let silence = outbox.add_silence(request, now).await?;
            println!("{} silences matching alerts until {}", silence.id, silence.expires_at.to_rfc3339());
            Ok(0)
        }
        SilencesCommand::Expire { id } => {
            let silence = outbox.expire_silence(id, now).await?;
            println!("{} expired at {}", silence.id, silence.expires_at.to_rfc3339());
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_are_field_equals_value_or_field_tilde_regex() {
        assert_eq!(
            matcher("actor.ip=192.0.2.1").ok(),
            Some(Matcher { field: "actor.ip".into(), op: Op::Equals, value: "192.0.2.1".into() })
        );
        assert_eq!(
            matcher("kind=~canary\\..*").ok(),
            Some(Matcher { field: "kind".into(), op: Op::Matches, value: "canary\\..*".into() })
        );
        assert_eq!(matcher("title=a=b").ok().map(|matcher| matcher.value), Some("a=b".to_owned()));
        assert!(matcher("no-equals").is_err());
    }
}
