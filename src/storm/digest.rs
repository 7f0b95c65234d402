//! What one digest says about the alerts a group collected during a window:
//! how many, first and last seen, the most frequent values of the fields that
//! vary, and a bounded list. Pure: the members come in, the summary goes out;
//! the chat channel's digest template turns it into a message.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{human, Facts};

/// One alert a group collected.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub alert_id: String,
    pub received_at: DateTime<Utc>,
    pub facts: Facts,
}

/// Fields whose most frequent values a digest shows, when they vary.
pub const SUMMARIZED: [&str; 5] = ["title", "actor.ip", "target", "kind", "severity"];

/// Most values shown per summarized field.
pub const TOP_VALUES: usize = 5;

/// The summary a digest template renders.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Digest {
    /// Alerts carried.
    pub count: usize,
    /// The group's first alert went out on its own before: these are "more".
    pub more: bool,
    /// `37 more alerts “SMB login attempt” from 192.0.2.66 on fileserver-canary in the last 5 minutes`.
    pub headline: String,
    /// The group's values (`kind=…, actor.ip=…`).
    pub group: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// `2026-01-02 03:04:05 UTC`, for templates.
    pub first_time: String,
    pub last_time: String,
    /// The window, for people (`5 minutes`).
    pub window: String,
    /// The most frequent values of the summarized fields that vary.
    pub top: Vec<Top>,
    /// The first alerts, at most `max_listed`.
    pub listed: Vec<Listed>,
    /// Carried but not listed.
    pub unlisted: usize,
    pub flock: String,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Top {
    pub field: String,
    pub values: Vec<Count>,
    /// Distinct values beyond those shown.
    pub others: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    pub value: String,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listed {
    pub alert_id: String,
    pub time: String,
    pub title: String,
    pub actor: Option<String>,
    pub target: Option<String>,
}

/// The summary of `members` (in arrival order; not empty) collected over
/// `window`; `more` when the group's first alert already went out alone.
pub fn summarize(members: &[Member], more: bool, group: &str, window: Duration, max_listed: usize) -> Option<Digest> {
    let first = members.first()?;
    let seen = |member: &Member| member.facts.time().unwrap_or(member.received_at);
    let first_seen = members.iter().map(seen).min().unwrap_or(first.received_at);
    let last_seen = members.iter().map(seen).max().unwrap_or(first.received_at);
    let top = SUMMARIZED.iter().filter_map(|field| top_values(members, field)).collect();
    let listed = members
        .iter()
        .take(max_listed)
        .map(|member| Listed {
            alert_id: member.alert_id.clone(),
            time: seen(member).format("%H:%M:%S").to_string(),
            title: member.facts.get("title").unwrap_or_default().to_owned(),
            actor: member.facts.get("actor").map(str::to_owned),
            target: member.facts.get("target").map(str::to_owned),
        })
        .collect();
    let count = members.len();
    let common = |field: &str| {
        let value = first.facts.get(field)?;
        members.iter().all(|member| member.facts.get(field) == Some(value)).then_some(value)
    };
    Some(Digest {
        count,
        more,
        headline: headline(count, more, common("title"), common("actor"), common("target"), window),
        group: group.to_owned(),
        first_seen,
        last_seen,
        first_time: first_seen.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        last_time: last_seen.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        window: human(window),
        top,
        listed,
        unlisted: count.saturating_sub(max_listed),
        flock: first.facts.get("flock").unwrap_or_default().to_owned(),
        kind: common("kind").unwrap_or("mixed").to_owned(),
    })
}

/// `37 more alerts “SMB login attempt” from 192.0.2.66 on fs-canary in the last 5 minutes`.
fn headline(
    count: usize,
    more: bool,
    title: Option<&str>,
    actor: Option<&str>,
    target: Option<&str>,
    window: Duration,
) -> String {
    let mut text = format!("{count}{} alert{}", if more { " more" } else { "" }, if count == 1 { "" } else { "s" });
    if let Some(title) = title {
        text.push_str(&format!(" “{title}”"));
    }
    if let Some(actor) = actor {
        text.push_str(&format!(" from {actor}"));
    }
    if let Some(target) = target {
        text.push_str(&format!(" on {target}"));
    }
    text.push_str(&format!(" in the last {}", human(window)));
    text
}

/// The most frequent values of `field`, when members differ in it.
fn top_values(members: &[Member], field: &str) -> Option<Top> {
    let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
    for (index, member) in members.iter().enumerate() {
        let value = member.facts.get(field)?;
        counts.entry(value).or_insert((0, index)).0 += 1;
    }
    if counts.len() < 2 {
        return None;
    }
    let mut values: Vec<(&str, (usize, usize))> = counts.into_iter().collect();
    // Most frequent first; ties in order of first appearance.
    values.sort_by(|(_, (a, first_a)), (_, (b, first_b))| b.cmp(a).then(first_a.cmp(first_b)));
    let others = values.len().saturating_sub(TOP_VALUES);
    Some(Top {
        field: field.to_owned(),
        values: values
            .into_iter()
            .take(TOP_VALUES)
            .map(|(value, (count, _))| Count { value: value.to_owned(), count })
            .collect(),
        others,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, second).single().expect("valid time")
    }

    fn member(id: &str, second: u32, title: &str, actor: &str) -> Member {
        let mut facts = std::collections::BTreeMap::new();
        facts.insert("title".to_owned(), title.to_owned());
        facts.insert("actor".to_owned(), actor.to_owned());
        facts.insert("actor.ip".to_owned(), actor.to_owned());
        facts.insert("target".to_owned(), "fileserver-canary".to_owned());
        facts.insert("kind".to_owned(), "canary.incident".to_owned());
        facts.insert("flock".to_owned(), "flock:soc".to_owned());
        facts.insert("time".to_owned(), at(second).to_rfc3339());
        Member { alert_id: id.to_owned(), received_at: at(59), facts: Facts(facts) }
    }

    #[test]
    fn a_digest_counts_everything_and_lists_a_bounded_few() {
        let members: Vec<Member> =
            (0..37).map(|index| member(&format!("a{index}"), index % 50, "SMB login attempt", "192.0.2.66")).collect();
        let digest = summarize(&members, true, "actor.ip=192.0.2.66", Duration::from_secs(300), 10).expect("digest");
        assert_eq!(digest.count, 37);
        assert_eq!(
            digest.headline,
            "37 more alerts “SMB login attempt” from 192.0.2.66 on fileserver-canary in the last 5 minutes"
        );
        assert_eq!((digest.listed.len(), digest.unlisted), (10, 27));
        assert_eq!(digest.listed[0].alert_id, "a0");
        assert_eq!((digest.first_seen, digest.last_seen), (at(0), at(36)));
        assert!(digest.top.is_empty(), "nothing varies: {:?}", digest.top);
        assert_eq!(digest.kind, "canary.incident");
    }

    #[test]
    fn the_top_values_of_what_varies_are_most_frequent_first() {
        let mut members = Vec::new();
        for (index, actor) in
            ["192.0.2.1", "192.0.2.2", "192.0.2.2", "192.0.2.3", "192.0.2.2", "192.0.2.1"].into_iter().enumerate()
        {
            members.push(member(&format!("a{index}"), 1, "Port scan", actor));
        }
        let digest = summarize(&members, false, "", Duration::from_secs(60), 3).expect("digest");
        assert_eq!(digest.headline, "6 alerts “Port scan” on fileserver-canary in the last 60 seconds");
        let actors = digest.top.iter().find(|top| top.field == "actor.ip").expect("actor.ip varies");
        let shown: Vec<(&str, usize)> = actors.values.iter().map(|count| (count.value.as_str(), count.count)).collect();
        assert_eq!(shown, [("192.0.2.2", 3), ("192.0.2.1", 2), ("192.0.2.3", 1)]);
        assert_eq!(actors.others, 0);
    }

    #[test]
    fn no_members_no_digest_and_one_is_singular() {
        assert_eq!(summarize(&[], true, "", Duration::from_secs(60), 10), None);
        let one = summarize(&[member("a", 1, "t", "x")], true, "", Duration::from_secs(7200), 10).expect("digest");
        assert_eq!(one.headline, "1 more alert “t” from x on fileserver-canary in the last 2 hours");
    }
}
