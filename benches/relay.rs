//! Relay throughput, latency and memory (issue 3): the release `flockrelay`
//! binary as a child process, on SQLite and on PostgreSQL, delivering to a
//! loopback sink in this process; and Prometheus Alertmanager put through the
//! same load, for comparison.
//!
//! Scenarios (each on a freshly started relay with an empty store):
//! - `throughput` — N alerts, one per POST, from C concurrent clients, one
//!   destination: acknowledged alerts/s (ingest) and delivered alerts/s from the
//!   first POST until the sink has every alert (end to end).
//! - `latency` — alerts at a steady rate (default 1,000/s) for D seconds: p50/p99
//!   from just before each POST to its arrival at the sink; then `GET /healthz`
//!   at the same rate (at most 10 s), what the relay's cheapest answer costs it
//!   at that rate, the floor its CPU per alert is also given as a multiple of.
//! - `backlog` — fills the queue of a destination whose port refuses connections
//!   (default 1,000,000 messages, posted like ordinary traffic: one alert per
//!   POST from C clients; `--fill-batch` posts arrays instead), reports the fill
//!   rate and RSS per tenth (does ingest slow, does memory grow, as the table
//!   grows?), then runs `throughput` for the live destination beside that
//!   queue; reports the relay's peak RSS.
//! - `alertmanager` — `throughput` and `latency` against Alertmanager's
//!   `/api/v2/alerts` with a webhook receiver and no grouping.
//! - `hop` — the yardstick, run whenever `throughput` or `latency` is: the same
//!   load straight to the sink, one loopback HTTP hop, before the relays and
//!   again after them. Every relay throughput and latency figure is also
//!   printed as a ratio to the mean of the two hop runs of the same process, so
//!   that figures taken on different machines or under different load compare.
//!
//! Run: `cargo bench --bench relay` (everything, several minutes), or e.g.
//! `cargo bench --bench relay -- --quick`, `-- --scenarios latency --backends sqlite`.
//! `-- --help` lists every option. PostgreSQL runs need an admin URL
//! (`--pg-url`, or `FLOCKRELAY_BENCH_PG_URL` / `FLOCKRELAY_TEST_PG_URL`); each
//! relay gets a new database there, dropped afterwards.

#[path = "relay/load.rs"]
mod load;
#[path = "relay/report.rs"]
mod report;
#[path = "relay/sink.rs"]
mod sink;
#[path = "relay/target.rs"]
mod target;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use load::{closed_loop, open_loop, open_loop_get, Percentiles, SendTimes};
use sink::Sink;
use target::{postgres_cpu_seconds, process_figures, Backend, Kind, Target};

const HELP: &str = "\
cargo bench --bench relay -- [OPTIONS]

  --quick               small sizes: 5,000 alerts, 5 s latency run, 100,000 backlog
  --scenarios LIST      throughput,latency,backlog,alertmanager   [all]
                        (the single hop runs with throughput and latency)
  --backends LIST       sqlite,postgres                            [both; postgres needs a URL]
  --alerts N            alerts per throughput run                  [50000]
  --clients N           concurrent HTTP clients                    [32]
  --batch N             alerts per POST in throughput runs         [1]
  --rate N              alerts/s in the latency run                [1000]
  --duration SECONDS    length of the latency run                  [30]
  --backlog N           messages queued for the dead destination   [1000000]
  --fill-batch N        alerts per POST while filling the backlog  [1: ordinary traffic]
  --fill-clients N      concurrent clients while filling            [--clients]
  --pg-url URL          PostgreSQL admin URL [$FLOCKRELAY_BENCH_PG_URL, $FLOCKRELAY_TEST_PG_URL]
  --alertmanager PATH   Alertmanager binary [prometheus-alertmanager or alertmanager on PATH]
  --set KEY=VALUE       extra relay setting, e.g. --set FLOCKRELAY_DELIVERY__CONCURRENCY=32
  --sqlite-query QUERY  appended to the relay's sqlite:// URL, e.g. synchronous=normal
  --relay-binary PATH   run this flockrelay binary instead of the one Cargo built (A/B runs)
  --progress            print deliveries per second while a throughput run goes on
";

/// The bench's options, from the command line.
#[derive(Debug)]
struct Options {
    scenarios: Vec<String>,
    backends: Vec<Backend>,
    alerts: usize,
    clients: usize,
    batch: usize,
    rate: f64,
    duration: f64,
    backlog: usize,
    fill_batch: usize,
    fill_clients: Option<usize>,
    alertmanager: Option<PathBuf>,
    overrides: Vec<(String, String)>,
    sqlite_query: Option<String>,
    relay_binary: PathBuf,
    progress: bool,
}

fn parse_options() -> Result<Options, String> {
    let args: Vec<String> = std::env::args().skip(1).filter(|arg| arg != "--bench").collect();
    if args.iter().any(|arg| arg == "--help" || arg == "-h") {
        print!("{HELP}");
        std::process::exit(0);
    }
    let quick = args.iter().any(|arg| arg == "--quick");
    let mut options = Options {
        scenarios: ["throughput", "latency", "backlog", "alertmanager"].map(str::to_owned).to_vec(),
        backends: Vec::new(),
        alerts: if quick { 5_000 } else { 50_000 },
        clients: 32,
        batch: 1,
        rate: 1_000.0,
        duration: if quick { 5.0 } else { 30.0 },
        backlog: if quick { 100_000 } else { 1_000_000 },
        fill_batch: 1,
        fill_clients: None,
        alertmanager: None,
        overrides: Vec::new(),
        sqlite_query: None,
        relay_binary: PathBuf::from(env!("CARGO_BIN_EXE_flockrelay")),
        progress: args.iter().any(|arg| arg == "--progress"),
    };
    let mut backends = vec!["sqlite".to_owned(), "postgres".to_owned()];
    let mut pg_url = std::env::var("FLOCKRELAY_BENCH_PG_URL").or_else(|_| std::env::var("FLOCKRELAY_TEST_PG_URL")).ok();
    let mut args = args.into_iter().filter(|arg| arg != "--quick" && arg != "--progress");
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |text: String| text.replace('_', "").parse::<f64>().map_err(|error| format!("{flag}: {error}"));
        match flag.as_str() {
            "--scenarios" => options.scenarios = value()?.split(',').map(str::to_owned).collect(),
            "--backends" => backends = value()?.split(',').map(str::to_owned).collect(),
            "--alerts" => options.alerts = number(value()?)? as usize,
            "--clients" => options.clients = number(value()?)? as usize,
            "--batch" => options.batch = number(value()?)? as usize,
            "--rate" => options.rate = number(value()?)?,
            "--duration" => options.duration = number(value()?)?,
            "--backlog" => options.backlog = number(value()?)? as usize,
            "--fill-batch" => options.fill_batch = number(value()?)? as usize,
            "--fill-clients" => options.fill_clients = Some(number(value()?)? as usize),
            "--pg-url" => pg_url = Some(value()?),
            "--alertmanager" => options.alertmanager = Some(PathBuf::from(value()?)),
            "--sqlite-query" => options.sqlite_query = Some(value()?),
            "--relay-binary" => options.relay_binary = PathBuf::from(value()?),
            "--set" => {
                let setting = value()?;
                let (key, value) = setting.split_once('=').ok_or("--set takes KEY=VALUE")?;
                options.overrides.push((key.to_owned(), value.to_owned()));
            }
            other => return Err(format!("unknown option {other}\n\n{HELP}")),
        }
    }
    for backend in backends {
        match (backend.as_str(), &pg_url) {
            ("sqlite", _) => options.backends.push(Backend::Sqlite),
            ("postgres", Some(url)) => options.backends.push(Backend::Postgres(url.clone())),
            ("postgres", None) => {
                eprintln!("SKIPPED postgres: no --pg-url, FLOCKRELAY_BENCH_PG_URL or FLOCKRELAY_TEST_PG_URL")
            }
            (other, _) => return Err(format!("unknown backend {other}")),
        }
    }
    if options.alertmanager.is_none() && options.scenarios.iter().any(|scenario| scenario == "alertmanager") {
        options.alertmanager = ["prometheus-alertmanager", "alertmanager"].iter().find_map(|name| which(name));
        if options.alertmanager.is_none() {
            eprintln!("SKIPPED alertmanager: no prometheus-alertmanager or alertmanager on PATH (apt-get install prometheus-alertmanager)");
        }
    }
    Ok(options)
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(name)).find(|path| path.is_file())
}

/// One reported figure.
#[derive(Debug, Clone)]
struct Figure {
    system: String,
    scenario: &'static str,
    metric: String,
    value: f64,
    unit: &'static str,
}

/// Everything a scenario needs.
struct Bench {
    options: Options,
    epoch: Instant,
    sink: Sink,
    client: reqwest::Client,
    figures: Vec<Figure>,
    /// Distinguishes the runs of this process at the sink.
    runs: usize,
}

impl Bench {
    fn record(&mut self, system: &str, scenario: &'static str, metric: &str, value: f64, unit: &'static str) {
        println!("  {system:<12} {scenario:<10} {metric:<42} {value:>12.1} {unit}");
        self.figures.push(Figure { system: system.to_owned(), scenario, metric: metric.to_owned(), value, unit });
    }

    fn find(&self, system: &str, scenario: &str, metric: &str) -> Option<f64> {
        self.figures
            .iter()
            .find(|figure| figure.system == system && figure.scenario == scenario && figure.metric == metric)
            .map(|figure| figure.value)
    }

    /// The mean of every figure recorded under these names (the hop runs twice).
    fn mean(&self, system: &str, scenario: &str, metric: &str) -> Option<f64> {
        let values: Vec<f64> = self
            .figures
            .iter()
            .filter(|figure| figure.system == system && figure.scenario == scenario && figure.metric == metric)
            .map(|figure| figure.value)
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    }

    fn prefix(&mut self, name: &str) -> String {
        self.runs += 1;
        format!("{name}{}", self.runs)
    }

    fn record_process(&mut self, target: &Target, scenario: &'static str) {
        if let Some(pid) = target.pid() {
            let figures = process_figures(pid);
            self.record(&target.label, scenario, "peak RSS", figures.peak_rss as f64 / 1_048_576.0, "MiB");
            self.record(&target.label, scenario, "CPU time (user + system)", figures.cpu_seconds, "s");
        }
    }

    /// Closed-loop ingest of `alerts` alerts to the live destination; returns
    /// (ingest alerts/s, end-to-end delivered/s).
    async fn throughput(&mut self, target: &Arc<Target>, scenario: &'static str) -> (f64, f64) {
        let count = self.options.alerts;
        let prefix = self.prefix("t");
        let run = self.sink.begin(&prefix, count);
        let cpu_before = Cpu::now(target);
        let progress = self.options.progress.then(|| {
            let run = Arc::clone(&run);
            tokio::spawn(async move {
                let (mut last, started) = (0, Instant::now());
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let received = run.received();
                    eprintln!(
                        "  {:>4.0} s: {received} delivered, {}/s",
                        started.elapsed().as_secs_f64(),
                        received - last
                    );
                    last = received;
                }
            })
        });
        let load =
            closed_loop(target, &self.client, &prefix, 0, count, self.options.clients, self.options.batch, false, None)
                .await;
        let complete = self.sink.wait_all(&run, Duration::from_secs(30)).await;
        if let Some(progress) = progress {
            progress.abort();
        }
        let cpu = Cpu::now(target).since(&cpu_before);
        let received = run.received();
        let e2e =
            run.last_arrival(self.epoch).map_or(0.0, |last| received as f64 / (last - load.started).as_secs_f64());
        let label = target.label.clone();
        self.record(&label, scenario, "ingest: alerts acknowledged/s", load.rate(), "/s");
        self.record(&label, scenario, "end to end: alerts delivered/s", e2e, "/s");
        let per_alert = |seconds: f64| seconds * 1e6 / count.max(1) as f64;
        if target.kind != Kind::Hop {
            self.record(&label, scenario, "CPU per alert: system under test", per_alert(cpu.target), "us");
        }
        if cpu.postgres > 0.0 {
            self.record(&label, scenario, "CPU per alert: PostgreSQL server", per_alert(cpu.postgres), "us");
        }
        self.record(&label, scenario, "CPU per alert: bench (clients + sink)", per_alert(cpu.bench), "us");
        if let Some((relay, auto)) = target.vacuums().await {
            self.record(&label, scenario, "VACUUMs of messages by the relay", relay as f64, "");
            self.record(&label, scenario, "VACUUMs of messages by autovacuum", auto as f64, "");
        }
        if load.refused > 0 || !complete || run.duplicates() > 0 {
            self.record(&label, scenario, "alerts refused at ingest", load.refused as f64, "");
            self.record(&label, scenario, "alerts never delivered", (count - received) as f64, "");
            self.record(&label, scenario, "duplicate deliveries", run.duplicates() as f64, "");
        }
        (load.rate(), e2e)
    }

    /// Open-loop posts at the configured rate; records latency percentiles.
    async fn latency(&mut self, target: &Arc<Target>) {
        let rate = self.options.rate;
        // One second of warm-up (connections, caches), not measured.
        let warm = self.prefix("w");
        let warm_count = rate as usize;
        self.sink.begin(&warm, warm_count);
        let _ = open_loop(target, &self.client, &warm, warm_count, rate, &SendTimes::new(warm_count), self.epoch).await;
        let count = (rate * self.options.duration) as usize;
        let prefix = self.prefix("l");
        let run = self.sink.begin(&prefix, count);
        let sent = SendTimes::new(count);
        let cpu_before = Cpu::now(target);
        let (load, answers) = open_loop(target, &self.client, &prefix, count, rate, &sent, self.epoch).await;
        let complete = self.sink.wait_all(&run, Duration::from_secs(30)).await;
        let cpu = Cpu::now(target).since(&cpu_before);
        let latencies: Vec<Duration> = (0..count)
            .filter_map(|index| Some(run.arrival(self.epoch, index)? - sent.get(self.epoch, index)?))
            .collect();
        let label = target.label.clone();
        self.record(&label, "latency", "offered rate", load.accepted as f64 / load.elapsed().as_secs_f64(), "/s");
        if let Some(answers) = Percentiles::of(answers) {
            self.record(&label, "latency", "ingest answer p50", millis(answers.p50), "ms");
            self.record(&label, "latency", "ingest answer p99", millis(answers.p99), "ms");
        }
        if let Some(latency) = Percentiles::of(latencies) {
            self.record(&label, "latency", "POST to sink p50", millis(latency.p50), "ms");
            self.record(&label, "latency", "POST to sink p90", millis(latency.p90), "ms");
            self.record(&label, "latency", "POST to sink p99", millis(latency.p99), "ms");
            self.record(&label, "latency", "POST to sink p99.9", millis(latency.p999), "ms");
            self.record(&label, "latency", "POST to sink max", millis(latency.max), "ms");
        }
        // At a steady rate, what each alert costs the relay (and PostgreSQL).
        let per_alert = |seconds: f64| seconds * 1e6 / count.max(1) as f64;
        if target.kind != Kind::Hop {
            self.record(&label, "latency", "CPU per alert: system under test", per_alert(cpu.target), "us");
        }
        if cpu.postgres > 0.0 {
            self.record(&label, "latency", "CPU per alert: PostgreSQL server", per_alert(cpu.postgres), "us");
        }
        // For the hop: what one loopback exchange (client and server) costs at
        // this rate, the unit the relay's cost is compared with.
        self.record(&label, "latency", "CPU per alert: bench (clients + sink)", per_alert(cpu.bench), "us");
        if load.refused > 0 || !complete {
            self.record(&label, "latency", "alerts refused at ingest", load.refused as f64, "");
            self.record(&label, "latency", "alerts never delivered", (count - run.received()) as f64, "");
        }
        if target.kind == Kind::Flockrelay {
            self.healthz_floor(target).await;
        }
    }

    /// The relay's own floor at the steady rate: what answering `GET /healthz`
    /// (no store, no delivery) costs it per request at the same rate, for at
    /// most 10 s. An alert costs at least this twice over (one exchange
    /// served, one made).
    async fn healthz_floor(&mut self, target: &Arc<Target>) {
        let rate = self.options.rate;
        let count = (rate * self.options.duration.min(10.0)) as usize;
        let url = format!("{}/healthz", target.base_url());
        let cpu_before = Cpu::now(target);
        let answered = open_loop_get(&self.client, &url, count, rate).await;
        let cpu = Cpu::now(target).since(&cpu_before);
        let label = target.label.clone();
        let per_request = cpu.target * 1e6 / count.max(1) as f64;
        self.record(&label, "latency", "CPU per GET /healthz at the same rate", per_request, "us");
        if answered < count {
            self.record(&label, "latency", "GET /healthz not answered 2xx", (count - answered) as f64, "");
        }
    }

    /// Fills the dead destination's queue, then measures the live one beside it.
    async fn backlog(&mut self, target: &Arc<Target>) {
        let total = self.options.backlog;
        let label = target.label.clone();
        let prefix = self.prefix("d");
        let tenth = total.div_ceil(10);
        let mut filled = 0;
        let started = Instant::now();
        while filled < total {
            let count = tenth.min(total - filled);
            let clients = self.options.fill_clients.unwrap_or(self.options.clients);
            let batch = self.options.fill_batch;
            let load = closed_loop(target, &self.client, &prefix, filled, count, clients, batch, true, None).await;
            filled += count;
            let metric = format!("fill: alerts/s up to {filled} queued");
            self.record(&label, "backlog", &metric, load.rate(), "/s");
            if let Some(pid) = target.pid() {
                let metric = format!("fill: RSS at {filled} queued");
                self.record(&label, "backlog", &metric, process_figures(pid).rss as f64 / 1_048_576.0, "MiB");
            }
            if load.refused > 0 {
                self.record(&label, "backlog", "fill: alerts refused", load.refused as f64, "");
            }
        }
        self.record(&label, "backlog", "fill: time", started.elapsed().as_secs_f64(), "s");
        let scraped = Instant::now();
        if let Some(queued) = queue_depth(&self.client, target.base_url(), "dead").await {
            self.record(&label, "backlog", "/metrics scrape time", millis(scraped.elapsed()), "ms");
            self.record(&label, "backlog", "dead destination queue depth (/metrics)", queued, "");
        }
        if let Some(pid) = target.pid() {
            self.record(
                &label,
                "backlog",
                "RSS after a /metrics scrape",
                process_figures(pid).rss as f64 / 1_048_576.0,
                "MiB",
            );
        }
        if target.sqlite_bytes() > 0 {
            self.record(&label, "backlog", "SQLite file size", target.sqlite_bytes() as f64 / 1_048_576.0, "MiB");
        }
        let (_, e2e) = self.throughput(target, "backlog").await;
        if let Some(empty) = self.find(&label, "throughput", "end to end: alerts delivered/s") {
            self.record(&label, "backlog", "end to end beside backlog / with empty queue", 100.0 * e2e / empty, "%");
        }
        self.record_process(target, "backlog");
    }
}

/// CPU seconds used so far by the system under test, this bench process, and
/// (for the PostgreSQL backend) the database server.
struct Cpu {
    target: f64,
    bench: f64,
    postgres: f64,
}

impl Cpu {
    fn now(target: &Target) -> Self {
        let uses_postgres = target.kind == Kind::Flockrelay && target.label == "postgres";
        Self {
            target: target.pid().map_or(0.0, |pid| process_figures(pid).cpu_seconds),
            bench: process_figures(std::process::id()).cpu_seconds,
            postgres: if uses_postgres { postgres_cpu_seconds() } else { 0.0 },
        }
    }

    fn since(&self, before: &Self) -> Self {
        Self {
            target: self.target - before.target,
            bench: self.bench - before.bench,
            postgres: self.postgres - before.postgres,
        }
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

/// The relay's `flockrelay_queue_depth` for a destination, from `/metrics`.
async fn queue_depth(client: &reqwest::Client, base_url: &str, destination: &str) -> Option<f64> {
    let text = client.get(format!("{base_url}/metrics")).send().await.ok()?.text().await.ok()?;
    let needle = format!("flockrelay_queue_depth{{destination=\"{destination}\"}} ");
    text.lines().find_map(|line| line.strip_prefix(needle.as_str())?.trim().parse().ok())
}

/// The single loopback hop: `throughput` and `latency` (those asked for)
/// straight to the sink.
async fn hop(bench: &mut Bench) -> Result<(), String> {
    let target = Arc::new(Target::hop(&bench.sink.url())?);
    if bench.options.scenarios.iter().any(|wanted| wanted == "throughput") {
        println!("hop / throughput (load average {})", load_average());
        bench.throughput(&target, "throughput").await;
    }
    if bench.options.scenarios.iter().any(|wanted| wanted == "latency") {
        println!("hop / latency (load average {})", load_average());
        bench.latency(&target).await;
    }
    Ok(())
}

async fn run_scenarios(bench: &mut Bench) -> Result<(), String> {
    let backends = bench.options.backends.clone();
    let overrides = bench.options.overrides.clone();
    let binary = bench.options.relay_binary.clone();
    let scenarios = bench.options.scenarios.clone();
    let with_hop = scenarios.iter().any(|wanted| wanted == "throughput" || wanted == "latency");
    if with_hop {
        hop(bench).await?;
    }
    for backend in &backends {
        for scenario in ["throughput", "latency", "backlog"] {
            if !scenarios.iter().any(|wanted| wanted == scenario) {
                continue;
            }
            println!("{} / {scenario} (load average {})", backend.name(), load_average());
            let query = bench.options.sqlite_query.as_deref();
            let target = Arc::new(Target::flockrelay(&binary, backend, &bench.sink.url(), &overrides, query).await?);
            match scenario {
                "throughput" => {
                    bench.throughput(&target, "throughput").await;
                    bench.record_process(&target, "throughput");
                }
                "latency" => bench.latency(&target).await,
                _ => bench.backlog(&target).await,
            }
            stop(target, scenario).await;
        }
    }
    if let Some(binary) =
        bench.options.alertmanager.clone().filter(|_| scenarios.iter().any(|wanted| wanted == "alertmanager"))
    {
        println!("alertmanager ({}, load average {})", binary.display(), load_average());
        let target = Arc::new(Target::alertmanager(&binary, &bench.sink.url()).await?);
        bench.throughput(&target, "throughput").await;
        bench.record_process(&target, "throughput");
        stop(target, "throughput").await;
        let target = Arc::new(Target::alertmanager(&binary, &bench.sink.url()).await?);
        bench.latency(&target).await;
        stop(target, "latency").await;
    }
    if with_hop {
        hop(bench).await?;
    }
    Ok(())
}

/// The machine's 1-minute load average: other work on a shared VM shows here.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default()
}

/// Stops a target; its log is kept under the scenario's name.
async fn stop(target: Arc<Target>, scenario: &str) {
    let name = format!("{}-{scenario}", target.label);
    match Arc::try_unwrap(target) {
        Ok(target) => target.stop(&name).await,
        Err(_) => eprintln!("a target is still in use; it is killed when dropped"),
    }
}

fn main() {
    let options = match parse_options() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(2);
        }
    };
    // Two worker threads: the load generator and the sink share the machine with
    // the system under test, as they would on a 2-core host.
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            std::process::exit(2);
        }
    };
    let result = runtime.block_on(async move {
        let epoch = Instant::now();
        let sink = Sink::start(epoch).await.map_err(|error| format!("sink: {error}"))?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|error| format!("HTTP client: {error}"))?;
        println!(
            "relay bench: {} alerts, {} clients, batch {}, {} alerts/s for {} s, backlog {} (filled {} per POST)",
            options.alerts,
            options.clients,
            options.batch,
            options.rate,
            options.duration,
            options.backlog,
            options.fill_batch
        );
        let mut bench = Bench { options, epoch, sink, client, figures: Vec::new(), runs: 0 };
        run_scenarios(&mut bench).await?;
        report::summary(&bench);
        report::hop_ratios(&bench);
        report::comparison(&bench);
        println!("\nsink: {} stray requests (other runs, warm-up, retries)", bench.sink.stray());
        Ok::<(), String>(())
    });
    if let Err(error) = result {
        eprintln!("relay bench failed: {error}");
        std::process::exit(1);
    }
}
