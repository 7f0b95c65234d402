//! Templates: the built-in Tera template of each channel, overrides from a
//! directory, and rendering an alert into a JSON value.
//!
//! Templates are parsed once, when the `Renderer` is built, never per alert. A
//! template whose output is not valid JSON is an error naming the template and
//! the line of the output where parsing failed. Owns no I/O besides reading the
//! override directory at start.

pub mod filters;

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;
use tera::Tera;

use crate::alert::Alert;

/// Built-in templates, compiled into the binary: (name, source).
pub const BUILT_IN: [(&str, &str); 5] = [
    ("slack.json", include_str!("../../templates/slack.json.tera")),
    ("teams.json", include_str!("../../templates/teams.json.tera")),
    ("teams_message_card.json", include_str!("../../templates/teams_message_card.json.tera")),
    ("splunk_hec.json", include_str!("../../templates/splunk_hec.json.tera")),
    ("generic.json", include_str!("../../templates/generic.json.tera")),
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

/// What a template sees.
#[derive(Debug, Serialize)]
pub struct RenderContext<'a> {
    /// The alert being rendered.
    pub alert: &'a Alert,
    /// The destination it is rendered for.
    pub destination: DestinationView<'a>,
    /// `true` for test notifications, so templates can label them.
    pub test: bool,
    /// The relay's name and version, for footers.
    pub relay: RelayView,
}

/// The part of a destination templates may show (never its secrets).
#[derive(Debug, Serialize)]
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
        let mut sources: Vec<(String, String)> =
            BUILT_IN.iter().map(|(name, source)| ((*name).to_owned(), (*source).to_owned())).collect();
        if let Some(dir) = dir {
            for (name, source) in read_dir(dir)? {
                sources.retain(|(existing, _)| existing != &name);
                sources.push((name, source));
            }
        }
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".json"]);
        tera.set_escape_fn(filters::escape_json);
        tera.register_filter("mrkdwn", filters::Mrkdwn);
        tera.register_filter("json", filters::Json);
        tera.register_filter("text", filters::Text);
        // Parse one by one so a parse error names its template.
        for (name, source) in &sources {
            tera.add_raw_template(name, source)
                .map_err(|error| RenderError::Parse { name: name.clone(), detail: error_chain(&error) })?;
        }
        Ok(Self { tera })
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

    /// Renders `name` and parses the output as JSON.
    pub fn render_json(&self, name: &str, context: &RenderContext<'_>) -> Result<Value, RenderError> {
        if !self.has(name) {
            return Err(RenderError::Unknown(name.to_owned()));
        }
        let context = tera::Context::from_serialize(context)
            .map_err(|error| RenderError::Render { name: name.to_owned(), detail: error_chain(&error) })?;
        let output = self
            .tera
            .render(name, &context)
            .map_err(|error| RenderError::Render { name: name.to_owned(), detail: error_chain(&error) })?;
        serde_json::from_str(&output).map_err(|error| RenderError::InvalidJson {
            name: name.to_owned(),
            line: error.line(),
            column: error.column(),
            reason: error.to_string(),
        })
    }
}

fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, RenderError> {
    let io_error = |source| RenderError::Directory { path: dir.to_owned(), source };
    let mut templates = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        let Some(name) = path.file_name().and_then(|name| name.to_str()).and_then(|name| name.strip_suffix(TEMPLATE_EXTENSION))
        else {
            continue;
        };
        let source = std::fs::read_to_string(&path).map_err(|source| RenderError::Directory { path: path.clone(), source })?;
        templates.push((name.to_owned(), source));
    }
    templates.sort();
    Ok(templates)
}

/// Tera puts the useful part (line, column, variable name) in the error's sources.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
