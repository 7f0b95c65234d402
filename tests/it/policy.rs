//! The destination address policy on real connections: literal addresses and
//! names are judged where the relay connects, and a refusal says why. By
//! default only public addresses are reachable; `allowed_cidrs` opens more.

use std::time::Duration;

use flockrelay::notify::generic::config::GenericSettings;
use flockrelay::notify::http::{deliver, Delivery, HttpSender};
use flockrelay::notify::policy::AddressPolicy;
use flockrelay::notify::Channel;
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

    let allowed = send(&url, policy(&["127.0.0.0/8", "::1"], &[])).await;
    assert_eq!(allowed.outcome, Outcome::Delivered, "loopback is reachable once opened");
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn loopback_is_refused_by_default_and_reachable_once_allowed_cidrs_opens_it() {
    let receiver = Receiver::start(Reply::new(200, "")).await;
    let delivery = send(&receiver.url("/hook"), AddressPolicy::default()).await;
    let reason = delivery.outcome.reason().expect("refused").to_owned();
    assert!(
        reason.contains("127.0.0.1 is not a public address (loopback); list it in delivery.allowed_cidrs to reach it"),
        "{reason}"
    );
    let other = send(&receiver.url("/hook"), policy(&["192.0.2.0/24"], &[])).await;
    assert!(other.outcome.reason().is_some_and(|reason| reason.contains("(loopback)")), "only listed ranges open");
    assert!(receiver.requests().is_empty(), "nothing reached the receiver");
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

/// Destinations in every form the default policy must refuse, with what the
/// recorded attempt must say. `{port}` is a loopback receiver's port.
const REFUSED_FORMS: [(&str, &str, &str); 21] = [
    ("loopback", "http://127.0.0.1:{port}/hook", "127.0.0.1 is not a public address (loopback)"),
    ("localhost", "http://localhost:{port}/hook", "the address policy refuses localhost: "),
    ("mapped", "http://[::ffff:127.0.0.1]:{port}/hook", "127.0.0.1 is not a public address (loopback)"),
    ("compatible", "http://[::7f00:1]:{port}/hook", "the IPv4-compatible form of 127.0.0.1, which is not a public"),
    ("nat64", "http://[64:ff9b::7f00:1]:{port}/hook", "the NAT64 form of 127.0.0.1, which is not a public"),
    ("sixtofour", "http://[2002:7f00:1::]:{port}/hook", "the 6to4 form of 127.0.0.1, which is not a public"),
    (
        "teredo",
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{port}/hook",
        "the Teredo client form of 127.0.0.1, which is not a public",
    ),
    ("ipv6_loopback", "http://[::1]:{port}/hook", "::1 is not a public address (loopback)"),
    ("rfc1918", "http://10.1.2.3/hook", "10.1.2.3 is not a public address (private (RFC 1918))"),
    ("rfc1918_6to4", "http://[2002:a01:203::]/hook", "the 6to4 form of 10.1.2.3, which is not a public"),
    ("cgnat", "http://100.64.0.1/hook", "100.64.0.1 is not a public address (shared address space"),
    ("ula", "http://[fd00::1]/hook", "fd00::1 is not a public address (unique local (ULA))"),
    ("metadata", "http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
    ("metadata_mapped", "http://[::ffff:169.254.169.254]/", "169.254.169.254 is a cloud metadata address"),
    ("metadata_compat", "http://[::a9fe:a9fe]/", "the IPv4-compatible form of 169.254.169.254, which is a cloud"),
    ("metadata_nat64", "http://[64:ff9b::a9fe:a9fe]/", "the NAT64 form of 169.254.169.254, which is a cloud"),
    ("metadata_local_nat64", "http://[64:ff9b:1::a9fe:a9fe]/", "form of 169.254.169.254, which is a cloud"),
    ("metadata_6to4", "http://[2002:a9fe:a9fe::]/", "the 6to4 form of 169.254.169.254, which is a cloud"),
    (
        "metadata_teredo",
        "http://[2001:0:4136:e378:8000:63bf:5601:5601]/",
        "the Teredo client form of 169.254.169.254, which is a cloud",
    ),
    ("metadata_aws6", "http://[fd00:ec2::254]/", "fd00:ec2::254 is a cloud metadata address (AWS IPv6)"),
    ("metadata_alibaba", "http://100.100.100.200/", "100.100.100.200 is a cloud metadata address (Alibaba Cloud)"),
];

#[tokio::test]
async fn a_default_relay_refuses_loopback_private_and_metadata_in_every_form_and_records_why() {
    use crate::support::relay::{eventually, Relay, Setup};
    let receiver = Receiver::start(Reply::new(200, "")).await;
    let port = receiver.addr.port().to_string();
    let mut extra = String::new();
    for (name, url, _) in REFUSED_FORMS {
        extra.push_str(&format!("[destinations.{name}.generic]\nurl = \"{}\"\n\n", url.replace("{port}", &port)));
    }
    // An empty allowed_cidrs is the default policy (the test relay opens loopback otherwise).
    let relay = Relay::with(Setup { delivery: "allowed_cidrs = []\n".into(), extra, ..Setup::default() }).await;
    let stored = relay.ingest(&serde_json::json!({"kind": "canary.incident", "title": "Port scan"})).await;
    let alert_id = stored[0]["alert_id"].as_str().expect("alert id").to_owned();
    assert_eq!(stored[0]["messages"], REFUSED_FORMS.len());

    let failed = || async {
        let (_, body) = relay.get("/api/v1/messages", &[("alert", alert_id.as_str()), ("status", "failed")]).await;
        body["messages"].as_array().map_or(0, Vec::len) == REFUSED_FORMS.len()
    };
    eventually(Duration::from_secs(120), "every message failed", failed).await;
    let (_, body) = relay.get("/api/v1/messages", &[("alert", alert_id.as_str())]).await;
    for message in body["messages"].as_array().expect("messages") {
        let destination = message["destination_id"].as_str().expect("destination");
        let (_, rule) = REFUSED_FORMS
            .iter()
            .map(|(name, _, rule)| (*name, *rule))
            .find(|(name, _)| *name == destination)
            .expect("known");
        let id = message["id"].as_str().expect("id");
        let (_, shown) = relay.get(&format!("/api/v1/messages/{id}"), &[]).await;
        let detail = shown["attempts"][0]["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(rule), "{destination}: the attempt names the rule: {detail}");
        assert!(detail.contains("address policy"), "{destination}: {detail}");
    }
    assert!(receiver.requests().is_empty(), "nothing reached the loopback receiver");
}

#[tokio::test]
async fn a_relay_that_opens_loopback_delivers_there_and_still_refuses_metadata() {
    use crate::support::relay::{eventually, Relay, Setup};
    let receiver = Receiver::start(Reply::new(200, "")).await;
    let port = receiver.addr.port();
    let extra = format!(
        "[destinations.literal.generic]\nurl = \"http://127.0.0.1:{port}/a\"\n\n\
         [destinations.name.generic]\nurl = \"http://localhost:{port}/b\"\n\n\
         [destinations.metadata.generic]\nurl = \"http://[::a9fe:a9fe]/\"\n"
    );
    let delivery = "allowed_cidrs = [\"127.0.0.0/8\", \"0.0.0.0/0\", \"::/0\"]\n".to_owned();
    let relay = Relay::with(Setup { delivery, extra, ..Setup::default() }).await;
    let stored = relay.ingest(&serde_json::json!({"kind": "canary.incident", "title": "Port scan"})).await;
    assert_eq!(stored[0]["messages"], 3);
    eventually(Duration::from_secs(60), "both loopback destinations received it", || async {
        receiver.requests().len() == 2
    })
    .await;
    let alert_id = stored[0]["alert_id"].as_str().expect("alert id");
    eventually(Duration::from_secs(60), "the metadata message failed", || async {
        let (_, body) = relay.get("/api/v1/messages", &[("alert", alert_id), ("status", "failed")]).await;
        body["messages"]
            .as_array()
            .is_some_and(|messages| messages.len() == 1 && messages[0]["destination_id"] == "metadata")
    })
    .await;
}
