//! From an inbound payload to an [`Alert`]: a Tera template renders the alert
//! JSON (our own form, or a Canary incident), [`Alert::from_value`] parses it,
//! then the source's rule applies: the alert belongs to the source's flock.
//! (Ingest then puts its id in the source's namespace, `hook:<source>:<id>`, so
//! two sources, or a source and an API client, can never collide.)
//!
//! Built-in templates (`templates/sources/*.json.tera`, compiled in):
//! `canary_incident`, `flock_event`, `standard_webhooks_event`, `flowingly_step`.
//! `<templates.dir>/sources/<name>.json.tera` files replace or add templates.
//!
//! Templates see `payload` (the JSON body, credential field removed),
//! `event.id` / `event.timestamp` (what the verifier vouched for: the
//! `webhook-id`, the signed timestamp), `source.id`, `source.flock`,
//! `source.scheme` and `received_at`. Every `{{ … }}` is JSON-string-escaped,
//! as in the channel templates; `| json` emits a whole value.
//!
//! Pure apart from reading the override directory once at start.

use crate::render::{error_chain, template_files, with_overrides};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tera::Tera;

use super::{Source, Verified};
use crate::alert::{Alert, AlertError};
use crate::render::filters;

/// A Canary console's incident webhook, parsed as the Canary form.
pub const CANARY_INCIDENT: &str = "canary_incident";
/// A Flock referral-campaign event (`invitee.accepted` …).
pub const FLOCK_EVENT: &str = "flock_event";
/// A Standard Webhooks event (`{"type", "timestamp", "data"}`).
pub const STANDARD_WEBHOOKS_EVENT: &str = "standard_webhooks_event";
/// A Flowingly workflow step's data.
pub const FLOWINGLY_STEP: &str = "flowingly_step";

/// Built-in mapping templates: (name, source).
pub const BUILT_IN: [(&str, &str); 4] = [
    (CANARY_INCIDENT, include_str!("../../../templates/sources/canary_incident.json.tera")),
    (FLOCK_EVENT, include_str!("../../../templates/sources/flock_event.json.tera")),
    (STANDARD_WEBHOOKS_EVENT, include_str!("../../../templates/sources/standard_webhooks_event.json.tera")),
    (FLOWINGLY_STEP, include_str!("../../../templates/sources/flowingly_step.json.tera")),
];

/// Sub-directory of `[templates] dir` holding mapping templates.
pub const OVERRIDE_SUBDIR: &str = "sources";

/// Suffix of a mapping template file.
pub const TEMPLATE_SUFFIX: &str = ".json.tera";

/// Why a payload could not become an alert, or templates could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("cannot read mapping templates in {path}: {source}")]
    Directory { path: PathBuf, source: std::io::Error },
    #[error("mapping template {name} does not parse: {detail}")]
    Parse { name: String, detail: String },
    #[error("no mapping template named `{0}`")]
    Unknown(String),
    #[error("mapping template {name} cannot map this payload: {detail}")]
    Render { name: String, detail: String },
    #[error("mapping template {name} produced invalid JSON: {reason}")]
    InvalidJson { name: String, reason: String },
    #[error("the mapped alert is invalid: {0}")]
    Alert(#[from] AlertError),
}

/// What a template sees besides the payload.
#[derive(Debug, Serialize)]
struct EventView<'a> {
    id: Option<&'a str>,
    timestamp: Option<i64>,
}

#[derive(Debug, Serialize)]
struct SourceView<'a> {
    id: &'a str,
    flock: &'a str,
    scheme: &'static str,
}

/// Holds every mapping template, parsed once.
pub struct Mapper {
    tera: Tera,
}

impl std::fmt::Debug for Mapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapper").field("templates", &self.names()).finish()
    }
}

impl Mapper {
    /// The built-in templates only.
    pub fn built_in() -> Result<Self, MappingError> {
        Self::new(None)
    }

    /// The built-in templates, replaced or extended by
    /// `<dir>/sources/<name>.json.tera` (a missing sub-directory is fine).
    pub fn new(templates_dir: Option<&Path>) -> Result<Self, MappingError> {
        let overrides = match templates_dir.map(|dir| dir.join(OVERRIDE_SUBDIR)).filter(|dir| dir.is_dir()) {
            Some(dir) => read_dir(&dir)?,
            None => Vec::new(),
        };
        let sources = with_overrides(&BUILT_IN, overrides);
        let mut tera = Tera::default();
        // Every mapping template writes JSON: escape every `{{ … }}` as a JSON string.
        tera.autoescape_on(vec![""]);
        tera.set_escape_fn(filters::escape_json);
        tera.register_filter("json", filters::Json);
        tera.register_filter("text", filters::Text);
        for (name, source) in &sources {
            tera.add_raw_template(name, source)
                .map_err(|error| MappingError::Parse { name: name.clone(), detail: error_chain(&error) })?;
        }
        Ok(Self { tera })
    }

    /// Names of every mapping template, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.tera.get_template_names().collect();
        names.sort_unstable();
        names
    }

    /// Whether a mapping template of this name exists.
    pub fn has(&self, name: &str) -> bool {
        self.tera.get_template_names().any(|known| known == name)
    }

    /// Maps one verified payload of `source` to an alert. `payload` must already
    /// be without the credential field. `now` stands in for a missing timestamp.
    pub fn map(
        &self,
        source: &Source,
        verified: &Verified,
        payload: &Value,
        now: DateTime<Utc>,
    ) -> Result<Alert, MappingError> {
        let name = source.template_name();
        if !self.has(name) {
            return Err(MappingError::Unknown(name.to_owned()));
        }
        let render_error =
            |error: tera::Error| MappingError::Render { name: name.to_owned(), detail: error_chain(&error) };
        let mut context = tera::Context::new();
        context.try_insert("payload", payload).map_err(render_error)?;
        context
            .try_insert("event", &EventView { id: verified.event_id.as_deref(), timestamp: verified.timestamp })
            .map_err(render_error)?;
        context
            .try_insert(
                "source",
                &SourceView { id: &source.id, flock: &source.flock, scheme: source.scheme.name().as_str() },
            )
            .map_err(render_error)?;
        context.try_insert("received_at", &now).map_err(render_error)?;
        let output = self.tera.render(name, &context).map_err(render_error)?;
        let document: Value = serde_json::from_str(&output)
            .map_err(|error| MappingError::InvalidJson { name: name.to_owned(), reason: error.to_string() })?;
        let mut alert = Alert::from_value(document, now)?;
        // The source decides the flock: a sender cannot route into another flock.
        alert.flock_id.clone_from(&source.flock);
        if alert.id.trim().is_empty() {
            alert.id = uuid::Uuid::now_v7().to_string();
        }
        Ok(alert)
    }
}

/// `(name, source)` of every `*.json.tera` file in `dir`.
fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, MappingError> {
    template_files(dir, TEMPLATE_SUFFIX).map_err(|(path, source)| MappingError::Directory { path, source })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::alert::Severity;
    use crate::ingest::inbound::Scheme;
    use crate::secret::Secret;

    fn source(scheme: Scheme, template: Option<&str>) -> Source {
        Source {
            id: "src".into(),
            flock: "flock:soc".into(),
            enabled: true,
            scheme,
            template: template.map(Into::into),
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).expect("valid time")
    }

    fn mapper() -> Mapper {
        Mapper::built_in().expect("built-in mapping templates parse")
    }

    #[test]
    fn a_canary_incident_keeps_its_fields_and_gets_the_source_flock() {
        let payload = json!({
            "Description": "Port Scan", "Intro": "A portscan was detected.", "IncidentHash": "b6a1",
            "Timestamp": "2021-05-06 10:14:39 (UTC)", "SourceIP": "192.0.2.7", "CanaryName": "fs-canary",
            "CanaryPort": 445, "flock_id": "flock:elsewhere"
        });
        let alert = mapper().map(&source(Scheme::None, None), &Verified::default(), &payload, now()).expect("maps");
        assert_eq!(alert.id, "b6a1");
        assert_eq!(alert.flock_id, "flock:soc", "the source decides the flock, not the payload");
        assert_eq!(alert.kind, "canary.incident");
        assert_eq!(alert.title, "Port Scan on fs-canary");
        assert_eq!(alert.target.port, Some(445));
    }

    #[test]
    fn a_flock_event_becomes_an_info_alert_with_its_data() {
        let payload = json!({
            "name": "invitee.accepted", "entity": "invitee", "entityId": "customer_67890",
            "data": {"campaignId": "campaign_12345", "invitee": {"id": "customer_67890"}}, "timestamp": 1641234567
        });
        let verified = Verified { timestamp: Some(1_641_234_567), ..Verified::default() };
        let flock = source(Scheme::FlockHmac { secret: Secret::new("s") }, None);
        let alert = mapper().map(&flock, &verified, &payload, now()).expect("maps");
        assert_eq!(alert.id, "invitee.accepted:customer_67890:1641234567");
        assert_eq!(alert.kind, "invitee.accepted");
        assert_eq!(alert.severity, Severity::Info);
        assert_eq!(alert.title, "Flock invitee.accepted: invitee customer_67890");
        assert_eq!(alert.timestamp.timestamp(), 1_641_234_567);
        assert_eq!(alert.details["campaignId"], "campaign_12345");
        assert_eq!(alert.target.id.as_deref(), Some("customer_67890"));
    }

    #[test]
    fn a_standard_webhooks_event_uses_the_verified_id_and_time() {
        let payload =
            json!({"type": "qr_code.scanned", "timestamp": "2022-11-03T20:26:10.344522Z", "data": {"code": "abc"}});
        let verified =
            Verified { event_id: Some("msg_1".into()), timestamp: Some(1_700_000_000), credential_field: None };
        let svix = source(Scheme::StandardWebhooks { secrets: Vec::new() }, None);
        let alert = mapper().map(&svix, &verified, &payload, now()).expect("maps");
        assert_eq!(alert.id, "msg_1");
        assert_eq!(alert.kind, "qr_code.scanned");
        assert_eq!(alert.title, "qr_code.scanned from src");
        assert_eq!(alert.details["code"], "abc");
        assert_eq!(alert.timestamp, now());
    }

    #[test]
    fn a_flowingly_step_keeps_every_field_in_details() {
        let payload = json!({"FlowName": "Onboarding", "StepName": "Approve laptop", "Fields": [{"Name": "x"}]});
        let basic = source(Scheme::Basic { username: "u".into(), password: Secret::new("p") }, None);
        let alert = mapper().map(&basic, &Verified::default(), &payload, now()).expect("maps");
        assert_eq!(alert.kind, "flowingly.step");
        assert_eq!(alert.title, "Flowingly step Approve laptop in Onboarding");
        assert_eq!(alert.details["Fields"][0]["Name"], "x");
        assert!(!alert.id.is_empty());
    }

    #[test]
    fn odd_payloads_map_or_fail_cleanly_with_every_template() {
        let hostile = "\"quoted\" \\ back {{ not }} {% raw %} \n\u{1}";
        let payloads = [
            json!(null),
            json!(5),
            json!("text"),
            json!([1, 2]),
            json!({}),
            json!({"name": {"nested": true}, "entityId": [1], "data": 5, "type": {"a": 1}, "timestamp": "x"}),
            json!({"name": hostile, "entity": hostile, "entityId": hostile, "type": hostile, "StepName": hostile, "FlowName": hostile}),
        ];
        let mapper = mapper();
        for template in [CANARY_INCIDENT, FLOCK_EVENT, STANDARD_WEBHOOKS_EVENT, FLOWINGLY_STEP] {
            for payload in &payloads {
                let verified = Verified { event_id: Some(hostile.into()), timestamp: Some(1), credential_field: None };
                match mapper.map(&source(Scheme::None, Some(template)), &verified, payload, now()) {
                    Ok(alert) => assert_eq!(alert.flock_id, "flock:soc"),
                    Err(MappingError::Alert(_) | MappingError::Render { .. }) => {}
                    Err(other) => panic!("{template} on {payload}: unexpected {other}"),
                }
            }
        }
        // The hostile text survives as data, not as template syntax.
        let alert = mapper
            .map(&source(Scheme::None, Some(FLOCK_EVENT)), &Verified::default(), &payloads[6], now())
            .expect("maps");
        assert_eq!(alert.kind, hostile);
        // A NUL is refused by the limits, naming the field.
        let with_nul = json!({"name": "a\u{0}b", "timestamp": 1});
        match mapper.map(&source(Scheme::None, Some(FLOCK_EVENT)), &Verified::default(), &with_nul, now()) {
            Err(MappingError::Alert(AlertError::InvalidField { reason, .. })) => {
                assert!(reason.contains("NUL"), "{reason}")
            }
            other => panic!("expected a NUL refusal, got {other:?}"),
        }
    }

    #[test]
    fn an_unknown_template_is_named() {
        let result = mapper().map(&source(Scheme::None, Some("nope")), &Verified::default(), &json!({}), now());
        assert!(matches!(result, Err(MappingError::Unknown(name)) if name == "nope"));
    }

    #[test]
    fn a_directory_adds_and_replaces_mapping_templates() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let sources = dir.path().join(OVERRIDE_SUBDIR);
        std::fs::create_dir(&sources).expect("creates");
        std::fs::write(sources.join("mine.json.tera"), r#"{"kind": "mine", "title": "{{ payload.t }}"}"#)
            .expect("writes");
        std::fs::write(sources.join("ignored.txt"), "x").expect("writes");
        let mapper = Mapper::new(Some(dir.path())).expect("loads");
        assert!(mapper.has("mine") && mapper.has(CANARY_INCIDENT) && !mapper.has("ignored"));
        let alert = mapper
            .map(&source(Scheme::None, Some("mine")), &Verified::default(), &json!({"t": "T"}), now())
            .expect("maps");
        assert_eq!((alert.kind.as_str(), alert.title.as_str()), ("mine", "T"));
    }
}
