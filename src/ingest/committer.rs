//! The group committer: requests that arrive while a transaction commits wait
//! and are stored together in the next one, so a single SQLite writer, or a
//! PostgreSQL server flushing its log at every commit, does one commit for many
//! concurrent requests instead of one each. Every request is still answered
//! only after its own alerts committed; where the store gains from concurrent
//! writers (PostgreSQL), a few groups commit at once.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::store::{Enqueued, NewAlert, Store, StoreError};

/// Ingest requests waiting for the committer, at most; more wait to be queued.
const COMMIT_QUEUE: usize = 4096;

/// What the committer answers: the request's alerts, handed back because the
/// caller still needs them, and what was stored for each.
type Committed = (Vec<NewAlert>, Result<Vec<Enqueued>, StoreError>);

/// One request's alerts on their way to the store, and where its answer goes.
struct Pending {
    alerts: Vec<NewAlert>,
    reply: oneshot::Sender<Committed>,
}

/// The group committer's queue; the committer task ends when this is dropped.
/// Without one (`max_alerts_per_commit = 1`) every request commits on its own.
#[derive(Debug)]
pub struct Committer {
    queue: Option<mpsc::Sender<Pending>>,
}

impl Committer {
    /// Starts the committer task on the current runtime (unless `max_alerts` is 1).
    pub fn start(store: Arc<dyn Store>, max_alerts: usize) -> Self {
        if max_alerts <= 1 {
            return Self { queue: None };
        }
        let (queue, waiting) = mpsc::channel(COMMIT_QUEUE);
        let in_flight = Arc::new(Semaphore::new(store.concurrent_writes().max(1)));
        tokio::spawn(commit_groups(store, waiting, max_alerts, in_flight));
        Self { queue: Some(queue) }
    }

    /// Stores `alerts` in one transaction, possibly shared with other requests;
    /// returns once they are committed (or not), with the alerts handed back.
    pub(crate) async fn enqueue(&self, store: &dyn Store, alerts: Vec<NewAlert>) -> Committed {
        let Some(queue) = self.queue.as_ref().filter(|_| !store.groups_enqueues(&alerts)) else {
            let stored = store.enqueue(&alerts).await;
            return (alerts, stored);
        };
        let (reply, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError(pending)) = queue.send(Pending { alerts, reply }).await {
            // The committer is gone (the runtime is shutting down): store directly.
            let stored = store.enqueue(&pending.alerts).await;
            return (pending.alerts, stored);
        }
        match answer.await {
            Ok(answered) => answered,
            // The committer died with the request: whether it was committed is
            // unknown, so it is not acknowledged; a client retry is de-duplicated.
            Err(_) => (Vec::new(), Err(StoreError::Database(sqlx::Error::WorkerCrashed))),
        }
    }
}

/// Takes what is queued, up to `max_alerts`, commits it as one transaction,
/// answers every request in it, and starts over; at most as many groups at
/// once as `in_flight` has permits. A group forms only once a permit is free,
/// so requests gather while every permitted transaction is busy.
async fn commit_groups(
    store: Arc<dyn Store>,
    mut waiting: mpsc::Receiver<Pending>,
    max_alerts: usize,
    in_flight: Arc<Semaphore>,
) {
    let mut next = None;
    loop {
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            return;
        };
        let first = match next.take() {
            Some(first) => first,
            None => match waiting.recv().await {
                Some(first) => first,
                None => return,
            },
        };
        let mut alerts = first.alerts.len();
        let mut group = vec![first];
        while alerts < max_alerts {
            let Ok(pending) = waiting.try_recv() else {
                break;
            };
            if alerts + pending.alerts.len() > max_alerts {
                next = Some(pending);
                break;
            }
            alerts += pending.alerts.len();
            group.push(pending);
        }
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            commit(&*store, group).await;
            drop(permit);
        });
    }
}

/// Commits a group in one transaction. If that fails and the group holds
/// several requests, each is tried on its own, so that one request the store
/// refuses does not fail the others (and each gets its own error).
async fn commit(store: &dyn Store, mut group: Vec<Pending>) {
    if let [_] = group.as_slice() {
        if let Some(Pending { alerts, reply }) = group.pop() {
            let stored = store.enqueue(&alerts).await;
            // The requester may have gone away (client disconnected); its alerts are stored all the same.
            let _ = reply.send((alerts, stored));
        }
        return;
    }
    let sizes: Vec<usize> = group.iter().map(|pending| pending.alerts.len()).collect();
    let mut all: Vec<NewAlert> = group.iter_mut().flat_map(|pending| std::mem::take(&mut pending.alerts)).collect();
    match store.enqueue(&all).await {
        Ok(stored) => {
            let mut stored = stored.into_iter();
            let mut alerts = all.into_iter();
            for (pending, size) in group.into_iter().zip(sizes) {
                let mine: Vec<NewAlert> = alerts.by_ref().take(size).collect();
                let results: Vec<Enqueued> = stored.by_ref().take(size).collect();
                let _ = pending.reply.send((mine, Ok(results)));
            }
        }
        Err(error) => {
            tracing::warn!(requests = group.len(), %error, "A group commit failed; committing its requests one by one.");
            for (pending, size) in group.into_iter().zip(sizes) {
                let mine: Vec<NewAlert> = all.drain(..size).collect();
                let stored = store.enqueue(&mine).await;
                let _ = pending.reply.send((mine, stored));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::ChannelKind;
    use crate::store::{MessageFilter, MessageStatus, NewMessage};

    fn alert(id: &str, message_id: &str) -> NewAlert {
        NewAlert {
            id: id.to_owned(),
            idempotency_key: None,
            flock_id: "flock:default".to_owned(),
            kind: "canary.incident".to_owned(),
            received_at: chrono::Utc::now(),
            hops: 0,
            messages: vec![NewMessage {
                id: message_id.to_owned(),
                destination_id: "hook".to_owned(),
                kind: ChannelKind::Generic,
                body: "{}".to_owned(),
                error: None,
                storm: None,
            }],
        }
    }

    async fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("relay.db").display());
        let key = crate::store::key::SecretKey::generate();
        (crate::store::open(&url, &key).await.expect("SQLite store opens"), dir)
    }

    fn request(alerts: Vec<NewAlert>) -> (Pending, oneshot::Receiver<Committed>) {
        let (reply, answer) = oneshot::channel();
        (Pending { alerts, reply }, answer)
    }

    async fn pending_count(store: &dyn Store) -> usize {
        let filter = MessageFilter { status: Some(MessageStatus::Pending), limit: 1000, ..MessageFilter::default() };
        store.messages(&filter).await.expect("lists").len()
    }

    #[tokio::test]
    async fn a_group_answers_each_request_with_its_own_alerts_and_results() {
        let (store, _dir) = sqlite().await;
        let (first, first_answer) = request(vec![alert("a1", "m1")]);
        let (second, second_answer) = request(vec![alert("a2", "m2"), alert("a3", "m3")]);
        let (again, again_answer) = request(vec![alert("a1", "m4")]);
        commit(&*store, vec![first, second, again]).await;

        let (alerts, stored) = first_answer.await.expect("answered");
        assert_eq!((alerts.len(), stored.expect("stored")[0].duplicate), (1, false));
        let (alerts, stored) = second_answer.await.expect("answered");
        let ids: Vec<String> = stored.expect("stored").into_iter().map(|enqueued| enqueued.alert_id).collect();
        assert_eq!((alerts.len(), ids), (2, vec!["a2".to_owned(), "a3".to_owned()]));
        let (_, stored) = again_answer.await.expect("answered");
        assert!(stored.expect("stored")[0].duplicate, "the same alert id later in the group is a duplicate");
        assert_eq!(pending_count(&*store).await, 3);
    }

    #[tokio::test]
    async fn a_request_the_store_refuses_fails_alone() {
        let (store, _dir) = sqlite().await;
        let (good, good_answer) = request(vec![alert("a1", "m1")]);
        let (clashing, clashing_answer) = request(vec![alert("a2", "m1")]);
        let (other, other_answer) = request(vec![alert("a3", "m3")]);
        commit(&*store, vec![good, clashing, other]).await;

        assert!(good_answer.await.expect("answered").1.is_ok());
        assert!(clashing_answer.await.expect("answered").1.is_err(), "a clashing message id is refused");
        assert!(other_answer.await.expect("answered").1.is_ok());
        assert_eq!(pending_count(&*store).await, 2);
    }

    #[tokio::test]
    async fn concurrent_requests_are_each_answered_after_their_commit() {
        let (store, _dir) = sqlite().await;
        let committer = Arc::new(Committer::start(Arc::clone(&store), 8));
        let mut requests = tokio::task::JoinSet::new();
        for index in 0..100 {
            let (committer, store) = (Arc::clone(&committer), Arc::clone(&store));
            requests.spawn(async move {
                let alerts = vec![alert(&format!("a{index}"), &format!("m{index}"))];
                let (_, stored) = committer.enqueue(&*store, alerts).await;
                assert!(!stored.expect("stored")[0].duplicate);
                // Acknowledged means committed: the message is readable now.
                assert!(store.message(&format!("m{index}")).await.expect("reads").is_some());
            });
        }
        while let Some(joined) = requests.join_next().await {
            joined.expect("request succeeded");
        }
        assert_eq!(pending_count(&*store).await, 100);
    }
}
