//! `flockrelay render`: the exact request a destination would receive for an
//! alert — method, URL, headers (the sender's own list), body — with every
//! secret masked; `--pretty` indents the body for reading.

use anyhow::Context as _;
use chrono::Utc;

use super::read_input;
use crate::alert::Alert;
use crate::config::Config;
use crate::direct::{preview, BodyLayout};
use crate::origin::AlertOrigin;
use crate::render::Renderer;

pub fn run(config: &Config, renderer: &Renderer, name: &str, alert: Option<&str>, pretty: bool) -> anyhow::Result<i32> {
    let destinations = config.destinations();
    let destination = destinations.iter().find(|destination| destination.name == name).cloned().ok_or_else(|| {
        super::unknown_destination(name, destinations.iter().map(|d| d.name.as_str()), "in the configuration")
    })?;
    let now = Utc::now();
    let (alert, test) = match alert {
        Some(source) => {
            let mut alert = Alert::from_slice(&read_input(source)?, now).context("invalid alert")?;
            // As `flockrelay send` would send it: in the CLI's own id space.
            alert.id = AlertOrigin::Cli.alert_id(&alert.id);
            (alert, false)
        }
        None => (Alert::test_alert("flock:default", now), true),
    };
    let layout = if pretty { BodyLayout::Pretty } else { BodyLayout::AsSent };
    print!("{}", preview(&destination, &alert, renderer, test, now, layout)?);
    Ok(0)
}
