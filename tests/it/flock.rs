//! Flock-signed destinations speak Flock (`shared/seeds/flock-referral-webhooks.txt`):
//! the body's `timestamp` is the send time in epoch seconds, and the bytes are
//! exactly what `JSON.stringify(JSON.parse(body))` gives, because the seed's
//! receiver recomputes the HMAC over that. Checked with the relay's own Flock
//! verifier and with the seed's receiver code run in node.

use std::collections::BTreeMap;
use std::process::Command;

use chrono::Utc;
use flockrelay::alert::Alert;
use flockrelay::destination::Destination;
use flockrelay::ingest::inbound::verify::flock_hmac::FlockHmac;
use flockrelay::ingest::inbound::Verifier as _;
use flockrelay::notify::generic::config::{GenericSettings, Signing};
use flockrelay::notify::Channel;
use flockrelay::notify::Outcome;
use flockrelay::secret::Secret;
use serde_json::{json, Value};

use crate::support::receiver::{Receiver, Reply};
use crate::support::{deliver_once, destination};

const SECRET: &str = "your_shared_secret";

fn flock_signed(receiver: &Receiver) -> Destination {
    destination(
        "referrals",
        Channel::Generic(GenericSettings {
            url: receiver.url("/flock").parse().expect("valid URL"),
            headers: BTreeMap::new(),
            auth: None,
            signing: Some(Signing::FlockHmac { secret: Secret::new(SECRET) }),
            permanent_statuses: Vec::new(),
        }),
    )
}

/// An alert whose text and numbers hit every place where serde_json and
/// `JSON.stringify` could disagree: control characters (but NUL, which no
/// alert may carry), U+2028/U+2029, non-BMP
/// characters, `/`, DEL, integers beyond 2^53, 1e21 and beyond, -0, tiny and
/// huge floats, and object keys that look like array indexes (which JavaScript
/// orders first).
fn awkward_alert() -> Alert {
    let text = "line\u{2028}para\u{2029} ctl \u{1}\u{8}\u{c}\u{1f} del \u{7f} tab\t nl\n quote\" back\\ slash / \
                emoji 🦜 astral 𝄞 bom \u{feff} nbsp \u{a0} lone-ish \u{fffd} <script>&amp;";
    let doc = json!({
        "kind": "canarytoken.triggered", "title": format!("Awkward {text}"), "description": text,
        "severity": "high", "timestamp": "2026-03-14T09:30:00Z",
        "details": {
            "text": text,
            "big_integer": 12345678901234567890u64,
            "beyond_2_53": 9007199254740993u64,
            "negative": -9007199254740993i64,
            "e21": 1e21, "e20": 1e20, "almost_e21": 999999999999999900000.0,
            "negative_zero": -0.0, "tiny": 5e-324, "small": 1e-7, "not_so_small": 0.000001,
            "third": 0.1, "sum": 0.30000000000000004, "huge": 1.7976931348623157e308,
            "one_point_zero": 1.0, "half": -0.5, "million": 1e6,
            "2": "two", "10": "ten", "1": "one", "01": "zero-one", "4294967295": "not an index",
            "4294967294": "last index", "-1": "negative", "b": {"z": 1, "3": 3, "a": [1.5e300, -1e-300, 123e-20]}
        }
    });
    Alert::from_value(doc, Utc::now()).expect("a valid alert")
}

#[tokio::test]
async fn the_body_carries_the_send_time_and_passes_the_relays_own_flock_verifier() {
    let receiver = Receiver::start(Reply::new(200, "")).await;
    let before = Utc::now().timestamp();
    let delivery = deliver_once(&flock_signed(&receiver), &awkward_alert()).await;
    assert_eq!(delivery.outcome, Outcome::Delivered);
    let request = receiver.single();
    let body: Value = serde_json::from_slice(&request.body).expect("JSON");
    let timestamp = body["timestamp"].as_i64().unwrap_or_else(|| panic!("timestamp is epoch seconds: {body}"));
    // The attempt's own time: not before the send started (whatever the machine's speed).
    assert!(timestamp >= before, "{timestamp} < {before}");
    let verifier = FlockHmac::new(Secret::new(SECRET));
    let verified =
        verifier.verify(&request.headers, &request.body, Utc::now()).expect("the relay's verifier accepts it");
    assert_eq!(verified.timestamp, Some(timestamp));
    // Flock's event shape, with the alert in `data`.
    assert_eq!(body["name"], "canarytoken.triggered");
    assert_eq!(body["entity"], "alert");
    assert!(body["data"]["description"].as_str().is_some_and(|text| text.contains('\u{2028}')));
}

#[tokio::test]
async fn replays_send_the_same_bytes_but_the_timestamp() {
    use flockrelay::notify::{by_kind, AttemptContext};
    let receiver = Receiver::start(Reply::new(200, "")).await;
    let destination = flock_signed(&receiver);
    let notifier = by_kind(destination.channel.kind());
    let renderer = flockrelay::render::Renderer::built_in().expect("templates");
    let payload = notifier.render(&destination, &awkward_alert(), &renderer, false).expect("renders");
    let at = |seconds| chrono::DateTime::from_timestamp(seconds, 0).expect("valid time");
    let first = notifier
        .request(&destination, &[&payload], &AttemptContext { message_id: "msg_1", now: at(1_800_000_000) })
        .expect("request");
    let again = notifier
        .request(&destination, &[&payload], &AttemptContext { message_id: "msg_1", now: at(1_800_000_000) })
        .expect("request");
    let later = notifier
        .request(&destination, &[&payload], &AttemptContext { message_id: "msg_1", now: at(1_800_000_777) })
        .expect("request");
    assert_eq!(first.body, again.body, "byte-stable");
    let first_text = String::from_utf8(first.body).expect("UTF-8");
    let later_text = String::from_utf8(later.body).expect("UTF-8");
    assert!(first_text.contains("\"timestamp\":1800000000"), "{first_text}");
    assert_eq!(first_text.replace("\"timestamp\":1800000000", "\"timestamp\":1800000777"), later_text);
}

/// Runs `script` in node with `args`; `None` (after saying so loudly) when node
/// is not installed.
fn node(script: &str, args: &[&str]) -> Option<std::process::Output> {
    match Command::new("node").arg("-e").arg(script).args(args).output() {
        Ok(output) => Some(output),
        Err(error) => {
            eprintln!("SKIPPED: node is not installed ({error}); the seed's receiver code was not run");
            None
        }
    }
}

/// The seed's receiver, step by step: HMAC over `JSON.stringify(payload)`,
/// then the five-minute window. Its window check alone lets a non-number
/// through (`NaN > 300000` is false), so the type is checked too.
const SEED_RECEIVER: &str = r#"
const crypto = require('crypto');
const fs = require('fs');
const [bodyFile, signature, secret] = process.argv.slice(1);
const raw = fs.readFileSync(bodyFile, 'utf8');
const payload = JSON.parse(raw);
const computedHash = crypto.createHmac('sha256', secret).update(JSON.stringify(payload)).digest('hex');
if (computedHash !== signature) { console.log('Invalid signature!'); process.exit(1); }
const fiveMinutes = 5 * 60 * 1000;
if (Math.abs(Date.now() - payload.timestamp * 1000) > fiveMinutes) { console.log('Timestamp is too old!'); process.exit(2); }
if (typeof payload.timestamp !== 'number') { console.log('timestamp is not a number'); process.exit(3); }
if (JSON.stringify(payload) !== raw) { console.log('the body is not JSON.stringify output'); process.exit(4); }
console.log('Signature verified successfully!');
"#;

#[tokio::test]
async fn the_seed_receiver_code_run_in_node_accepts_what_we_send() {
    let receiver = Receiver::start(Reply::new(200, "")).await;
    assert_eq!(deliver_once(&flock_signed(&receiver), &awkward_alert()).await.outcome, Outcome::Delivered);
    let request = receiver.single();
    let dir = tempfile::tempdir().expect("temp dir");
    let body_file = dir.path().join("body.json");
    std::fs::write(&body_file, &request.body).expect("writes");
    let signature = request.header("x-flock-signature").expect("signed").to_owned();
    let Some(output) = node(SEED_RECEIVER, &[body_file.to_str().expect("UTF-8 path"), &signature, SECRET]) else {
        return;
    };
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the seed's receiver refused: {said}{}", String::from_utf8_lossy(&output.stderr));
    assert!(said.contains("Signature verified successfully!"), "{said}");
}

/// Texts whose `JSON.stringify(JSON.parse(text))` form must equal ours.
fn corpus() -> Vec<String> {
    let mut texts: Vec<String> = [
        r#"{"a":"\u2028\u2029","b":"\u0000\u001f\u007f\b\f\n\r\t","c":"\/ / \\ \"","d":"🦜 𝄞 \ud834\udd1e"}"#,
        r#"{"n":[0,-0,-0.0,1,1.0,1.5,-1.5,1e21,1e20,123456789012345680000,1e-6,1e-7,1.5e-7,5e-324,1.7976931348623157e308]}"#,
        r#"{"n":[12345678901234567890,9007199254740993,-9007199254740993,18446744073709551615,18446744073709551616]}"#,
        r#"{"n":[0.1,0.2,0.30000000000000004,100,1e2,1E2,1e+2,2.5e-5,123e-20,4.35,0.000001234,1e100,-1e-100]}"#,
        r#"{"b":1,"2":2,"10":3,"1":4,"01":5,"-1":6,"4294967294":7,"4294967295":8,"1.5":9,"":10," 1":11}"#,
        r#"{"dup":1,"x":2,"dup":3}"#,
        r#"{"nested":{"z":[{"3":"c","a":"b","0":"a"}],"k":{}},"e":[],"t":true,"f":false,"n":null}"#,
        r#"[1, "two", {"three": 3.0}]"#,
        r#"  {  "spaces" :  [ 1 , 2 ]  }  "#,
        r#""just a string""#,
        r#"42"#,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    // Every control character and the other escape-prone code points, one per key.
    let mut all = serde_json::Map::new();
    for code in (0u32..0x20).chain([0x7f, 0x80, 0x9f, 0xad, 0x2028, 0x2029, 0xfeff, 0xfffe, 0xffff, 0x1f99c]) {
        if let Some(ch) = char::from_u32(code) {
            all.insert(format!("u{code:04x}"), Value::String(format!("<{ch}>")));
        }
    }
    texts.push(Value::Object(all).to_string());
    texts
}

#[test]
fn our_canonical_json_is_what_json_stringify_gives_for_every_tricky_value() {
    use flockrelay::signing::json_stringify::canonical;
    let texts = corpus();
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("corpus.json");
    std::fs::write(&input, serde_json::to_vec(&texts).expect("serializes")).expect("writes");
    let script = r#"
const fs = require('fs');
const texts = JSON.parse(fs.readFileSync(process.argv[1], 'utf8'));
process.stdout.write(JSON.stringify(texts.map((text) => JSON.stringify(JSON.parse(text)))));
"#;
    let Some(output) = node(script, &[input.to_str().expect("UTF-8 path")]) else {
        return;
    };
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let expected: Vec<String> = serde_json::from_slice(&output.stdout).expect("node printed a JSON list");
    assert_eq!(expected.len(), texts.len());
    for (text, expected) in texts.iter().zip(&expected) {
        assert_eq!(&canonical(text).expect("valid JSON"), expected, "for {text}");
    }
}
