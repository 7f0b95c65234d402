//! Templates: the built-in Tera template of each channel, overrides from a
//! directory, and rendering an alert into a JSON value.
//!
//! Templates are parsed once, when the `Renderer` is built, never per alert. A
//! template whose output is not valid JSON is an error naming the template and
//! the line of the output where parsing failed. Owns no I/O besides reading the
//! override directory at start.

pub mod filters;
mod output;

pub use output::{minify, Rendered};

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use tera::Tera;

use crate::alert::{Actor, Alert, Severity, Target};

/// Built-in templates, compiled into the binary: (name, source).
pub const BUILT_IN: [(&str, &str); 11] = [
    ("slack.json", include_str!("../../templates/slack.json.tera")),
    ("teams.json", include_str!("../../templates/teams.json.tera")),
    ("teams_message_card.json", include_str!("../../templates/teams_message_card.json.tera")),
    ("splunk_hec.json", include_str!("../../templates/splunk_hec.json.tera")),
    ("generic.json", include_str!("../../templates/generic.json.tera")),
    ("standard_webhooks.json", include_str!("../../templates/standard_webhooks.json.tera")),
    ("flock.json", include_str!("../../templates/flock.json.tera")),
    ("slack_digest.json", include_str!("../../templates/slack_digest.json.tera")),
    ("teams_digest.json", include_str!("../../templates/teams_digest.json.tera")),
    ("teams_message_card_digest.json", include_str!("../../templates/teams_message_card_digest.json.tera")),
    ("generic_digest.json", include_str!("../../templates/generic_digest.json.tera")),
];

/// File extension of template files in an override directory.
pub const TEMPLATE_EXTENSION: &str = ".tera";

/// Why a template could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot read template directory {path}: {source}")]
    Directory { path: PathBuf, source: std::io::Error },
    #[error("template {name} does not parse: {detail}")]
    Parse { name: String, detail: String },
    #[error("no template named `{0}` (built-in or in the template directory)")]
    Unknown(String),
    #[error("template {name} failed to render: {detail}")]
    Render { name: String, detail: String },
    #[error("template {name} rendered invalid JSON at output line {line}, column {column}: {reason}")]
    InvalidJson { name: String, line: usize, column: usize, reason: String },
}

/// An alert converted for templates once; [`Renderer::render_json`] adds the
/// destination for each render.
#[derive(Debug, Clone)]
pub struct AlertContext {
    context: tera::Context,
}

/// The alert as templates see it: every field, plus ready-made display text —
/// `time` (`YYYY-MM-DD HH:MM:SS UTC`), `source_label` (`192.0.2.7 (scanner.example)`)
/// and `target_label` (`fs-canary 10.0.0.9:445`), absent when nothing is known. `raw` (the document as received) is only included
/// when some template mentions it, since copying it costs more than anything else.
#[derive(Debug, Serialize)]
pub struct AlertView<'a> {
    pub id: &'a str,
    pub flock_id: &'a str,
    pub kind: &'a str,
    pub severity: Severity,
    pub title: &'a str,
    pub description: &'a str,
    pub timestamp: &'a DateTime<Utc>,
    pub time: String,
    pub source: &'a Actor,
    pub source_label: Option<String>,
    pub target: &'a Target,
    pub target_label: Option<String>,
    pub details: &'a Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<&'a Value>,
}

/// The part of a destination templates may show (never its secrets).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DestinationView<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub flock: &'a str,
}

/// Relay identity for templates.
#[derive(Debug, Serialize)]
pub struct RelayView {
    pub name: &'static str,
    pub version: &'static str,
}

impl RelayView {
    pub const CURRENT: RelayView = RelayView { name: "flockrelay", version: env!("CARGO_PKG_VERSION") };
}

/// Holds every template, parsed.
pub struct Renderer {
    tera: Tera,
    /// Some template refers to `raw`, so the context must carry it.
    needs_raw: bool,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer").field("templates", &self.names()).finish()
    }
}

impl Renderer {
    /// The built-in templates only.
    pub fn built_in() -> Result<Self, RenderError> {
        Self::new(None)
    }

    /// The built-in templates, overridden or extended by every `*.tera` file in
    /// `dir` (named by the file name without `.tera`, e.g. `slack.json`).
    pub fn new(dir: Option<&Path>) -> Result<Self, RenderError> {
        let overrides = match dir {
            Some(dir) => read_dir(dir)?,
            None => Vec::new(),
        };
        let sources = with_overrides(&BUILT_IN, overrides);
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".json"]);
        tera.set_escape_fn(filters::escape_json);
        tera.register_filter("mrkdwn", filters::Mrkdwn);
        tera.register_filter("teams_md", filters::TeamsMarkdown);
        tera.register_filter("teams_connector_md", filters::TeamsConnectorMarkdown);
        tera.register_filter("json", filters::Json);
        tera.register_filter("text", filters::Text);
        let needs_raw = sources.iter().any(|(_, source)| source.contains("raw"));
        // Parse one by one so a parse error names its template.
        for (name, source) in &sources {
            tera.add_raw_template(name, source)
                .map_err(|error| RenderError::Parse { name: name.clone(), detail: error_chain(&error) })?;
        }
        Ok(Self { tera, needs_raw })
    }

    /// Makes `alert` ready for templates: done once per alert, then rendered for
    /// each of its destinations. `test` marks test notifications.
    pub fn prepare(&self, alert: &Alert, test: bool) -> Result<AlertContext, RenderError> {
        let view = AlertView {
            id: &alert.id,
            flock_id: &alert.flock_id,
            kind: &alert.kind,
            severity: alert.severity,
            title: &alert.title,
            description: &alert.description,
            timestamp: &alert.timestamp,
            time: alert.timestamp.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            source: &alert.actor,
            source_label: alert.actor.label(),
            target: &alert.target,
            target_label: alert.target.label(),
            details: &alert.details,
            raw: self.needs_raw.then_some(&alert.raw),
        };
        let mut context = tera::Context::new();
        let context_error =
            |error: tera::Error| RenderError::Render { name: "(context)".into(), detail: error_chain(&error) };
        context.try_insert("alert", &view).map_err(context_error)?;
        context.try_insert("test", &test).map_err(context_error)?;
        context.try_insert("relay", &RelayView::CURRENT).map_err(context_error)?;
        Ok(AlertContext { context })
    }

    /// Makes a digest ready for templates: `alert` stands for the group (its
    /// title is the digest's headline) and `digest` is the summary
    /// ([`crate::storm::digest::Digest`]).
    pub fn prepare_digest(&self, alert: &Alert, digest: &impl Serialize) -> Result<AlertContext, RenderError> {
        let mut prepared = self.prepare(alert, false)?;
        prepared
            .context
            .try_insert("digest", digest)
            .map_err(|error| RenderError::Render { name: "(digest)".into(), detail: error_chain(&error) })?;
        Ok(prepared)
    }

    /// Names of every loaded template, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.tera.get_template_names().collect();
        names.sort_unstable();
        names
    }

    pub fn has(&self, name: &str) -> bool {
        self.tera.get_template_names().any(|known| known == name)
    }

    /// Renders template `name` for one destination; the output must be JSON.
    pub fn render_json(
        &self,
        name: &str,
        alert: &mut AlertContext,
        destination: &DestinationView<'_>,
    ) -> Result<Rendered, RenderError> {
        if !self.has(name) {
            return Err(RenderError::Unknown(name.to_owned()));
        }
        alert
            .context
            .try_insert("destination", destination)
            .map_err(|error| RenderError::Render { name: name.to_owned(), detail: error_chain(&error) })?;
        let output = self
            .tera
            .render(name, &alert.context)
            .map_err(|error| RenderError::Render { name: name.to_owned(), detail: error_chain(&error) })?;
        Rendered::from_output(&output).map_err(|error| RenderError::InvalidJson {
            name: name.to_owned(),
            line: error.line(),
            column: error.column(),
            reason: error.to_string(),
        })
    }
}

fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, RenderError> {
    template_files(dir, TEMPLATE_EXTENSION).map_err(|(path, source)| RenderError::Directory { path, source })
}

/// The built-in `(name, source)` templates with `overrides` replacing those of
/// the same name and adding the others. Shared with `ingest::inbound::mapping`.
pub(crate) fn with_overrides(built_in: &[(&str, &str)], overrides: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut sources: Vec<(String, String)> =
        built_in.iter().map(|(name, source)| ((*name).to_owned(), (*source).to_owned())).collect();
    for (name, source) in overrides {
        sources.retain(|(existing, _)| existing != &name);
        sources.push((name, source));
    }
    sources
}

/// `(name, source)` of every `<name><suffix>` file in `dir`, sorted by name; an
/// I/O error comes with the path it happened on. Shared with the inbound
/// payload mappings (`ingest::inbound::mapping`).
pub(crate) fn template_files(
    dir: &Path,
    suffix: &str,
) -> Result<Vec<(String, String)>, (std::path::PathBuf, std::io::Error)> {
    let in_dir = |error| (dir.to_owned(), error);
    let mut templates = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(in_dir)? {
        let path = entry.map_err(in_dir)?.path();
        let Some(name) = path.file_name().and_then(|name| name.to_str()).and_then(|name| name.strip_suffix(suffix))
        else {
            continue;
        };
        let source = std::fs::read_to_string(&path).map_err(|error| (path.clone(), error))?;
        templates.push((name.to_owned(), source));
    }
    templates.sort();
    Ok(templates)
}

/// Tera puts the useful part (line, column, variable name) in the error's sources.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
