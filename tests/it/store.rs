//! The store conformance suite: every test runs against SQLite and against
//! PostgreSQL (a fresh database each), through the `Store` trait only.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};
use flockrelay::destination::Destination;
use flockrelay::flock::{FlockSettings, Scope};
use flockrelay::ingest::inbound::{Scheme, Source};
use flockrelay::notify::generic::config::GenericSettings;
use flockrelay::notify::{Channel, ChannelKind};
use flockrelay::secret::Secret;
use flockrelay::store::{
    Attempt, Cursor, DestinationState, Finished, FlockRecord, IfExists, MessageFilter, MessageStatus, NewAlert,
    NewMessage, Next, Origin, Store, StoreError,
};

use crate::support::destination;

const LEASE: Duration = Duration::from_secs(60);

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + seconds, 0).single().expect("valid time")
}

fn hook(name: &str) -> Destination {
    let url = format!("https://hooks.example/{name}").parse().expect("valid URL");
    destination(
        name,
        Channel::Generic(GenericSettings {
            url,
            headers: Default::default(),
            auth: None,
            signing: None,
            permanent_statuses: Vec::new(),
        }),
    )
}

fn alert(id: &str, received: DateTime<Utc>, destinations: &[&str]) -> NewAlert {
    NewAlert {
        id: id.to_owned(),
        idempotency_key: None,
        flock_id: "flock:default".to_owned(),
        kind: "canary.incident".to_owned(),
        received_at: received,
        hops: 0,
        messages: destinations
            .iter()
            .map(|destination| NewMessage {
                id: format!("msg_{id}_{destination}"),
                destination_id: (*destination).to_owned(),
                kind: ChannelKind::Generic,
                body: format!("{{\"alert\":\"{id}\"}}"),
                error: None,
                storm: None,
            })
            .collect(),
    }
}

fn finished(message_id: &str, owner: &str, number: u32, started: DateTime<Utc>, next: Next) -> Finished {
    let (outcome, status) = match next {
        Next::Delivered => ("delivered", 200),
        Next::RetryAt(_) => ("retry", 503),
        Next::Failed => ("failed", 404),
        Next::Paused(_) => ("paused", 403),
    };
    Finished {
        message_id: message_id.to_owned(),
        owner: owner.to_owned(),
        attempt: Attempt {
            number,
            started_at: started,
            duration_ms: 12,
            http_status: Some(status),
            outcome: outcome.to_owned(),
            detail: format!("HTTP {status}"),
        },
        next,
    }
}

async fn status_of(store: &dyn Store, id: &str) -> MessageStatus {
    store.message(id).await.expect("reads").expect("exists").0.status
}

async fn claim_ids(store: &dyn Store, destination: &str, owner: &str, now: DateTime<Utc>) -> Vec<String> {
    store
        .claim(destination, owner, 100, LEASE, now)
        .await
        .expect("claims")
        .into_iter()
        .map(|message| message.id)
        .collect()
}

async fn a_message_goes_from_pending_to_delivered_with_its_attempts(store: Arc<dyn Store>) {
    let stored = store.enqueue(&[alert("a1", at(0), &["hook"])]).await.expect("enqueues");
    assert_eq!((stored[0].messages, stored[0].duplicate), (1, false));
    assert_eq!(status_of(&*store, "msg_a1_hook").await, MessageStatus::Pending);

    let claimed = store.claim("hook", "worker-1", 10, LEASE, at(1)).await.expect("claims");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].body, r#"{"alert":"a1"}"#);
    assert_eq!(claimed[0].status, MessageStatus::Delivering);
    assert!(claim_ids(&*store, "hook", "worker-2", at(2)).await.is_empty(), "a leased message is not claimed again");

    store.finish(&[finished("msg_a1_hook", "worker-1", 1, at(2), Next::Delivered)]).await.expect("finishes");
    let (message, attempts) = store.message("msg_a1_hook").await.expect("reads").expect("exists");
    assert_eq!(message.status, MessageStatus::Delivered);
    assert_eq!((message.attempts, message.tries), (1, 1));
    assert!(message.finished_at.is_some());
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        (attempts[0].number, attempts[0].http_status, attempts[0].outcome.as_str()),
        (1, Some(200), "delivered")
    );
    assert!(claim_ids(&*store, "hook", "worker-2", at(3)).await.is_empty());
}

async fn an_alert_seen_before_is_not_enqueued_twice(store: Arc<dyn Store>) {
    store.enqueue(&[alert("a1", at(0), &["hook", "other"])]).await.expect("enqueues");
    let again = store.enqueue(&[alert("a1", at(5), &["hook"])]).await.expect("enqueues");
    assert_eq!(again[0].alert_id, "a1");
    assert_eq!((again[0].messages, again[0].duplicate), (2, true));

    let mut keyed = alert("a2", at(0), &["hook"]);
    keyed.idempotency_key = Some("client-key-1".into());
    store.enqueue(&[keyed]).await.expect("enqueues");
    let mut same_key = alert("a3", at(1), &["hook"]);
    same_key.idempotency_key = Some("client-key-1".into());
    let again = store.enqueue(&[same_key]).await.expect("enqueues");
    assert_eq!((again[0].alert_id.as_str(), again[0].duplicate), ("a2", true));
    let all = store.messages(&MessageFilter { limit: 100, ..Default::default() }).await.expect("lists");
    assert_eq!(all.len(), 3, "no message was added for duplicates");
}

async fn a_batch_repeating_an_id_or_key_stores_each_alert_once(store: Arc<dyn Store>) {
    // Group commit puts concurrent requests in one batch, so a client's retry
    // can meet its first attempt there: the batch decides as if one by one.
    let keyed = |id: &str, key: &str| NewAlert { idempotency_key: Some(key.to_owned()), ..alert(id, at(0), &["hook"]) };
    let stored = store
        .enqueue(&[
            alert("a1", at(0), &["hook"]),
            alert("a1", at(1), &["hook"]),
            keyed("c", "A"),
            keyed("d", "A"),
            keyed("d", "B"),
        ])
        .await
        .expect("enqueues");
    let seen: Vec<(&str, bool)> =
        stored.iter().map(|enqueued| (enqueued.alert_id.as_str(), enqueued.duplicate)).collect();
    assert_eq!(seen, [("a1", false), ("a1", true), ("c", false), ("c", true), ("d", false)]);
    let all = store.messages(&MessageFilter { limit: 100, ..Default::default() }).await.expect("lists");
    assert_eq!(all.len(), 3, "one message per stored alert: {all:?}");
}

async fn hundreds_of_messages_are_stored_and_finished_in_one_call(store: Arc<dyn Store>) {
    let alerts: Vec<_> = (0..700).map(|index| alert(&format!("a{index}"), at(0), &["hook", "other"])).collect();
    let stored = store.enqueue(&alerts).await.expect("enqueues");
    assert_eq!(stored.len(), 700);
    assert!(stored.iter().zip(&alerts).all(|(enqueued, alert)| enqueued.alert_id == alert.id && !enqueued.duplicate));
    let claimed = store.claim("hook", "w", 1_000, LEASE, at(1)).await.expect("claims");
    assert_eq!(claimed.len(), 700);
    let results: Vec<_> = claimed
        .iter()
        .enumerate()
        .map(|(index, message)| {
            let next = if index % 2 == 0 { Next::Delivered } else { Next::RetryAt(at(10)) };
            finished(&message.id, "w", 1, at(2), next)
        })
        .collect();
    store.finish(&results).await.expect("finishes");
    let depths = store.queue_depths().await.expect("reads");
    let queued: Vec<_> = depths.iter().map(|depth| (depth.destination_id.as_str(), depth.queued)).collect();
    assert_eq!(queued, [("hook", 350), ("other", 700)]);
    let (message, attempts) = store.message(&claimed[699].id).await.expect("reads").expect("exists");
    assert_eq!((message.status, message.tries, attempts.len()), (MessageStatus::Pending, 1, 1));
    assert_eq!(message.last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(status_of(&*store, &claimed[698].id).await, MessageStatus::Delivered);
    assert_eq!(claim_ids(&*store, "hook", "w", at(10)).await.len(), 100, "the retries are due again (100 per claim)");
}

async fn enqueue_is_all_or_nothing(store: Arc<dyn Store>) {
    let first = alert("a1", at(0), &["hook"]);
    let mut second = alert("a2", at(0), &["hook"]);
    second.messages[0].id = first.messages[0].id.clone();
    assert!(store.enqueue(&[first, second]).await.is_err(), "a clashing message id fails the whole batch");
    let all = store.messages(&MessageFilter { limit: 100, ..Default::default() }).await.expect("lists");
    assert!(all.is_empty(), "nothing half-written: {all:?}");
    assert!(!store.enqueue(&[alert("a1", at(0), &["hook"])]).await.expect("enqueues")[0].duplicate);
}

async fn an_expired_lease_makes_the_message_due_again(store: Arc<dyn Store>) {
    store.enqueue(&[alert("a1", at(0), &["hook"])]).await.expect("enqueues");
    assert_eq!(claim_ids(&*store, "hook", "crashed", at(1)).await.len(), 1);
    assert!(claim_ids(&*store, "hook", "rescuer", at(30)).await.is_empty(), "lease still running");
    assert_eq!(claim_ids(&*store, "hook", "rescuer", at(62)).await, ["msg_a1_hook"]);
    // The crashed worker comes back late: its attempt is logged, the state stays the rescuer's.
    store.finish(&[finished("msg_a1_hook", "crashed", 1, at(63), Next::Failed)]).await.expect("finishes");
    assert_eq!(status_of(&*store, "msg_a1_hook").await, MessageStatus::Delivering);
    store.finish(&[finished("msg_a1_hook", "rescuer", 2, at(64), Next::Delivered)]).await.expect("finishes");
    let (message, attempts) = store.message("msg_a1_hook").await.expect("reads").expect("exists");
    assert_eq!(message.status, MessageStatus::Delivered);
    assert_eq!(attempts.len(), 2);
}

async fn a_retry_waits_for_its_time_and_release_hands_leases_back(store: Arc<dyn Store>) {
    store.enqueue(&[alert("a1", at(0), &["hook"]), alert("a2", at(0), &["hook"])]).await.expect("enqueues");
    let claimed = claim_ids(&*store, "hook", "w", at(1)).await;
    assert_eq!(claimed.len(), 2);
    store.finish(&[finished(&claimed[0], "w", 1, at(1), Next::RetryAt(at(10)))]).await.expect("finishes");
    assert_eq!(store.next_due("hook").await.expect("reads"), Some(at(10)));
    assert!(claim_ids(&*store, "hook", "w", at(9)).await.is_empty());
    assert_eq!(store.release("w").await.expect("releases"), 1, "only the one still leased");
    assert_eq!(claim_ids(&*store, "hook", "w2", at(9)).await, [claimed[1].clone()]);
    assert_eq!(claim_ids(&*store, "hook", "w2", at(10)).await, [claimed[0].clone()]);
    let message = store.message(&claimed[0]).await.expect("reads").expect("exists").0;
    assert_eq!(message.last_error.as_deref(), Some("HTTP 503"));
}

async fn a_pause_keeps_the_schedule_and_unsent_messages_are_handed_back(store: Arc<dyn Store>) {
    let alerts: Vec<_> = ["a1", "a2", "a3"].iter().map(|id| alert(id, at(0), &["hook"])).collect();
    store.enqueue(&alerts).await.expect("enqueues");
    let claimed = claim_ids(&*store, "hook", "w", at(1)).await;
    assert_eq!(claimed.len(), 3);
    // The first was sent and the destination refused as a whole; the others were never sent.
    store.finish(&[finished(&claimed[0], "w", 1, at(1), Next::Paused(at(31)))]).await.expect("finishes");
    let unsent = claimed[1..].to_vec();
    assert_eq!(store.hand_back("someone-else", &unsent, at(31)).await.expect("hands back"), 0, "fenced by owner");
    assert_eq!(store.hand_back("w", &unsent, at(31)).await.expect("hands back"), 2);
    let (paused, attempts) = store.message(&claimed[0]).await.expect("reads").expect("exists");
    assert_eq!((paused.status, paused.attempts, paused.tries), (MessageStatus::Pending, 1, 0), "not a try");
    assert_eq!(paused.last_error.as_deref(), Some("HTTP 403"));
    assert_eq!(attempts[0].outcome, "paused");
    let (unsent_message, unsent_attempts) = store.message(&claimed[1]).await.expect("reads").expect("exists");
    assert_eq!((unsent_message.status, unsent_message.attempts, unsent_message.tries), (MessageStatus::Pending, 0, 0));
    assert!(unsent_attempts.is_empty());
    assert!(claim_ids(&*store, "hook", "w", at(30)).await.is_empty(), "all wait for the pause to end");
    assert_eq!(store.next_due("hook").await.expect("reads"), Some(at(31)));
    assert_eq!(claim_ids(&*store, "hook", "w", at(31)).await.len(), 3);
}

async fn replay_requeues_the_same_message_with_a_fresh_schedule(store: Arc<dyn Store>) {
    store.enqueue(&[alert("a1", at(0), &["hook"])]).await.expect("enqueues");
    claim_ids(&*store, "hook", "w", at(1)).await;
    store.finish(&[finished("msg_a1_hook", "w", 1, at(1), Next::Failed)]).await.expect("finishes");
    let replayed = store.replay("msg_a1_hook", at(100)).await.expect("replays");
    assert_eq!((replayed.status, replayed.tries, replayed.attempts), (MessageStatus::Pending, 0, 1));
    assert!(matches!(store.replay("msg_a1_hook", at(100)).await, Err(StoreError::NotReplayable { .. })));
    assert!(matches!(store.replay("msg_nope", at(100)).await, Err(StoreError::MessageNotFound(_))));
    assert_eq!(claim_ids(&*store, "hook", "w", at(100)).await, ["msg_a1_hook"], "same id, so the same webhook-id");
}

async fn recover_requeues_failed_messages_in_the_window_only(store: Arc<dyn Store>) {
    for (id, second) in [("early", 0), ("inside1", 100), ("inside2", 150), ("late", 300)] {
        store.enqueue(&[alert(id, at(second), &["hook"])]).await.expect("enqueues");
    }
    store.enqueue(&[alert("other", at(120), &["elsewhere"])]).await.expect("enqueues");
    for destination in ["hook", "elsewhere"] {
        let claimed = claim_ids(&*store, destination, "w", at(400)).await;
        let results: Vec<_> = claimed.iter().map(|id| finished(id, "w", 1, at(400), Next::Failed)).collect();
        store.finish(&results).await.expect("finishes");
    }
    assert_eq!(store.recover("hook", at(100), at(200), at(500)).await.expect("recovers"), 2);
    let pending = store
        .messages(&MessageFilter { status: Some(MessageStatus::Pending), limit: 100, ..Default::default() })
        .await
        .expect("lists");
    let ids: HashSet<_> = pending.iter().map(|message| message.alert_id.as_str()).collect();
    assert_eq!(ids, HashSet::from(["inside1", "inside2"]));
}

async fn deleting_a_destination_cancels_its_queue(store: Arc<dyn Store>) {
    store.put_destination(&hook("hook"), Origin::Api).await.expect("stores");
    store.put_destination(&hook("keep"), Origin::Api).await.expect("stores");
    store.enqueue(&[alert("a1", at(0), &["hook", "keep"]), alert("a2", at(0), &["hook"])]).await.expect("enqueues");
    assert_eq!(store.delete_destination("hook").await.expect("deletes"), 2);
    assert_eq!(status_of(&*store, "msg_a1_hook").await, MessageStatus::Cancelled);
    assert_eq!(status_of(&*store, "msg_a1_keep").await, MessageStatus::Pending);
    assert!(matches!(store.delete_destination("hook").await, Err(StoreError::DestinationNotFound(_))));
    let names: Vec<_> = store.destinations().await.expect("lists").into_iter().map(|d| d.name).collect();
    assert_eq!(names, ["keep"]);
}

async fn config_is_applied_and_what_left_the_file_is_removed(store: Arc<dyn Store>) {
    let flock = FlockRecord {
        id: "flock:dc".into(),
        name: "Datacenter".into(),
        settings: FlockSettings { use_global: false, enabled: true },
        origin: Origin::Config,
    };
    let mut in_flock = hook("dc_hook");
    in_flock.scope = Scope::Flock("flock:dc".into());
    store.apply_config(std::slice::from_ref(&flock), &[hook("old"), in_flock.clone()]).await.expect("applies");
    store.put_destination(&hook("from_api"), Origin::Api).await.expect("stores");
    store.enqueue(&[alert("a1", at(0), &["old"])]).await.expect("enqueues");

    let mut changed = in_flock.clone();
    changed.enabled = false;
    store.apply_config(std::slice::from_ref(&flock), std::slice::from_ref(&changed)).await.expect("applies again");
    let destinations = store.destinations().await.expect("lists");
    let names: Vec<_> = destinations.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["dc_hook", "from_api"], "API destinations stay, removed config ones go");
    assert_eq!(destinations[0], changed, "a destination round-trips through the store exactly");
    assert_eq!(status_of(&*store, "msg_a1_old").await, MessageStatus::Cancelled);
    assert_eq!(store.flocks().await.expect("lists"), [flock]);

    assert!(
        matches!(store.delete_flock("flock:dc").await, Err(StoreError::FlockDeclaredInConfig(id)) if id == "flock:dc"),
        "the store deletes only API-owned flocks, checked by the delete itself"
    );
    assert_eq!(store.flocks().await.expect("lists").len(), 1, "the config's flock stays");
    // A change through the API makes the flock the API's; then it can go.
    store.set_flock_settings("flock:dc", FlockSettings { use_global: false, enabled: false }).await.expect("sets");
    store.delete_flock("flock:dc").await.expect("deletes");
    let names: Vec<_> = store.destinations().await.expect("lists").into_iter().map(|d| d.name).collect();
    assert_eq!(names, ["from_api"], "a flock's destinations go with it");
    assert!(matches!(store.delete_flock("flock:dc").await, Err(StoreError::FlockNotFound(_))));
}

/// The enabled flag the store applies, and the state it shows.
async fn state_of(store: &dyn Store, id: &str) -> (bool, DestinationState, Option<String>) {
    let enabled = store.destinations().await.expect("lists").into_iter().find(|d| d.id == id).expect("stored").enabled;
    let states = store.destination_states().await.expect("lists");
    let record = states.into_iter().find(|record| record.destination_id == id).expect("has a state");
    let (state, reason, _) = record.effective();
    (enabled, state, reason.map(str::to_owned))
}

async fn a_channel_verdict_survives_the_config_file_until_an_operator_lifts_it(store: Arc<dyn Store>) {
    let file = [hook("gone"), hook("kept")];
    store.apply_config(&[], &file).await.expect("applies");
    store
        .set_destination_state("gone", DestinationState::DisabledByChannel, Some("HTTP 410: gone"), at(5))
        .await
        .expect("the channel disables it");
    let disabled = (false, DestinationState::DisabledByChannel, Some("HTTP 410: gone".to_owned()));
    assert_eq!(state_of(&*store, "gone").await, disabled);
    store.apply_config(&[], &file).await.expect("the same file at the next start");
    assert_eq!(state_of(&*store, "gone").await, disabled, "the file's enabled = true does not undo the verdict");
    let changed_at = store.destination_states().await.expect("lists")[0].changed_at;
    assert_eq!(changed_at, Some(at(5)));

    store.set_destination_state("gone", DestinationState::Enabled, None, at(6)).await.expect("an operator enables");
    assert_eq!(state_of(&*store, "gone").await, (true, DestinationState::Enabled, None));

    // The operator's own verdict holds as well; a switched-off setting shows as the operator's.
    store
        .set_destination_state("kept", DestinationState::DisabledByOperator, Some("maintenance"), at(7))
        .await
        .expect("an operator disables");
    let mut off = hook("gone");
    off.enabled = false;
    store.apply_config(&[], &[off, hook("kept")]).await.expect("applies");
    assert_eq!(
        state_of(&*store, "kept").await,
        (false, DestinationState::DisabledByOperator, Some("maintenance".to_owned()))
    );
    assert_eq!(
        state_of(&*store, "gone").await,
        (false, DestinationState::DisabledByOperator, Some("enabled = false in its settings".to_owned()))
    );

    // A verdict on channel settings the file then changed (another URL) no longer applies.
    store.set_destination_state("gone", DestinationState::DisabledByChannel, Some("410"), at(8)).await.expect("sets");
    let mut moved = hook("gone");
    moved.channel = hook("elsewhere").channel;
    store.apply_config(&[], &[moved, hook("kept")]).await.expect("applies");
    assert_eq!(state_of(&*store, "gone").await, (true, DestinationState::Enabled, None));
    assert!(matches!(
        store.set_destination_state("nope", DestinationState::Enabled, None, at(9)).await,
        Err(StoreError::DestinationNotFound(_))
    ));
}

async fn a_lease_too_long_for_any_clock_lasts_for_good(store: Arc<dyn Store>) {
    store.enqueue(&[alert("a1", at(0), &["hook"])]).await.expect("enqueues");
    let claimed = store.claim("hook", "worker", 10, Duration::MAX, at(0)).await.expect("claims, never panics");
    assert_eq!(claimed.len(), 1);
    assert!(claim_ids(&*store, "hook", "other", at(100_000_000)).await.is_empty(), "the lease has not run out");
}

fn config_flock(id: &str, use_global: bool) -> FlockRecord {
    FlockRecord {
        id: id.into(),
        name: format!("Flock {id}"),
        settings: FlockSettings { use_global, enabled: true },
        origin: Origin::Config,
    }
}

async fn api_changes_to_a_flock_survive_the_config_file(store: Arc<dyn Store>) {
    let file = [config_flock("global", false), config_flock("flock:dc", false), config_flock("flock:lab", false)];
    store.apply_config(&file, &[]).await.expect("applies");
    let off = FlockSettings { use_global: false, enabled: false };
    store.set_flock_settings("flock:dc", off).await.expect("changes settings");
    store.rename_flock("global", "Everything").await.expect("renames");

    store.apply_config(&file, &[]).await.expect("applies again at the next start");
    let flocks = store.flocks().await.expect("lists");
    let dc = flocks.iter().find(|flock| flock.id == "flock:dc").expect("dc stays");
    assert_eq!((dc.settings, dc.origin, dc.name.as_str()), (off, Origin::Api, "Flock flock:dc"));
    let global = flocks.iter().find(|flock| flock.id == "global").expect("global stays");
    assert_eq!((global.name.as_str(), global.origin), ("Everything", Origin::Api));
    let lab = flocks.iter().find(|flock| flock.id == "flock:lab").expect("lab stays");
    assert_eq!(lab, &file[2], "a flock the API never touched still follows the file");

    assert!(
        matches!(store.set_flock_settings("flock:nope", off).await, Err(StoreError::FlockNotFound(id)) if id == "flock:nope")
    );
    assert!(matches!(store.rename_flock("flock:nope", "x").await, Err(StoreError::FlockNotFound(_))));
}

async fn adding_a_destination_needs_its_flock_and_refuses_duplicates(store: Arc<dyn Store>) {
    let mut declared = hook("declared");
    declared.scope = Scope::Flock("flock:dc".into());
    store.apply_config(&[config_flock("flock:dc", false)], std::slice::from_ref(&declared)).await.expect("applies");
    let mut added = hook("generic:1");
    added.scope = Scope::Flock("flock:dc".into());

    let mut orphan = added.clone();
    orphan.scope = Scope::Flock("flock:nope".into());
    assert!(matches!(
        store.add_destination(&orphan, Origin::Api, IfExists::Fail).await,
        Err(StoreError::FlockNotFound(id)) if id == "flock:nope"
    ));
    store.add_destination(&added, Origin::Api, IfExists::Fail).await.expect("adds");
    assert!(matches!(
        store.add_destination(&added, Origin::Api, IfExists::Fail).await,
        Err(StoreError::DuplicateDestination(id)) if id == "generic:1"
    ));
    let mut same_name = added.clone();
    same_name.id = "generic:2".into();
    assert!(matches!(
        store.add_destination(&same_name, Origin::Api, IfExists::Fail).await,
        Err(StoreError::DuplicateDestination(_))
    ));
    assert!(
        matches!(
            store.add_destination(&same_name, Origin::Api, IfExists::Replace).await,
            Err(StoreError::DuplicateDestination(_))
        ),
        "replacing never takes another destination's name"
    );

    let mut replaced = added.clone();
    replaced.enabled = false;
    store.add_destination(&replaced, Origin::Api, IfExists::Replace).await.expect("replaces");
    let stored = store.destinations().await.expect("lists");
    assert_eq!(stored.iter().find(|d| d.id == "generic:1"), Some(&replaced));
    assert!(matches!(
        store.add_destination(&declared, Origin::Api, IfExists::Replace).await,
        Err(StoreError::DeclaredInConfig(id)) if id == "declared"
    ));
    assert_eq!(store.destinations().await.expect("lists").len(), 2);
}

async fn deleting_api_destinations_is_all_or_nothing(store: Arc<dyn Store>) {
    store.apply_config(&[config_flock("global", false)], &[hook("declared")]).await.expect("applies");
    for id in ["api1", "api2"] {
        store.add_destination(&hook(id), Origin::Api, IfExists::Fail).await.expect("adds");
    }
    store.enqueue(&[alert("a1", at(0), &["api1"])]).await.expect("enqueues");

    let refused = store.delete_api_destinations(&["api1".into(), "declared".into()]).await;
    assert!(matches!(refused, Err(StoreError::DeclaredInConfig(id)) if id == "declared"));
    let unknown = store.delete_api_destinations(&["api1".into(), "missing".into()]).await;
    assert!(matches!(unknown, Err(StoreError::DestinationNotFound(id)) if id == "missing"));
    assert_eq!(store.destinations().await.expect("lists").len(), 3, "nothing was deleted");
    assert_eq!(status_of(&*store, "msg_a1_api1").await, MessageStatus::Pending);

    let cancelled = store.delete_api_destinations(&["api1".into(), "api2".into()]).await.expect("deletes");
    assert_eq!(cancelled, 1);
    assert_eq!(status_of(&*store, "msg_a1_api1").await, MessageStatus::Cancelled);
    let names: Vec<_> = store.destinations().await.expect("lists").into_iter().map(|d| d.name).collect();
    assert_eq!(names, ["declared"]);
}

async fn listing_filters_and_queue_depths(store: Arc<dyn Store>) {
    store.enqueue(&[alert("a1", at(0), &["hook", "other"]), alert("a2", at(10), &["hook"])]).await.expect("enqueues");
    let by = |filter: MessageFilter| {
        let store = Arc::clone(&store);
        async move { store.messages(&MessageFilter { limit: 100, ..filter }).await.expect("lists") }
    };
    assert_eq!(by(MessageFilter { destination_id: Some("hook".into()), ..Default::default() }).await.len(), 2);
    assert_eq!(by(MessageFilter { alert_id: Some("a1".into()), ..Default::default() }).await.len(), 2);
    assert_eq!(by(MessageFilter { since: Some(at(5)), ..Default::default() }).await.len(), 1);
    assert_eq!(by(MessageFilter { until: Some(at(5)), ..Default::default() }).await.len(), 2);
    assert_eq!(by(MessageFilter { flock_id: Some("flock:nope".into()), ..Default::default() }).await.len(), 0);
    let newest_first = by(MessageFilter::default()).await;
    assert_eq!(newest_first[0].alert_id, "a2");
    assert_eq!(store.messages(&MessageFilter { limit: 1, ..Default::default() }).await.expect("lists").len(), 1);

    let depths = store.queue_depths().await.expect("reads");
    assert_eq!(depths.len(), 2);
    assert_eq!(
        (depths[0].destination_id.as_str(), depths[0].queued, depths[0].oldest_created_at),
        ("hook", 2, Some(at(0)))
    );
}

/// Every page starts where the previous one stopped (keyset), so paging
/// through a destination's messages shows each exactly once, newest first,
/// ties in creation time ordered by id; and the failed messages a recover
/// would queue again are counted without changing them.
async fn keyset_pages_reach_every_message_once_and_failed_ones_are_counted(store: Arc<dyn Store>) {
    let times = [0, 0, 0, 5, 5, 10, 10];
    let alerts: Vec<NewAlert> =
        times.iter().enumerate().map(|(n, time)| alert(&format!("a{n}"), at(*time), &["hook", "other"])).collect();
    store.enqueue(&alerts).await.expect("enqueues");
    let page_through = |status: Option<MessageStatus>, limit: u32| {
        let store = Arc::clone(&store);
        async move {
            let mut seen = Vec::new();
            let mut before = None;
            loop {
                let filter = MessageFilter {
                    destination_id: Some("hook".into()),
                    status,
                    before: before.clone(),
                    limit,
                    ..Default::default()
                };
                let page = store.messages(&filter).await.expect("lists");
                assert!(page.len() <= limit as usize);
                let Some(last) = page.last() else { break };
                before = Some(Cursor::after(last));
                seen.extend(page.into_iter().map(|message| (message.created_at, message.id)));
                assert!(seen.len() <= times.len(), "the pages end");
            }
            seen
        }
    };
    let seen = page_through(None, 3).await;
    let mut expected = seen.clone();
    expected.sort();
    expected.reverse();
    assert_eq!(seen, expected, "newest first, ties by id, none twice");
    assert_eq!(seen.len(), times.len());

    let claimed = claim_ids(&*store, "hook", "w", at(20)).await;
    let failed: Vec<Finished> = claimed.iter().take(3).map(|id| finished(id, "w", 1, at(20), Next::Failed)).collect();
    store.finish(&failed).await.expect("finishes");
    assert_eq!(page_through(Some(MessageStatus::Failed), 2).await.len(), 3);
    assert_eq!(store.count_failed("hook", at(0), at(1)).await.expect("counts"), 3, "the oldest three failed");
    assert_eq!(store.count_failed("hook", at(1), at(11)).await.expect("counts"), 0);
    assert_eq!(store.count_failed("other", at(0), at(11)).await.expect("counts"), 0);
    assert_eq!(page_through(Some(MessageStatus::Failed), 2).await.len(), 3, "counting changed nothing");
}

async fn prune_removes_old_delivered_messages_only(store: Arc<dyn Store>) {
    store.enqueue(&[alert("a1", at(0), &["hook"]), alert("a2", at(0), &["hook"])]).await.expect("enqueues");
    let claimed = claim_ids(&*store, "hook", "w", at(1)).await;
    store
        .finish(&[
            finished(&claimed[0], "w", 1, at(1), Next::Delivered),
            finished(&claimed[1], "w", 1, at(1), Next::Failed),
        ])
        .await
        .expect("finishes");
    assert_eq!(store.prune(at(0)).await.expect("prunes"), 0, "nothing finished before then");
    assert_eq!(store.prune(at(10)).await.expect("prunes"), 1);
    assert!(store.message(&claimed[0]).await.expect("reads").is_none());
    assert_eq!(status_of(&*store, &claimed[1]).await, MessageStatus::Failed, "failed messages are kept");
}

async fn prune_removes_cancelled_messages_and_never_queued_ones(store: Arc<dyn Store>) {
    store.put_destination(&hook("gone"), Origin::Api).await.expect("stores");
    store.put_destination(&hook("hook"), Origin::Api).await.expect("stores");
    store.enqueue(&[alert("a1", at(0), &["gone", "hook"])]).await.expect("enqueues");
    assert_eq!(store.delete_destination("gone").await.expect("deletes"), 1);
    let later = Utc::now() + chrono::Duration::minutes(1);
    assert_eq!(store.prune(later).await.expect("prunes"), 1, "the cancelled message only");
    assert!(store.message("msg_a1_gone").await.expect("reads").is_none());
    assert_eq!(status_of(&*store, "msg_a1_hook").await, MessageStatus::Pending, "queued messages stay");
}

async fn concurrent_claims_never_hand_out_a_message_twice(store: Arc<dyn Store>) {
    let alerts: Vec<_> = (0..200).map(|index| alert(&format!("a{index}"), at(0), &["hook"])).collect();
    store.enqueue(&alerts).await.expect("enqueues");
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..4 {
        let store = Arc::clone(&store);
        workers.spawn(async move {
            let owner = format!("worker-{worker}");
            let mut mine = Vec::new();
            loop {
                let claimed = store.claim("hook", &owner, 7, LEASE, at(1)).await.expect("claims");
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|message| message.id));
            }
        });
    }
    let mut seen = HashSet::new();
    while let Some(joined) = workers.join_next().await {
        for id in joined.expect("worker finished") {
            assert!(seen.insert(id.clone()), "{id} was claimed twice");
        }
    }
    assert_eq!(seen.len(), 200);
}

/// Catalogue writes that read before they write (adding a destination checks
/// its flock first) go on while alerts are enqueued, claimed and finished
/// without pause: on SQLite those hot writes run on a second connection (the
/// writer thread), and a transaction that read first must wait its turn, not
/// fail on a snapshot the other writer moved on from.
async fn catalogue_writes_go_on_while_the_queue_is_busy(store: Arc<dyn Store>) {
    store.apply_config(&[config_flock("global", false)], &[]).await.expect("applies");
    let mut hot = tokio::task::JoinSet::new();
    for worker in 0..4 {
        let store = Arc::clone(&store);
        hot.spawn(async move {
            for round in 0..60 {
                let alerts: Vec<_> =
                    (0..3).map(|index| alert(&format!("w{worker}r{round}i{index}"), at(0), &["hook"])).collect();
                store.enqueue(&alerts).await.expect("enqueues");
                let owner = format!("worker-{worker}");
                let claimed = store.claim("hook", &owner, 3, LEASE, at(1)).await.expect("claims");
                let results: Vec<_> =
                    claimed.iter().map(|message| finished(&message.id, &owner, 1, at(1), Next::Delivered)).collect();
                store.finish(&results).await.expect("finishes");
            }
        });
    }
    for index in 0..60 {
        let added = hook(&format!("added-{index}"));
        store.add_destination(&added, Origin::Api, IfExists::Fail).await.expect("adds while the queue is busy");
    }
    while let Some(joined) = hot.join_next().await {
        joined.expect("the hot writes all succeeded");
    }
    assert_eq!(store.destinations().await.expect("lists").len(), 60);
}

fn source(id: &str, scheme: Scheme) -> Source {
    Source { id: id.to_owned(), flock: "flock:default".to_owned(), enabled: true, scheme, template: None }
}

async fn source_ids(store: &dyn Store) -> Vec<(String, Origin)> {
    store.sources().await.expect("lists").into_iter().map(|record| (record.source.id, record.origin)).collect()
}

async fn sources_are_stored_with_their_secrets_and_deleted(store: Arc<dyn Store>) {
    let flowcode = source(
        "flowcode",
        Scheme::StandardWebhooks { secrets: vec![Secret::new("whsec_old0"), Secret::new("whsec_new1")] },
    );
    let flowingly = Source {
        template: Some("flowingly_step".into()),
        enabled: false,
        ..source(
            "flowingly",
            Scheme::ClientSecret { secret: Secret::new("shh"), field: None, header: Some("X-Secret".into()) },
        )
    };
    store.put_source(&flowcode, Origin::Api).await.expect("stores");
    store.put_source(&flowingly, Origin::Config).await.expect("stores");
    let record = store.source("flowcode").await.expect("reads").expect("exists");
    assert_eq!((record.source, record.origin), (flowcode.clone(), Origin::Api), "secrets survive the round trip");
    assert_eq!(store.source("flowingly").await.expect("reads").expect("exists").source, flowingly);
    assert!(store.source("nope").await.expect("reads").is_none());
    assert_eq!(
        source_ids(&*store).await,
        vec![("flowcode".to_owned(), Origin::Api), ("flowingly".to_owned(), Origin::Config)]
    );

    let rotated = source("flowcode", Scheme::StandardWebhooks { secrets: vec![Secret::new("whsec_new1")] });
    store.put_source(&rotated, Origin::Api).await.expect("replaces");
    assert_eq!(store.source("flowcode").await.expect("reads").expect("exists").source, rotated);

    assert!(
        matches!(store.delete_source("flowingly").await, Err(StoreError::SourceDeclaredInConfig(id)) if id == "flowingly"),
        "the store deletes only API-owned sources"
    );
    assert!(store.source("flowingly").await.expect("reads").is_some(), "the config's source stays");
    assert!(
        matches!(store.add_source(&rotated, Origin::Api).await, Err(StoreError::SourceExists(id)) if id == "flowcode"),
        "adding an existing id is refused by the insert itself"
    );
    assert_eq!(store.source("flowcode").await.expect("reads").expect("exists").source, rotated, "and changes nothing");
    store.delete_source("flowcode").await.expect("deletes");
    store.add_source(&flowcode, Origin::Api).await.expect("adds a new id");
    assert_eq!(store.source("flowcode").await.expect("reads").expect("exists").source, flowcode);
    store.delete_source("flowcode").await.expect("deletes");
    assert!(store.source("flowcode").await.expect("reads").is_none());
    assert!(matches!(store.delete_source("flowcode").await, Err(StoreError::SourceNotFound(id)) if id == "flowcode"));
}

async fn config_sources_are_applied_and_what_left_the_file_is_removed(store: Arc<dyn Store>) {
    let bearer = |token: &str| Scheme::Bearer { token: Secret::new(token) };
    store.put_source(&source("from_api", bearer("api")), Origin::Api).await.expect("stores");
    store.put_source(&source("taken_over", bearer("api")), Origin::Api).await.expect("stores");
    store.apply_config_sources(&[source("old", bearer("a")), source("kept", bearer("b"))]).await.expect("applies");
    let changed = source("kept", bearer("c"));
    store.apply_config_sources(&[changed.clone(), source("taken_over", bearer("file"))]).await.expect("applies again");
    assert_eq!(
        source_ids(&*store).await,
        vec![
            ("from_api".to_owned(), Origin::Api),
            ("kept".to_owned(), Origin::Config),
            ("taken_over".to_owned(), Origin::Config),
        ],
        "old left the file; API sources stay; the file wins a shared id"
    );
    assert_eq!(store.source("kept").await.expect("reads").expect("exists").source, changed);
}

/// Generates one test per backend for each conformance function.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, _dir) = crate::support::stores::sqlite().await;
                    super::$name(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(store) = crate::support::stores::postgres(concat!("store::postgres::", stringify!($name))).await else {
                        return;
                    };
                    super::$name(store).await;
                }
            )*
        }
    };
}

conformance!(
    a_message_goes_from_pending_to_delivered_with_its_attempts,
    an_alert_seen_before_is_not_enqueued_twice,
    enqueue_is_all_or_nothing,
    a_batch_repeating_an_id_or_key_stores_each_alert_once,
    hundreds_of_messages_are_stored_and_finished_in_one_call,
    an_expired_lease_makes_the_message_due_again,
    a_retry_waits_for_its_time_and_release_hands_leases_back,
    a_pause_keeps_the_schedule_and_unsent_messages_are_handed_back,
    replay_requeues_the_same_message_with_a_fresh_schedule,
    recover_requeues_failed_messages_in_the_window_only,
    deleting_a_destination_cancels_its_queue,
    config_is_applied_and_what_left_the_file_is_removed,
    listing_filters_and_queue_depths,
    keyset_pages_reach_every_message_once_and_failed_ones_are_counted,
    prune_removes_old_delivered_messages_only,
    prune_removes_cancelled_messages_and_never_queued_ones,
    concurrent_claims_never_hand_out_a_message_twice,
    api_changes_to_a_flock_survive_the_config_file,
    adding_a_destination_needs_its_flock_and_refuses_duplicates,
    deleting_api_destinations_is_all_or_nothing,
    sources_are_stored_with_their_secrets_and_deleted,
    config_sources_are_applied_and_what_left_the_file_is_removed,
    a_channel_verdict_survives_the_config_file_until_an_operator_lifts_it,
    a_lease_too_long_for_any_clock_lasts_for_good,
    catalogue_writes_go_on_while_the_queue_is_busy,
);

/// A database written by the previous schema (version 3, where a message being
/// delivered kept its lease end in `next_attempt_at`) opens with every message
/// in the state it was in: the one in flight stays leased until its lease ends.
async fn upgrading_keeps_leases_running(url: &str, version: i64) {
    use sqlx::Connection as _;
    let mut old = crate::support::schema::write_version(url, version).await;
    let millis = |time: DateTime<Utc>| time.timestamp_millis();
    for (id, status, next, lease_owner) in
        [("in_flight", "delivering", millis(at(61)), Some("old-worker")), ("queued", "pending", millis(at(0)), None)]
    {
        sqlx::query(
            "INSERT INTO messages (id, alert_id, destination_id, flock_id, kind, status, body, created_at, \
             next_attempt_at, lease_owner) VALUES ($1, 'a1', 'hook', 'flock:default', 'generic', $2, '{}', $3, $4, $5)",
        )
        .bind(id)
        .bind(status)
        .bind(millis(at(0)))
        .bind(next)
        .bind(lease_owner)
        .execute(&mut old)
        .await
        .expect("stores an old message");
    }
    old.close().await.expect("closes");

    let key = flockrelay::store::key::SecretKey::generate();
    let store = flockrelay::store::open(url, &key).await.expect("opens and upgrades");
    assert_eq!(claim_ids(&*store, "hook", "new-worker", at(30)).await, ["queued"], "the lease still runs");
    assert_eq!(claim_ids(&*store, "hook", "new-worker", at(62)).await, ["in_flight"], "and then ends");
    assert_eq!(store.queue_depths().await.expect("reads")[0].queued, 2);
}

#[tokio::test]
async fn sqlite_upgrade_keeps_leases_running() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("relay.db").display());
    upgrading_keeps_leases_running(&url, 3).await;
}

/// A database of version 4 (before the keyset indexes) opens with its
/// messages, and the message list pages through them by keyset.
async fn upgrading_to_keyset_indexes_keeps_the_message_list(url: &str, version: i64) {
    use sqlx::Connection as _;
    let mut old = crate::support::schema::write_version(url, version).await;
    for (id, status, created) in
        [("m1", "failed", 0), ("m2", "delivered", 1), ("m3", "failed", 1), ("m4", "pending", 2)]
    {
        sqlx::query(
            "INSERT INTO messages (id, alert_id, destination_id, flock_id, kind, status, body, created_at, \
             next_attempt_at) VALUES ($1, 'a1', 'hook', 'flock:default', 'generic', $2, '{}', $3, $4)",
        )
        .bind(id)
        .bind(status)
        .bind(at(created).timestamp_millis())
        .bind(at(created).timestamp_millis())
        .execute(&mut old)
        .await
        .expect("stores an old message");
    }
    old.close().await.expect("closes");

    let store =
        flockrelay::store::open(url, &flockrelay::store::key::SecretKey::generate()).await.expect("opens and upgrades");
    let first = MessageFilter { destination_id: Some("hook".into()), limit: 2, ..Default::default() };
    let page = store.messages(&first).await.expect("lists");
    assert_eq!(page.iter().map(|message| message.id.as_str()).collect::<Vec<_>>(), ["m4", "m3"]);
    let next = MessageFilter { before: page.last().map(Cursor::after), ..first };
    let page = store.messages(&next).await.expect("lists");
    assert_eq!(page.iter().map(|message| message.id.as_str()).collect::<Vec<_>>(), ["m2", "m1"]);
    let failed = MessageFilter { status: Some(MessageStatus::Failed), limit: 10, ..Default::default() };
    assert_eq!(store.messages(&failed).await.expect("lists").len(), 2);
    assert_eq!(store.count_failed("hook", at(0), at(2)).await.expect("counts"), 2);
}

#[tokio::test]
async fn sqlite_upgrade_keeps_the_message_list() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("relay.db").display());
    upgrading_to_keyset_indexes_keeps_the_message_list(&url, 4).await;
}

#[tokio::test]
async fn postgres_upgrade_keeps_the_message_list() {
    let Some(url) = crate::support::stores::postgres_url("store::postgres_upgrade_keeps_the_message_list").await else {
        return;
    };
    upgrading_to_keyset_indexes_keeps_the_message_list(&url, 4).await;
}

#[tokio::test]
async fn postgres_upgrade_keeps_leases_running() {
    let Some(url) = crate::support::stores::postgres_url("store::postgres_upgrade_keeps_leases_running").await else {
        return;
    };
    upgrading_keeps_leases_running(&url, 3).await;
}

/// A database of schema version 4, where a 410 switched the stored settings'
/// `enabled` off, opens with that destination disabled by its channel (until an
/// operator re-enables it) and the others untouched.
async fn upgrading_keeps_disabled_destinations_disabled(url: &str, version: i64) {
    use sqlx::Connection as _;
    let mut old = crate::support::schema::write_version(url, version).await;
    for (name, enabled) in [("gone", false), ("kept", true)] {
        let mut destination = hook(name);
        destination.enabled = enabled;
        sqlx::query(
            "INSERT INTO destinations (id, name, scope, kind, spec, enabled, origin, updated_at) \
             VALUES ($1, $1, 'global', 'generic', $2, $3, 'api', $4)",
        )
        .bind(name)
        .bind(serde_json::to_string(&destination).expect("serializes"))
        .bind(i64::from(enabled))
        .bind(at(3).timestamp_millis())
        .execute(&mut old)
        .await
        .expect("stores an old destination");
    }
    old.close().await.expect("closes");

    let store =
        flockrelay::store::open(url, &flockrelay::store::key::SecretKey::generate()).await.expect("opens and upgrades");
    let (enabled, state, reason) = state_of(&*store, "gone").await;
    assert_eq!((enabled, state), (false, DestinationState::DisabledByChannel));
    assert!(reason.is_some_and(|reason| reason.contains("410 Gone")));
    let states = store.destination_states().await.expect("lists");
    assert!(states[0].switched_on, "the settings' switch is on again: the verdict is the state's");
    assert_eq!(states[0].changed_at, Some(at(3)));
    assert_eq!(state_of(&*store, "kept").await, (true, DestinationState::Enabled, None));
    store.set_destination_state("gone", DestinationState::Enabled, None, at(4)).await.expect("an operator enables");
    assert_eq!(state_of(&*store, "gone").await, (true, DestinationState::Enabled, None));
    let stored = store.destinations().await.expect("lists");
    assert_eq!(stored[0].channel, hook("gone").channel, "the settings survive the migration");
}

#[tokio::test]
async fn sqlite_upgrade_keeps_disabled_destinations_disabled() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("relay.db").display());
    upgrading_keeps_disabled_destinations_disabled(&url, 4).await;
}

#[tokio::test]
async fn postgres_upgrade_keeps_disabled_destinations_disabled() {
    let Some(url) =
        crate::support::stores::postgres_url("store::postgres_upgrade_keeps_disabled_destinations_disabled").await
    else {
        return;
    };
    upgrading_keeps_disabled_destinations_disabled(&url, 4).await;
}
