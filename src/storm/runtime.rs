//! The storm flusher: the one part of [`crate::storm`] with I/O. Every second
//! it asks the store for groups whose window closed, and has each flushed in
//! one transaction ([`crate::store::StormStore::flush_group`]), rendering its digest with the
//! destination's channel template (`slack_digest.json`, `teams_digest.json`,
//! `generic_digest.json`) and that channel's limits. Several relays on one
//! PostgreSQL run it side by side: a group is flushed by whoever locks it.
//! Also counts held alerts in the metrics.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::digest::summarize;
use crate::alert::{Actor, Alert, Severity, Target};
use crate::delivery::Delivery;
use crate::destination::Destination;
use crate::ingest::message_id;
use crate::metrics::{DestinationLabels, Metrics};
use crate::notify::by_kind;
use crate::notify::teams::config::TeamsFormat;
use crate::notify::Channel;
use crate::render::{DestinationView, Renderer};
use crate::store::storm::{Closing, Held};
use crate::store::{MessageStatus, NewMessage, StoreError};

/// How often due groups are looked for: a digest is at most this late.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Groups flushed per look.
const FLUSH_BATCH: u32 = 64;

/// How often expired fingerprints are forgotten.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// The built-in digest template of a destination: its channel's, and for
/// Teams the payload format its URL expects.
pub fn digest_template(channel: &Channel) -> &'static str {
    match channel {
        Channel::Slack(_) => "slack_digest.json",
        Channel::MsTeams(teams) if teams.format == TeamsFormat::MessageCard => "teams_message_card_digest.json",
        Channel::MsTeams(_) => "teams_digest.json",
        Channel::SplunkHec(_) | Channel::Generic(_) => "generic_digest.json",
    }
}

/// The labels of incident-id repeats (the store refused them as duplicates).
pub fn incident_labels() -> DestinationLabels {
    DestinationLabels { destination: String::new(), kind: "incident".to_owned() }
}

/// Counts the messages the storm rules held back at ingest.
pub fn count_held(metrics: &Metrics, held: &[Held]) {
    for one in held {
        let labels = Metrics::destination(&one.destination_id, one.kind);
        let family = match one.status {
            MessageStatus::Grouped => &metrics.grouped,
            MessageStatus::Suppressed => &metrics.suppressed,
            _ => &metrics.silenced,
        };
        family.get_or_create(&labels).inc();
    }
}

/// Flushes due groups every second until shutdown.
pub async fn run(service: Arc<Delivery>, mut shutdown: watch::Receiver<bool>) {
    let mut last_prune: Option<std::time::Instant> = None;
    while !*shutdown.borrow() {
        if let Err(error) = flush_due(&service, Utc::now()).await {
            tracing::warn!(%error, "Cannot flush due alert groups; retrying shortly.");
        }
        if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            last_prune = Some(std::time::Instant::now());
            if let Err(error) = service.store.prune_storms(Utc::now()).await {
                tracing::warn!(%error, "Cannot forget expired alert fingerprints.");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(FLUSH_EVERY) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Flushes the groups due at `now`; returns how many digests were created.
pub async fn flush_due(service: &Delivery, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let mut created = 0;
    loop {
        let due = service.store.due_groups(now, FLUSH_BATCH).await?;
        let mut progressed = false;
        for group in &due {
            let catalogue = service.catalogue();
            let destination = catalogue.destination(&group.destination_id).cloned();
            let renderer = Arc::clone(&service.renderer);
            let make = move |closing: &Closing| {
                destination.as_ref().map(|destination| digest_message(&renderer, destination, closing, now))
            };
            let Some(flushed) = service.store.flush_group(group, now, &make).await? else {
                continue;
            };
            progressed = true;
            let Some(message_id) = flushed.message_id else {
                continue;
            };
            created += 1;
            if let Some(destination) = catalogue.destination(&group.destination_id) {
                let labels = Metrics::destination(&destination.id, destination.channel.kind());
                service.metrics.digests.get_or_create(&labels).inc();
                service.metrics.enqueued.get_or_create(&labels).inc();
            }
            tracing::info!(destination = %group.destination_id, message = %message_id, alerts = flushed.carried, "Digest enqueued.");
            service.waker(&group.destination_id).notify_one();
        }
        if due.len() < FLUSH_BATCH as usize || !progressed {
            return Ok(created);
        }
    }
}

/// The digest message of a closing group for `destination`. A digest that
/// cannot be rendered is stored failed with the reason (seen, not lost).
pub fn digest_message(
    renderer: &Renderer,
    destination: &Destination,
    closing: &Closing,
    now: DateTime<Utc>,
) -> NewMessage {
    let kind = destination.channel.kind();
    let max_listed = destination.storm.grouping.as_ref().map_or(10, |grouping| grouping.max_listed) as usize;
    let window = (now - closing.window_start).to_std().unwrap_or_default();
    let body = match summarize(&closing.members, closing.announced, &closing.label, window, max_listed) {
        None => Err("the group collected nothing".to_owned()),
        Some(digest) => {
            let alert = stand_in(closing, &digest);
            let view =
                DestinationView { name: &destination.name, kind: kind.as_str(), flock: destination.scope.as_str() };
            renderer
                .prepare_digest(&alert, &digest)
                .and_then(|mut context| {
                    renderer.render_json(digest_template(&destination.channel), &mut context, &view)
                })
                .map_err(|error| error.to_string())
                .and_then(|rendered| {
                    by_kind(kind).shape(destination, &alert, rendered).map_err(|error| error.to_string())
                })
        }
    };
    if let Err(error) = &body {
        tracing::error!(destination = %destination.name, %error, "Cannot render a digest; its message is failed.");
    }
    NewMessage {
        id: message_id(),
        destination_id: destination.id.clone(),
        kind,
        body: body.as_ref().cloned().unwrap_or_default(),
        error: body.err(),
        storm: None,
    }
}

/// The alert a digest stands for in templates and channel envelopes: the
/// headline as title, the last alert's time.
fn stand_in(closing: &Closing, digest: &super::digest::Digest) -> Alert {
    let first = closing.members.first().map(|member| &member.facts);
    let fact = |name: &str| first.and_then(|facts| facts.get(name)).map(str::to_owned);
    Alert {
        id: closing.members.first().map(|member| member.alert_id.clone()).unwrap_or_default(),
        flock_id: closing.flock_id.clone(),
        kind: digest.kind.clone(),
        severity: Severity::High,
        title: fact("title").unwrap_or_else(|| digest.headline.clone()),
        description: digest.headline.clone(),
        timestamp: digest.last_seen,
        actor: Actor { ip: fact("actor.ip"), name: fact("actor.name") },
        target: Target { name: fact("target.name"), ip: fact("target.ip"), port: None, id: fact("target.id") },
        details: serde_json::Map::new(),
        raw: serde_json::Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;
    use crate::flock::Scope;
    use crate::notify::teams::config::TeamsSettings;
    use crate::storm::digest::Member;
    use crate::storm::Facts;

    fn teams(format: TeamsFormat) -> Destination {
        let url = "https://example.webhook.office.com/webhookb2/x".parse().expect("URL");
        Destination::new("soc_teams", Scope::Global, Channel::MsTeams(TeamsSettings { url, format }))
    }

    fn closing() -> Closing {
        let start = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).single().expect("time");
        let members = (0..3)
            .map(|index| {
                let alert = Alert::from_value(
                    serde_json::json!({"kind": "canary.incident", "title": "[click](https://evil.example) login",
                                       "source": {"ip": "192.0.2.66"}}),
                    start,
                )
                .expect("alert");
                Member {
                    alert_id: format!("api:a{index}"),
                    received_at: start + chrono::Duration::seconds(index),
                    facts: Facts::of(&alert),
                }
            })
            .collect();
        Closing {
            destination_id: "soc_teams".into(),
            label: "canary.incident".into(),
            flock_id: "flock:default".into(),
            window_start: start,
            announced: true,
            members,
        }
    }

    #[test]
    fn a_message_card_destination_gets_a_message_card_digest_with_alert_text_escaped() {
        let renderer = Renderer::built_in().expect("built-in templates");
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 10, 5, 0).single().expect("time");
        let card = digest_message(&renderer, &teams(TeamsFormat::MessageCard), &closing(), now);
        assert_eq!(card.error, None);
        let body: serde_json::Value = serde_json::from_str(&card.body).expect("JSON");
        assert_eq!(body["@type"], "MessageCard", "{body}");
        // Title, facts and text render markdown: the alert's link stays text there.
        // (`summary` is the plain-text preview, which Teams does not render.)
        let rendered = format!("{} {}", body["title"], body["sections"]);
        assert!(rendered.contains("192.0.2.66"), "{rendered}");
        assert!(!rendered.contains("[click](https://evil.example)"), "{rendered}");

        let adaptive = digest_message(&renderer, &teams(TeamsFormat::AdaptiveCard), &closing(), now);
        let body: serde_json::Value = serde_json::from_str(&adaptive.body).expect("JSON");
        assert_eq!(body["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive", "{body}");
    }
}
