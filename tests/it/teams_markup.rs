//! Teams renders markdown in Adaptive Card TextBlocks and facts, and markdown
//! plus some HTML in connector MessageCards (Microsoft's "Format cards in
//! Teams"). Text from an alert must stay text: an attacker's
//! `[click](https://evil.example)` must not become a link in the SOC's channel.
//! Every field is parsed with an independent CommonMark parser (pulldown-cmark)
//! and must produce no markup, only the alert's own text.

use flockrelay::alert::Alert;
use flockrelay::notify::teams::config::{TeamsFormat, TeamsSettings};
use flockrelay::notify::Channel;
use flockrelay::notify::Outcome;
use pulldown_cmark::{Event, Options, Parser, Tag};
use serde_json::{json, Value};

use crate::support::receiver::{Receiver, Reply};
use crate::support::{deliver_once, destination};

const LINK: &str = "[click](https://evil.example)";

/// Alert text an attacker controls, full of markup Teams would render.
fn hostile_alert() -> Alert {
    let markup = format!(
        "{LINK} **bold** _italic_ `code` ~~strike~~ <at>Everyone</at> <a href=\"https://evil.example\">x</a> \
         ![img](https://evil.example/p.png) <https://evil.example> &lt;b&gt;"
    );
    let lines = "first\n- item\n+ item\n1. one\n2) two\n# Header\n> quote\n===\n    indented";
    let doc = json!({
        "kind": "evil.[kind](https://evil.example)", "title": format!("Title {markup}"),
        "description": format!("{markup}\n{lines}"), "severity": "critical", "flock_id": "flock:default",
        "source": {"ip": "192.0.2.1", "name": LINK}, "target": {"name": "**target**", "ip": "10.0.0.1"},
        "details": {LINK: markup, "lines": lines, "_key_": "[a](b)"}
    });
    Alert::from_value(doc, chrono::Utc::now()).expect("still a valid alert")
}

/// The markup a CommonMark parser (with strikethrough) finds in `text`, if any.
fn markup_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for event in Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Start(Tag::Paragraph) | Event::Text(_) | Event::SoftBreak | Event::HardBreak => {}
            Event::End(_) => {}
            other => found.push(format!("{other:?}")),
        }
    }
    found
}

/// Every text field of a Teams body that shows alert content, by JSON path.
fn shown_texts(value: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = format!("{path}.{key}");
                match (key.as_str(), child) {
                    // `summary` is the plain notification preview, not rendered markdown.
                    ("text" | "title" | "value" | "name", Value::String(text)) => out.push((here, text.clone())),
                    _ => shown_texts(child, &here, out),
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                shown_texts(item, &format!("{path}[{index}]"), out);
            }
        }
        _ => {}
    }
}

async fn sent_body(format: TeamsFormat) -> Value {
    let receiver = Receiver::start(Reply::new(202, "")).await;
    let teams = destination(
        "soc_teams",
        Channel::MsTeams(TeamsSettings { url: receiver.url("/workflow").parse().expect("valid URL"), format }),
    );
    assert_eq!(deliver_once(&teams, &hostile_alert()).await.outcome, Outcome::Delivered);
    serde_json::from_slice(&receiver.single().body).expect("JSON")
}

fn assert_no_markup(body: &Value) {
    let mut texts = Vec::new();
    shown_texts(body, "$", &mut texts);
    assert!(texts.len() > 8, "{texts:?}");
    let mut offending = Vec::new();
    for (path, text) in &texts {
        let found = markup_in(text);
        if !found.is_empty() {
            offending.push(format!("{path}: {text:?} → {found:?}"));
        }
    }
    assert!(offending.is_empty(), "alert text renders as markup:\n{}", offending.join("\n"));
}

#[tokio::test]
async fn alert_text_in_an_adaptive_card_is_never_markup() {
    let body = sent_body(TeamsFormat::AdaptiveCard).await;
    assert_no_markup(&body);
    // The text still reads as the alert wrote it.
    let description = &body["attachments"][0]["content"]["body"][1]["text"];
    let rendered: String = Parser::new(description.as_str().expect("text"))
        .filter_map(|event| match event {
            Event::Text(text) => Some(text.to_string()),
            Event::SoftBreak | Event::HardBreak => Some("\n".to_owned()),
            _ => None,
        })
        .collect();
    assert!(rendered.starts_with(LINK), "{rendered}");
    assert!(rendered.contains("\n- item\n+ item\n1. one"), "{rendered}");
}

#[tokio::test]
async fn alert_text_in_a_message_card_is_never_markup_or_html() {
    let body = sent_body(TeamsFormat::MessageCard).await;
    assert_no_markup(&body);
    let text = body["text"].as_str().expect("text");
    assert!(!text.contains("<a ") && !text.contains("<at>"), "raw HTML survives: {text}");
}
