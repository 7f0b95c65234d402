//! The destination address policy on real connections: literal addresses and
//! names are judged where the relay connects, and a refusal says why.

use std::time::Duration;

use flockrelay::destination::Channel;
use flockrelay::notify::generic::config::GenericSettings;
use flockrelay::notify::http::{deliver, Delivery, HttpSender};
use flockrelay::notify::policy::AddressPolicy;
use flockrelay::notify::{by_kind, AttemptContext, Outcome};
use flockrelay::render::Renderer;

use crate::support::receiver::{Receiver, Reply};
use crate::support::{canary_alert, destination};

fn policy(allowed: &[&str], denied: &[&str]) -> AddressPolicy {
    let owned = |list: &[&str]| list.iter().map(|text| (*text).to_owned()).collect::<Vec<_>>();
    AddressPolicy::new(&owned(allowed), &owned(denied)).expect("valid policy")
}

async fn send(url: &str, policy: AddressPolicy) -> Delivery {
    let settings = GenericSettings {
        url: url.parse().expect("valid URL"),
        headers: Default::default(),
        auth: None,
        signing: None,
        permanent_statuses: Vec::new(),
    };
    let hook = destination("hook", Channel::Generic(settings));
    let notifier = by_kind(hook.channel.kind());
    let renderer = Renderer::built_in().expect("built-in templates parse");
    let payload = notifier.render(&hook, &canary_alert(), &renderer, false).expect("renders");
    let attempt = AttemptContext { message_id: "msg_policy", now: chrono::Utc::now() };
    let request = notifier.request(&hook, &[&payload], &attempt).expect("builds");
    let sender = HttpSender::with_policy(Duration::from_secs(5), policy);
    deliver(&sender, &request, |answer| notifier.classify(answer)).await
}

#[tokio::test]
async fn a_denied_cidr_refuses_a_literal_address_before_connecting() {
    let receiver = Receiver::start(Reply::new(200, "")).await;
    let delivery = send(&receiver.url("/hook"), policy(&[], &["127.0.0.0/8"])).await;
    let Outcome::Failed { reason, .. } = &delivery.outcome else {
        panic!("expected a permanent failure, got {:?}", delivery.outcome);
    };
    assert!(reason.contains("127.0.0.1 is in delivery.denied_cidrs (127.0.0.0/8)"), "{reason}");
    assert!(receiver.requests().is_empty(), "nothing reached the receiver");
}

#[tokio::test]
async fn a_name_resolving_to_a_denied_address_is_refused_when_connecting() {
    let receiver = Receiver::start(Reply::new(200, "")).await;
    let url = format!("http://localhost:{}/hook", receiver.addr.port());
    let delivery = send(&url, policy(&[], &["127.0.0.0/8", "::1"])).await;
    let reason = delivery.outcome.reason().expect("not delivered").to_owned();
    assert!(reason.contains("the address policy refuses localhost"), "{reason}");
    assert!(reason.contains("127.0.0.1 is in delivery.denied_cidrs (127.0.0.0/8)"), "{reason}");
    assert!(!reason.contains("msg_policy"), "{reason}");
    assert!(receiver.requests().is_empty(), "nothing reached the receiver");

    let allowed = send(&url, AddressPolicy::default()).await;
    assert_eq!(allowed.outcome, Outcome::Delivered, "loopback is allowed by default");
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn an_allow_list_refuses_everything_else() {
    let receiver = Receiver::start(Reply::new(200, "")).await;
    let delivery = send(&receiver.url("/hook"), policy(&["192.0.2.0/24"], &[])).await;
    let reason = delivery.outcome.reason().expect("refused").to_owned();
    assert!(reason.contains("127.0.0.1 is not in delivery.allowed_cidrs"), "{reason}");
    let inside = send(&receiver.url("/hook"), policy(&["127.0.0.0/8"], &[])).await;
    assert_eq!(inside.outcome, Outcome::Delivered);
}

#[tokio::test]
async fn cloud_metadata_is_refused_even_when_everything_is_allowed() {
    for url in ["http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://100.100.100.200/"] {
        let delivery = send(url, policy(&["0.0.0.0/0", "::/0"], &[])).await;
        let reason = delivery.outcome.reason().expect("refused").to_owned();
        assert!(matches!(delivery.outcome, Outcome::Failed { .. }), "{url}: {reason}");
        assert!(reason.contains("cloud metadata address") && reason.contains("always refused"), "{url}: {reason}");
    }
}
