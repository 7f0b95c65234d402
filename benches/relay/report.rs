//! What the bench prints at the end: every figure as a Markdown table, the
//! relays' figures as ratios to the single loopback hop of the same run, and
//! as ratios to Alertmanager's.

use crate::Bench;

/// Every figure, as a Markdown table.
pub fn summary(bench: &Bench) {
    println!("\n| system | scenario | figure | value |\n|---|---|---|---|");
    for figure in &bench.figures {
        println!(
            "| {} | {} | {} | {:.1} {} |",
            figure.system, figure.scenario, figure.metric, figure.value, figure.unit
        );
    }
}

/// Every system's throughput and latency as a ratio to the single loopback
/// hop of the same run (the mean of its two runs).
pub fn hop_ratios(bench: &Bench) {
    let metrics = [
        ("throughput", "ingest: alerts acknowledged/s", "higher is better"),
        ("throughput", "end to end: alerts delivered/s", "higher is better"),
        ("latency", "ingest answer p50", "lower is better"),
        ("latency", "ingest answer p99", "lower is better"),
        ("latency", "POST to sink p50", "lower is better"),
        ("latency", "POST to sink p99", "lower is better"),
        ("latency", "POST to sink p99.9", "lower is better"),
    ];
    let mut systems: Vec<String> = bench.options.backends.iter().map(|backend| backend.name().to_owned()).collect();
    systems.push("alertmanager".to_owned());
    let mut printed = false;
    for system in &systems {
        for (scenario, metric, better) in metrics {
            // The hop's acknowledgement is the sink's own answer: its ingest rate is
            // its end-to-end rate, and its answer times are POST-to-sink times.
            let hop_metric = match metric {
                "ingest: alerts acknowledged/s" => "end to end: alerts delivered/s",
                "ingest answer p50" => "POST to sink p50",
                "ingest answer p99" => "POST to sink p99",
                other => other,
            };
            let (Some(ours), Some(hop)) =
                (bench.find(system, scenario, metric), bench.mean("hop", scenario, hop_metric))
            else {
                continue;
            };
            if !printed {
                println!("\nratio to one loopback hop (same run; hop = mean of the runs before and after)");
                printed = true;
            }
            println!("  {system:<12} {metric:<42} {:>8.2}x  ({better})", ours / hop);
        }
        // CPU at the steady rate, in loopback exchanges: the relay serves one
        // exchange and makes another per alert, so 2x is the floor.
        let (Some(ours), Some(hop)) = (
            bench.find(system, "latency", "CPU per alert: system under test"),
            bench.mean("hop", "latency", "CPU per alert: bench (clients + sink)"),
        ) else {
            continue;
        };
        println!("  {system:<12} {:<42} {:>8.2}x  (lower is better)", "CPU per alert at the steady rate", ours / hop);
        // The same, in the relay's own cheapest answer at that rate.
        if let Some(healthz) = bench.find(system, "latency", "CPU per GET /healthz at the same rate") {
            println!(
                "  {system:<12} {:<42} {:>8.2}x  (relay's own GET /healthz)",
                "CPU per alert at the steady rate",
                ours / healthz
            );
        }
    }
}

/// Ratios of our figures to Alertmanager's.
pub fn comparison(bench: &Bench) {
    let metrics = [
        ("throughput", "ingest: alerts acknowledged/s", "higher is better"),
        ("throughput", "end to end: alerts delivered/s", "higher is better"),
        ("latency", "POST to sink p50", "lower is better"),
        ("latency", "POST to sink p99", "lower is better"),
    ];
    let systems: Vec<String> = bench.options.backends.iter().map(|backend| backend.name().to_owned()).collect();
    let mut printed = false;
    for system in &systems {
        for (scenario, metric, better) in metrics {
            let (Some(ours), Some(theirs)) =
                (bench.find(system, scenario, metric), bench.find("alertmanager", scenario, metric))
            else {
                continue;
            };
            if !printed {
                println!("\nflockrelay / Alertmanager");
                printed = true;
            }
            println!("  {system:<12} {metric:<42} {:>8.2}x  ({better})", ours / theirs);
        }
    }
}
