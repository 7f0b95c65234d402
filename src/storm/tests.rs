//! Table tests of the pure storm rules in `mod.rs`.

use super::*;
use chrono::TimeZone as _;
use serde_json::json;

fn at(second: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_767_225_600 + second, 0).single().expect("valid time")
}

fn alert(doc: serde_json::Value) -> Alert {
    Alert::from_value(doc, at(0)).expect("valid alert")
}

fn fields(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

#[test]
fn alerts_that_agree_on_the_group_fields_share_a_key() {
    let by = fields(&["kind", "flock", "actor.ip", "target"]);
    let scan = |ip: &str, title: &str| {
        Facts::of(&alert(json!({"kind": "canary.incident", "title": title, "source": {"ip": ip},
            "target": {"name": "fs-canary", "ip": "10.0.0.9", "port": 445}})))
    };
    assert_eq!(scan("192.0.2.66", "SMB login").hash(&by), scan("192.0.2.66", "SMB share opened").hash(&by));
    assert_ne!(scan("192.0.2.66", "x").hash(&by), scan("192.0.2.67", "x").hash(&by));
    assert_eq!(
        scan("192.0.2.66", "x").label(&by),
        "kind=canary.incident, flock=flock:default, actor.ip=192.0.2.66, target=fs-canary 10.0.0.9:445"
    );
    // An absent field and an empty neighbour never collide.
    let a = Facts(std::iter::once(("a".to_owned(), "x".to_owned())).collect());
    let b = Facts(std::iter::once(("b".to_owned(), "x".to_owned())).collect());
    assert_ne!(a.hash(&fields(&["a", "b"])), b.hash(&fields(&["a", "b"])));
}

#[test]
fn facts_name_every_field_matchers_may_use() {
    let facts = Facts::of(&alert(json!({"kind": "k", "title": "t", "severity": "high",
        "source": {"ip": "192.0.2.1", "name": "scanner"}, "target": {"name": "n", "port": 22, "id": "c1"},
        "details": {"user": "admin", "count": 3}})));
    for (field, value) in [
        ("actor", "192.0.2.1 (scanner)"),
        ("actor.name", "scanner"),
        ("target.port", "22"),
        ("target.id", "c1"),
        ("severity", "high"),
        ("details.user", "admin"),
        ("details.count", "3"),
    ] {
        assert_eq!(facts.get(field), Some(value), "{field}");
    }
    assert!(known_field("details.user") && known_field("actor.ip") && !known_field("details.") && !known_field("ip"));
}

#[test]
fn windows_open_move_and_end_as_designed() {
    let group = |wait: u64| GroupPlan {
        key: "k".into(),
        label: "l".into(),
        wait: Duration::from_secs(wait),
        interval: Duration::from_secs(300),
    };
    // (group_wait, first alert out at once, first window end)
    for (wait, announce, end) in [(0, true, at(300)), (30, false, at(30))] {
        assert_eq!(open_window(at(0), &group(wait)), (announce, end), "wait {wait}");
    }
    assert!(due(at(300), at(300)) && due(at(300), at(301)) && !due(at(300), at(299)));
    assert_eq!(next_window(at(300), 37, Duration::from_secs(300)), Some(at(600)));
    assert_eq!(next_window(at(300), 0, Duration::from_secs(300)), None, "a quiet window ends the group");
    assert!(duplicate(at(600), at(599)) && !duplicate(at(600), at(600)));
    assert_eq!(after(DateTime::<Utc>::MAX_UTC, Duration::from_secs(1)), DateTime::<Utc>::MAX_UTC);
}

#[test]
fn siem_destinations_are_never_silenced_unless_told_otherwise() {
    let cases = [
        (None, ChannelKind::Slack, true),
        (None, ChannelKind::MsTeams, true),
        (None, ChannelKind::SplunkHec, false),
        (None, ChannelKind::Generic, false),
        (Some(true), ChannelKind::Slack, false),
        (Some(false), ChannelKind::SplunkHec, true),
    ];
    for (never_silenced, kind, silenceable) in cases {
        let settings = StormSettings { never_silenced, ..StormSettings::default() };
        assert_eq!(settings.silenceable(kind), silenceable, "{never_silenced:?} {kind}");
    }
}

#[test]
fn bad_settings_are_named_by_key() {
    let settings: StormSettings = serde_json::from_value(json!({
        "grouping": {"group_by": ["kind", "ip"], "group_interval": "0s", "max_listed": 41},
        "dedupe": {"window": "0s", "by": []}
    }))
    .expect("parses");
    let keys: Vec<String> = settings.problems().into_iter().map(|(key, _)| key).collect();
    assert_eq!(
        keys,
        ["grouping.group_by[1]", "grouping.group_interval", "grouping.max_listed", "dedupe.by", "dedupe.window"]
    );
    let defaults: StormSettings = serde_json::from_value(json!({"grouping": {}})).expect("parses");
    assert!(defaults.problems().is_empty());
    let grouping = defaults.grouping.expect("grouping");
    assert_eq!(grouping.group_by, ["kind", "flock", "actor.ip", "target"]);
    assert_eq!(
        (grouping.group_wait.0, grouping.group_interval.0, grouping.max_listed),
        (Duration::ZERO, Duration::from_secs(300), 10)
    );
}

#[test]
fn human_windows() {
    for (seconds, text) in
        [(1, "1 second"), (90, "90 seconds"), (300, "5 minutes"), (3600, "60 minutes"), (7200, "2 hours")]
    {
        assert_eq!(human(Duration::from_secs(seconds)), text);
    }
}
