//! Render throughput per channel: one alert through the channel's default
//! template, limits and serialization — the work done once per alert × destination
//! at enqueue time. Target: at least 50,000 renders/s on one core per template.
//!
//! Run: `cargo bench --bench render`

use std::hint::black_box;

/// The allocator the `flockrelay` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flockrelay::alert::Alert;
use flockrelay::destination::Destination;
use flockrelay::flock::Scope;
use flockrelay::notify::by_kind;
use flockrelay::notify::generic::config::GenericSettings;
use flockrelay::notify::slack::config::SlackSettings;
use flockrelay::notify::splunk_hec::config::SplunkHecSettings;
use flockrelay::notify::teams::config::{TeamsFormat, TeamsSettings};
use flockrelay::notify::Channel;
use flockrelay::render::Renderer;
use flockrelay::secret::Secret;

fn destinations() -> Vec<(&'static str, Destination)> {
    let url = |text: &str| text.parse().expect("valid URL");
    let destination = |channel| Destination::new("bench", Scope::Global, channel);
    vec![
        (
            "slack",
            destination(Channel::Slack(SlackSettings {
                url: url("https://hooks.slack.com/services/T/B/X"),
                channel: None,
                team: None,
                configuration_url: None,
            })),
        ),
        (
            "teams_adaptive_card",
            destination(Channel::MsTeams(TeamsSettings {
                url: url("https://teams.example/x"),
                format: TeamsFormat::AdaptiveCard,
            })),
        ),
        (
            "teams_message_card",
            destination(Channel::MsTeams(TeamsSettings {
                url: url("https://teams.example/x"),
                format: TeamsFormat::MessageCard,
            })),
        ),
        (
            "splunk_hec",
            destination(Channel::SplunkHec(SplunkHecSettings::new("splunk.example", 8088, Secret::new("token")))),
        ),
        (
            "generic",
            destination(Channel::Generic(GenericSettings {
                url: url("https://hooks.example/x"),
                headers: Default::default(),
                auth: None,
                signing: None,
                permanent_statuses: Vec::new(),
            })),
        ),
    ]
}

fn canary_alert() -> Alert {
    let bytes =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/canary-incident.json")).expect("fixture");
    Alert::from_slice(&bytes, Utc::now()).expect("valid alert")
}

fn render(c: &mut Criterion) {
    let renderer = Renderer::built_in().expect("templates parse");
    let alert = canary_alert();
    // Per destination: what enqueueing does for each destination of an alert whose
    // template context is already prepared.
    let mut group = c.benchmark_group("render");
    group.throughput(Throughput::Elements(1));
    let mut context = renderer.prepare(&alert, false).expect("prepares");
    for (name, destination) in destinations() {
        let notifier = by_kind(destination.channel.kind());
        group.bench_function(name, |b| {
            b.iter(|| {
                notifier
                    .render_prepared(black_box(&destination), black_box(&alert), &mut context, &renderer)
                    .expect("renders")
            })
        });
    }
    group.finish();
    // Per alert: preparing the template context, done once whatever the number of destinations.
    let mut group = c.benchmark_group("prepare");
    group.throughput(Throughput::Elements(1));
    group.bench_function("canary_incident", |b| {
        b.iter(|| renderer.prepare(black_box(&alert), false).expect("prepares"))
    });
    group.finish();
    // One alert, one destination, from scratch (prepare + render).
    let mut group = c.benchmark_group("render_from_scratch");
    group.throughput(Throughput::Elements(1));
    for (name, destination) in destinations() {
        let notifier = by_kind(destination.channel.kind());
        group.bench_function(name, |b| {
            b.iter(|| notifier.render(black_box(&destination), black_box(&alert), &renderer, false).expect("renders"))
        });
    }
    group.finish();
}

fn parse(c: &mut Criterion) {
    let bytes =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/canary-incident.json")).expect("fixture");
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    group.bench_function("canary_incident", |b| {
        b.iter(|| Alert::from_slice(black_box(&bytes), Utc::now()).expect("parses"))
    });
    group.finish();
}

criterion_group!(benches, render, parse);
criterion_main!(benches);
