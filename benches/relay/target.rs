//! The systems under test, each a child process on loopback: the release
//! `flockrelay` binary (on SQLite in a temporary directory or on a fresh
//! PostgreSQL database) and Prometheus Alertmanager. Both are driven the same
//! way: a body of alerts is POSTed to an ingest URL, and they deliver to the sink.
//!
//! Child processes, not in-process servers, so that the relay's memory and CPU
//! time can be read from `/proc` apart from the load generator's.
//!
//! The single loopback hop ([`Target::hop`]) is the yardstick: the same load
//! generator posting the same bodies straight to the sink, no process in
//! between. Every relay figure is reported as a ratio to it, measured in the
//! same run, so that the machine's speed and load cancel out.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use sqlx::Connection as _;
use tokio::process::{Child, Command};

/// The API token the bench relay accepts.
pub const TOKEN: &str = "bench-token-0123456789abcdef";

/// Which store a relay runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    /// The admin URL of a PostgreSQL server; each relay gets a new database on it.
    Postgres(String),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// What kind of system a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Flockrelay,
    Alertmanager,
    /// No system in between: the load generator posts straight to the sink.
    Hop,
}

/// One running system under test.
pub struct Target {
    pub kind: Kind,
    /// `sqlite`, `postgres`, `alertmanager` or `hop`.
    pub label: String,
    /// None for the single hop: there is no process in between.
    child: Option<Child>,
    ingest_url: String,
    base_url: String,
    dir: tempfile::TempDir,
    /// The database to drop when the relay has stopped.
    database: Option<(String, String)>,
}

/// A port nothing listens on: connections to it are refused at once.
pub fn refused_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn free_port() -> std::io::Result<u16> {
    refused_port()
}

/// Extra `FLOCKRELAY_…` settings for the relay (tuning experiments).
pub type Overrides = [(String, String)];

impl Target {
    /// Starts `flockrelay serve` (`binary`: the one Cargo built for this bench,
    /// unless told otherwise) with two destinations: `sink` for every alert of
    /// the global set, and `dead` (a refused port) for alerts of `flock:dead`.
    pub async fn flockrelay(
        binary: &Path,
        backend: &Backend,
        sink_url: &str,
        overrides: &Overrides,
        sqlite_query: Option<&str>,
    ) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|error| format!("temporary directory: {error}"))?;
        let (store_url, database) = match backend {
            Backend::Sqlite => {
                let query = sqlite_query.map(|query| format!("?{query}")).unwrap_or_default();
                (format!("sqlite://{}{query}", dir.path().join("relay.db").display()), None)
            }
            Backend::Postgres(admin) => {
                let name = format!("flockrelay_bench_{}", uuid::Uuid::new_v4().simple());
                let mut connection =
                    sqlx::PgConnection::connect(admin).await.map_err(|error| format!("{admin}: {error}"))?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut connection)
                    .await
                    .map_err(|error| format!("CREATE DATABASE: {error}"))?;
                let mut url = url::Url::parse(admin).map_err(|error| format!("{admin}: {error}"))?;
                url.set_path(&name);
                (url.to_string(), Some((admin.clone(), name)))
            }
        };
        let port = free_port().map_err(|error| format!("free port: {error}"))?;
        let dead = refused_port().map_err(|error| format!("free port: {error}"))?;
        let config = format!(
            r#"
[delivery]
allow_http = true
allowed_cidrs = ["127.0.0.0/8"]

[store]
url = "{store_url}"

[server]
listen = "127.0.0.1:{port}"
auth_tokens = ["{TOKEN}"]
token_file = "{token_file}"
body_limit = 8388608
shutdown_grace = "2s"

[flocks."flock:dead"]
name = "Dead end"
use_global = false
enabled = true

[destinations.sink]
flock = "global"
[destinations.sink.generic]
url = "{sink_url}"

[destinations.dead]
flock = "flock:dead"
[destinations.dead.generic]
url = "http://127.0.0.1:{dead}/hook"
"#,
            token_file = dir.path().join("token").display(),
        );
        let config_path = dir.path().join("relay.toml");
        std::fs::write(&config_path, config).map_err(|error| format!("config file: {error}"))?;
        let mut command = Command::new(binary);
        for (key, _) in std::env::vars() {
            if key.starts_with("FLOCKRELAY_") && !key.starts_with("FLOCKRELAY_LOG") {
                command.env_remove(key);
            }
        }
        for (key, value) in overrides {
            command.env(key, value);
        }
        command.arg("serve").arg("--config").arg(&config_path).current_dir(dir.path());
        let base_url = format!("http://127.0.0.1:{port}");
        let mut target = Self::spawn(command, dir, Kind::Flockrelay, backend.name(), &base_url, "relay.log")?;
        target.ingest_url = format!("{base_url}/api/v1/alerts");
        target.database = database;
        target.wait_ready("/readyz").await?;
        Ok(target)
    }

    /// The single loopback hop: posts go straight to the sink (which answers
    /// 200), with the bodies flockrelay gets.
    pub fn hop(sink_url: &str) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|error| format!("temporary directory: {error}"))?;
        Ok(Self {
            kind: Kind::Hop,
            label: "hop".to_owned(),
            child: None,
            ingest_url: sink_url.to_owned(),
            base_url: String::new(),
            dir,
            database: None,
        })
    }

    /// Starts Alertmanager with one webhook receiver (the sink) and no grouping:
    /// every alert is its own group, notified as soon as Alertmanager allows.
    pub async fn alertmanager(binary: &Path, sink_url: &str) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|error| format!("temporary directory: {error}"))?;
        let port = free_port().map_err(|error| format!("free port: {error}"))?;
        let config = format!(
            r#"
route:
  receiver: sink
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 24h
receivers:
  - name: sink
    webhook_configs:
      - url: "{sink_url}"
        send_resolved: false
"#
        );
        let config_path = dir.path().join("alertmanager.yml");
        std::fs::write(&config_path, config).map_err(|error| format!("config file: {error}"))?;
        let mut command = Command::new(binary);
        command
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .arg("--log.level=warn")
            .current_dir(dir.path());
        let base_url = format!("http://127.0.0.1:{port}");
        let mut target = Self::spawn(command, dir, Kind::Alertmanager, "alertmanager", &base_url, "alertmanager.log")?;
        target.ingest_url = format!("{base_url}/api/v2/alerts");
        target.wait_ready("/-/ready").await?;
        Ok(target)
    }

    fn spawn(
        mut command: Command,
        dir: tempfile::TempDir,
        kind: Kind,
        label: &str,
        base_url: &str,
        log: &str,
    ) -> Result<Self, String> {
        let log = std::fs::File::create(dir.path().join(log)).map_err(|error| format!("log file: {error}"))?;
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::from(log)).kill_on_drop(true);
        let child = Some(command.spawn().map_err(|error| format!("cannot start {label}: {error}"))?);
        Ok(Self {
            kind,
            label: label.to_owned(),
            child,
            ingest_url: String::new(),
            base_url: base_url.to_owned(),
            dir,
            database: None,
        })
    }

    async fn wait_ready(&mut self, path: &str) -> Result<(), String> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = format!("{}{path}", self.base_url);
        while Instant::now() < deadline {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                return Err(format!("{} exited with {status}:\n{}", self.label, self.log_tail()));
            }
            if client.get(&url).send().await.is_ok_and(|response| response.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("{} not ready after 60 s:\n{}", self.label, self.log_tail()))
    }

    /// The last lines of the target's log.
    pub fn log_tail(&self) -> String {
        let path = self.log_path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn log_path(&self) -> PathBuf {
        match self.kind {
            Kind::Flockrelay | Kind::Hop => self.dir.path().join("relay.log"),
            Kind::Alertmanager => self.dir.path().join("alertmanager.log"),
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref()?.id()
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A POST of the alerts `first..first+count` named `<prefix>-<n>`; `dead`
    /// routes flockrelay alerts to the dead destination instead of the sink.
    pub fn request(
        &self,
        client: &reqwest::Client,
        prefix: &str,
        first: usize,
        count: usize,
        dead: bool,
    ) -> reqwest::RequestBuilder {
        let body = match self.kind {
            Kind::Flockrelay | Kind::Hop => relay_body(prefix, first, count, dead),
            Kind::Alertmanager => alertmanager_body(prefix, first, count),
        };
        client
            .post(&self.ingest_url)
            .header("content-type", "application/json")
            .header("x-canary-auth-token", TOKEN)
            .body(body)
    }

    /// Whether the answer means "accepted".
    pub fn accepted(&self, status: reqwest::StatusCode) -> bool {
        match self.kind {
            Kind::Flockrelay => status == reqwest::StatusCode::ACCEPTED,
            Kind::Alertmanager | Kind::Hop => status.is_success(),
        }
    }

    /// Stops the process (SIGTERM, then SIGKILL after 20 s), keeps its log as
    /// `target/relay-bench/<name>.log`, and drops its database.
    pub async fn stop(mut self, name: &str) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child.id() {
            let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status().await;
            if tokio::time::timeout(Duration::from_secs(20), child.wait()).await.is_err() {
                let _ = child.kill().await;
            }
        }
        let kept = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/relay-bench");
        if std::fs::create_dir_all(&kept).is_ok() {
            let _ = std::fs::copy(self.log_path(), kept.join(format!("{name}.log")));
        }
        if let Some((admin, name)) = self.database.take() {
            if let Ok(mut connection) = sqlx::PgConnection::connect(&admin).await {
                let _ =
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut connection).await;
            }
        }
    }

    /// How often `messages` was vacuumed by the relay and by autovacuum, when
    /// the relay runs on PostgreSQL.
    pub async fn vacuums(&self) -> Option<(i64, i64)> {
        let (admin, name) = self.database.as_ref()?;
        let mut url = url::Url::parse(admin).ok()?;
        url.set_path(name);
        let mut connection = sqlx::PgConnection::connect(url.as_str()).await.ok()?;
        sqlx::query_as("SELECT vacuum_count, autovacuum_count FROM pg_stat_user_tables WHERE relname = 'messages'")
            .fetch_optional(&mut connection)
            .await
            .ok()
            .flatten()
    }

    /// Size of the relay's SQLite files, when it uses SQLite.
    pub fn sqlite_bytes(&self) -> u64 {
        ["relay.db", "relay.db-wal"]
            .iter()
            .filter_map(|name| std::fs::metadata(self.dir.path().join(name)).ok())
            .map(|metadata| metadata.len())
            .sum()
    }
}

/// One flockrelay alert per index, in an array when there are several.
fn relay_body(prefix: &str, first: usize, count: usize, dead: bool) -> Vec<u8> {
    let mut body = String::with_capacity(count * 400 + 2);
    if count > 1 {
        body.push('[');
    }
    for index in first..first + count {
        if index > first {
            body.push(',');
        }
        let flock = if dead { r#""flock_id":"flock:dead","# } else { "" };
        let _ = write!(
            body,
            r#"{{"id":"{prefix}-{index}",{flock}"kind":"canary.incident","severity":"high","title":"Bench alert {index}","description":"Port scan from 192.0.2.10 against web-01","source":{{"ip":"192.0.2.10","name":"scanner"}},"target":{{"name":"web-01","ip":"10.0.0.5","port":443}},"details":{{"bench":true,"sequence":{index}}}}}"#
        );
    }
    if count > 1 {
        body.push(']');
    }
    body.into_bytes()
}

/// Alertmanager's postable alerts: the id travels as the `bench_id` label, which
/// also makes every alert its own group.
fn alertmanager_body(prefix: &str, first: usize, count: usize) -> Vec<u8> {
    let mut body = String::with_capacity(count * 400 + 2);
    body.push('[');
    for index in first..first + count {
        if index > first {
            body.push(',');
        }
        let _ = write!(
            body,
            r#"{{"labels":{{"alertname":"BenchAlert","bench_id":"{prefix}-{index}","severity":"high","instance":"web-01"}},"annotations":{{"title":"Bench alert {index}","description":"Port scan from 192.0.2.10 against web-01"}}}}"#
        );
    }
    body.push(']');
    body.into_bytes()
}

/// Memory and CPU figures of a process, from `/proc`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessFigures {
    /// Peak resident set size (VmHWM), bytes.
    pub peak_rss: u64,
    /// Current resident set size (VmRSS), bytes.
    pub rss: u64,
    /// User + system CPU time, seconds.
    pub cpu_seconds: f64,
}

/// Reads `/proc/<pid>/status` and `/proc/<pid>/stat`.
pub fn process_figures(pid: u32) -> ProcessFigures {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kilobytes = |field: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|number| number.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    // utime and stime are fields 14 and 15 of the line (indexes 11 and 12 after the
    // name), in clock ticks of 1/100 s on Linux.
    let ticks = |index: usize| fields.get(index).and_then(|field| field.parse::<u64>().ok()).unwrap_or(0);
    ProcessFigures {
        peak_rss: kilobytes("VmHWM:"),
        rss: kilobytes("VmRSS:"),
        cpu_seconds: (ticks(11) + ticks(12)) as f64 / 100.0,
    }
}

/// CPU time of every PostgreSQL server process on the machine, seconds (the
/// server may be shared, so this is an upper bound for the relay's share).
pub fn postgres_cpu_seconds() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == "postgres"))
        .map(|pid| process_figures(pid).cpu_seconds)
        .sum()
}
