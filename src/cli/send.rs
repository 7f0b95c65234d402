//! `flockrelay send`: deliver one alert now, through the same resolver the server
//! uses, without a server or an outbox.

use std::sync::Arc;

use anyhow::{bail, Context as _};
use chrono::Utc;

use super::{read_input, test::print_reports};
use crate::alert::Alert;
use crate::config::Config;
use crate::direct::send_now;
use crate::notify::http::HttpSender;
use crate::notify::policy::AddressPolicy;
use crate::origin::AlertOrigin;
use crate::render::Renderer;
use crate::routing::resolve;

pub async fn run(config: &Config, renderer: &Renderer, flock: Option<&str>, source: &str) -> anyhow::Result<i32> {
    let mut alert = Alert::from_slice(&read_input(source)?, Utc::now()).context("invalid alert")?;
    // The CLI's own id space: receivers never see an API or webhook alert's id.
    alert.id = AlertOrigin::Cli.alert_id(&alert.id);
    if let Some(flock) = flock {
        alert.flock_id = flock.to_owned();
    }
    let Some(settings) = config.flock_settings(&alert.flock_id) else {
        bail!("unknown flock `{}`: declare it under [flocks.\"{}\"]", alert.flock_id, alert.flock_id);
    };
    let all = config.destinations();
    let destinations: Vec<_> = resolve(&alert, &settings, config.global.enabled, &all).into_iter().cloned().collect();
    if destinations.is_empty() {
        eprintln!(
            "alert {} of {} resolves to no destination (webhooks off, or no enabled destination matches kind `{}`)",
            alert.id, alert.flock_id, alert.kind
        );
        return Ok(1);
    }
    let policy = AddressPolicy::new(&config.delivery.allowed_cidrs, &config.delivery.denied_cidrs)
        .map_err(anyhow::Error::msg)?;
    let sender = Arc::new(
        HttpSender::with_policy(config.delivery.timeout.0, policy)
            .with_max_retry_after(config.delivery.max_retry_after.0),
    );
    let reports = send_now(destinations, &alert, renderer, sender, false).await;
    Ok(print_reports(&reports))
}
