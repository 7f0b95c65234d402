//! `flockrelay test`: a test notification through every resolved destination now
//! (or, with `--health`, a health check that sends nothing), one line per
//! destination; non-zero exit if any did not deliver.

use std::sync::Arc;

use anyhow::bail;
use chrono::Utc;

use crate::alert::Alert;
use crate::config::Config;
use crate::destination::Destination;
use crate::direct::{check_now, send_now, Report};
use crate::flock::{Scope, DEFAULT_FLOCK, GLOBAL};
use crate::notify::http::HttpSender;
use crate::notify::policy::AddressPolicy;
use crate::render::Renderer;
use crate::routing::resolve_all;

pub async fn run(
    config: &Config,
    renderer: &Renderer,
    flock: Option<&str>,
    name: Option<&str>,
    health: bool,
) -> anyhow::Result<i32> {
    let all = config.destinations();
    let selected: Vec<Destination> = match (flock, name) {
        (_, Some(name)) => match all.iter().find(|destination| destination.name == name) {
            Some(destination) => vec![destination.clone()],
            None => {
                let known = all.iter().map(|destination| destination.name.as_str());
                return Err(super::unknown_destination(name, known, "in the configuration"));
            }
        },
        (Some(GLOBAL), None) => all
            .iter()
            .filter(|destination| destination.enabled && destination.scope == Scope::Global)
            .cloned()
            .collect(),
        (Some(flock_id), None) => {
            let Some(settings) = config.flock_settings(flock_id) else {
                bail!("unknown flock `{flock_id}`: declare it under [flocks.\"{flock_id}\"]");
            };
            resolve_all(flock_id, &settings, config.global.enabled, &all).into_iter().cloned().collect()
        }
        (None, None) => all.iter().filter(|destination| destination.enabled).cloned().collect(),
    };
    if selected.is_empty() {
        eprintln!(
            "nothing to test: no enabled destination is resolved{}",
            flock.map(|id| format!(" for {id}")).unwrap_or_default()
        );
        return Ok(1);
    }
    let flock_id = match (flock, selected.first().map(|destination| &destination.scope)) {
        (Some(id), _) if id != GLOBAL => id.to_owned(),
        (_, Some(Scope::Flock(id))) => id.clone(),
        _ => DEFAULT_FLOCK.to_owned(),
    };
    let alert = Alert::test_alert(&flock_id, Utc::now());
    let policy = AddressPolicy::new(&config.delivery.allowed_cidrs, &config.delivery.denied_cidrs)
        .map_err(anyhow::Error::msg)?;
    let sender = Arc::new(
        HttpSender::with_policy(config.delivery.timeout.0, policy)
            .with_max_retry_after(config.delivery.max_retry_after.0),
    );
    let reports = if health {
        check_now(selected, sender).await
    } else {
        send_now(selected, &alert, renderer, sender, true).await
    };
    Ok(print_reports(&reports))
}

/// Prints one line per report; the exit code is 1 if any did not deliver.
pub fn print_reports(reports: &[Report]) -> i32 {
    let width = reports.iter().map(|report| report.destination.len()).max().unwrap_or(0);
    for report in reports {
        println!("{}", report.line(width));
    }
    let failed = reports.iter().filter(|report| !report.delivered()).count();
    if failed == 0 {
        0
    } else {
        eprintln!("{failed} of {} destinations did not deliver", reports.len());
        1
    }
}
