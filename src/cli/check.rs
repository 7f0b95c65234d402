//! `flockrelay check`: configuration and templates, validated without sending
//! anything. Every destination is rendered with a test alert and a Canary
//! incident so template mistakes show up now rather than at 3 a.m. A destination
//! the address policy will always refuse (an IP literal or `localhost` it does
//! not allow) is a problem too.

use std::path::Path;

use chrono::Utc;
use serde_json::json;

use crate::alert::Alert;
use crate::config::reachability::unreachable_destinations;
use crate::config::{self, validate::Problem, Config};
use crate::ingest::inbound::mapping::Mapper;
use crate::notify::by_kind;
use crate::render::{RenderError, Renderer};

/// Exit code of a command whose configuration is invalid (README's table).
pub const INVALID: i32 = 1;

/// Why a configuration is refused: what `check` prints, naming every key.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("templates: {0}")]
    Templates(#[source] RenderError),
    #[error("invalid configuration:\n{}", .0.iter().map(|problem| format!("  - {problem}")).collect::<Vec<_>>().join("\n"))]
    Problems(Vec<Problem>),
}

/// The configuration and its templates, exactly as `check` accepts them (every
/// destination rendered with sample alerts): what `serve` starts from, and what
/// a reload (SIGHUP) must pass.
pub fn validated(path: Option<&Path>) -> Result<(Config, Renderer), Refused> {
    let (config, renderer) = loaded(path)?;
    let problems = template_problems(&config, &renderer);
    if !problems.is_empty() {
        return Err(Refused::Problems(problems));
    }
    Ok((config, renderer))
}

/// The configuration and the parsed templates, without rendering every
/// destination: enough for the commands that inspect or send one thing.
pub fn loaded(path: Option<&Path>) -> Result<(Config, Renderer), Refused> {
    let config = config::load(path)?;
    let renderer = Renderer::new(config.templates.dir.as_deref()).map_err(Refused::Templates)?;
    Ok((config, renderer))
}

/// Prints what is wrong (or a summary) and returns the exit code.
pub fn run(path: Option<&Path>) -> i32 {
    let (config, renderer) = match validated(path) {
        Ok(valid) => valid,
        Err(refused) => {
            eprintln!("{refused}");
            return INVALID;
        }
    };
    // Destinations the address policy will always refuse: `serve` only warns
    // (an upgraded relay still starts), `check` says they are wrong.
    let unreachable = unreachable_destinations(&config);
    if !unreachable.is_empty() {
        eprintln!("{}", Refused::Problems(unreachable));
        return INVALID;
    }
    let destinations = config.destinations();
    let enabled = destinations.iter().filter(|destination| destination.enabled).count();
    println!(
        "configuration OK: {} flocks, {} destinations ({enabled} enabled), {} sources, {} templates",
        config.flocks.len(),
        destinations.len(),
        config.sources.len(),
        renderer.names().len()
    );
    0
}

/// Renders every destination with sample alerts, and checks that every source's
/// mapping template exists; each failure names the key.
pub fn template_problems(config: &Config, renderer: &Renderer) -> Vec<Problem> {
    let mut problems = destination_template_problems(config, renderer);
    match Mapper::new(config.templates.dir.as_deref()) {
        Ok(mapper) => problems.extend(source_template_problems(config, &mapper)),
        Err(error) => problems.push(Problem { key: "templates.dir".into(), reason: error.to_string() }),
    }
    problems
}

/// Every source's mapping template must exist (built in or in `<templates.dir>/sources/`).
pub fn source_template_problems(config: &Config, mapper: &Mapper) -> Vec<Problem> {
    config
        .sources()
        .iter()
        .filter(|source| !mapper.has(source.template_name()))
        .map(|source| Problem {
            key: format!("sources.{}.template", source.id),
            reason: format!(
                "no mapping template named `{}` (known: {})",
                source.template_name(),
                mapper.names().join(", ")
            ),
        })
        .collect()
}

fn destination_template_problems(config: &Config, renderer: &Renderer) -> Vec<Problem> {
    let now = Utc::now();
    let mut samples = vec![Alert::test_alert("flock:default", now)];
    let canary = json!({
        "Description": "Port Scan", "Intro": "A port scan was detected on <Canary> & friends.",
        "IncidentHash": "check", "Timestamp": "2021-05-06 10:14:39 (UTC)", "SourceIP": "192.0.2.1",
        "CanaryName": "check-canary", "CanaryIP": "10.0.0.1", "CanaryPort": 22, "CanaryID": "000",
        "AdditionalDetails": [["Ports", "22, 80"]]
    });
    samples.extend(Alert::from_value(canary, now));
    let mut problems = Vec::new();
    for destination in config.destinations() {
        let key = format!("destinations.{}.template", destination.name);
        if let Some(template) = &destination.template {
            if !renderer.has(template) {
                problems.push(Problem {
                    key,
                    reason: format!("no template named `{template}` (known: {})", renderer.names().join(", ")),
                });
                continue;
            }
        }
        let notifier = by_kind(destination.channel.kind());
        for sample in &samples {
            if let Err(error) = notifier.render(&destination, sample, renderer, false) {
                problems.push(Problem { key: key.clone(), reason: error.to_string() });
                break;
            }
        }
    }
    problems
}
