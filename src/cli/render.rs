//! `flockrelay render`: the exact request a destination would receive for an
//! alert — method, URL, headers, body — with every secret masked.

use anyhow::Context as _;
use chrono::Utc;

use super::read_input;
use crate::alert::Alert;
use crate::config::Config;
use crate::direct::preview;
use crate::render::Renderer;

pub fn run(config: &Config, renderer: &Renderer, name: &str, alert: Option<&str>) -> anyhow::Result<i32> {
    let destination = config
        .destinations()
        .into_iter()
        .find(|destination| destination.name == name)
        .with_context(|| format!("no destination named `{name}` in the configuration"))?;
    let now = Utc::now();
    let (alert, test) = match alert {
        Some(source) => (Alert::from_slice(&read_input(source)?, now).context("invalid alert")?, false),
        None => (Alert::test_alert("flock:default", now), true),
    };
    print!("{}", preview(&destination, &alert, renderer, test, now)?);
    Ok(0)
}
