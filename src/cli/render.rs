//! `flockrelay render`: the exact request a destination would receive for an
//! alert — method, URL, headers, body — with every secret masked.

use anyhow::Context as _;
use chrono::Utc;

use super::read_input;
use crate::alert::Alert;
use crate::config::Config;
use crate::notify::{by_kind, AttemptContext};
use crate::render::Renderer;

pub fn run(config: &Config, renderer: &Renderer, name: &str, alert: Option<&str>) -> anyhow::Result<i32> {
    let destinations = config.destinations();
    let destination = destinations.iter().find(|destination| destination.name == name).cloned().ok_or_else(|| {
        super::unknown_destination(name, destinations.iter().map(|d| d.name.as_str()), "in the configuration")
    })?;
    let now = Utc::now();
    let (alert, test) = match alert {
        Some(source) => (Alert::from_slice(&read_input(source)?, now).context("invalid alert")?, false),
        None => (Alert::test_alert("flock:default", now), true),
    };
    let notifier = by_kind(destination.channel.kind());
    let payload = notifier.render(&destination, &alert, renderer, test)?;
    let message_id = format!("msg_{}", uuid::Uuid::now_v7().simple());
    let request = notifier.request(&destination, &[&payload], &AttemptContext { message_id: &message_id, now })?;
    print!("{}", request.to_masked_string());
    Ok(0)
}
