//! Secrets at rest: the data directory and every file holding secrets are
//! private (0700 / 0600, whatever the umask), looser existing ones are
//! reported at start, and no secret of a destination or a source is readable
//! in the database — SQLite file or PostgreSQL rows — whether it came from the
//! config file or the API, also after upgrading a database an earlier version
//! wrote in plaintext. A wrong key stops the relay with a clear message.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use flockrelay::api::run::build;
use flockrelay::config;
use flockrelay::notify::generic::config::{GenericAuth, GenericSettings};
use flockrelay::notify::Channel;
use flockrelay::render::Renderer;
use flockrelay::secret::Secret;
use serde_json::json;
use sqlx::Connection as _;
use tokio::process::{Child, Command};

use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::{eventually, Relay, Setup, TOKEN};
use crate::support::stores::postgres_url;

const DEADLINE: Duration = Duration::from_secs(60);

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|error| panic!("{}: {error}", path.display())).permissions().mode() & 0o777
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("binds").local_addr().expect("address").port()
}

/// `flockrelay serve` in `dir` (its working directory, so `data/` is there),
/// started with the given umask; stderr goes to `dir/relay.log`.
struct Served {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Served {
    async fn start(dir: &Path, umask: &str) -> Self {
        let port = free_port();
        let config = dir.join("relay.toml");
        std::fs::write(
            &config,
            format!(
                "[delivery]\nallow_http = true\nallowed_cidrs = [\"127.0.0.0/8\"]\n\n\
                 [store]\nurl = \"sqlite://data/flockrelay.db\"\n\n\
                 [server]\nlisten = \"127.0.0.1:{port}\"\n"
            ),
        )
        .expect("writes the config");
        let log = dir.join("relay.log");
        let mut command = Command::new("sh");
        command.arg("-c").arg(format!("umask {umask} && exec \"$0\" \"$@\""));
        command.arg(env!("CARGO_BIN_EXE_flockrelay")).arg("serve").arg("--config").arg(&config);
        for (key, _) in std::env::vars() {
            if key.starts_with("FLOCKRELAY_") {
                command.env_remove(key);
            }
        }
        let stderr = std::fs::File::create(&log).expect("log file");
        command.current_dir(dir).stdout(Stdio::null()).stderr(stderr).kill_on_drop(true);
        let served =
            Self { child: command.spawn().expect("relay starts"), url: format!("http://127.0.0.1:{port}"), log };
        let client = reqwest::Client::new();
        eventually(DEADLINE, "the relay answers /readyz", || {
            let request = client.get(format!("{}/readyz", served.url)).send();
            async move { request.await.is_ok_and(|response| response.status().is_success()) }
        })
        .await;
        served
    }

    async fn stop(mut self) -> String {
        let _ = self.child.kill().await;
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

#[tokio::test]
async fn serve_keeps_the_data_directory_and_every_secret_file_private_whatever_the_umask() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let relay = Served::start(dir.path(), "000").await;
    let data = dir.path().join("data");
    let token = std::fs::read_to_string(data.join("auth_token")).expect("a generated token");
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/alerts", relay.url))
        .header("X-Canary-Auth-Token", token.trim())
        .body(json!({"kind": "canary.incident", "title": "Written to the WAL"}).to_string())
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 202);

    assert_eq!(mode(&data), 0o700, "the data directory");
    for file in ["flockrelay.db", "flockrelay.db-wal", "flockrelay.db-shm", "auth_token", "secret_key"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    let log = relay.stop().await;
    assert!(!log.contains("readable by other users"), "nothing loose to report: {log}");
}

#[tokio::test]
async fn loose_files_that_already_exist_are_reported_with_their_path_and_mode() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("creates data/");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let token = data.join("auth_token");
    std::fs::write(&token, "a-token-that-others-can-read-0123456789\n").expect("writes the token");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).expect("chmod");

    let relay = Served::start(dir.path(), "022").await;
    let log = relay.stop().await;
    // The config names them relative to the working directory, and so do the warnings.
    for (what, path, mode) in [("The token file", "data/auth_token", "0644"), ("The data directory", "data", "0755")] {
        let line = log
            .lines()
            .find(|line| line.contains(what) && line.contains("readable by other users"))
            .unwrap_or_else(|| panic!("a warning about {path}: {log}"));
        assert!(line.contains(path) && line.contains(mode), "{line}");
    }
    assert!(!log.contains("a-token-that-others-can-read"), "the token itself is never logged");
}

/// Every secret the config file and the API give the relay below.
const SECRETS: [&str; 14] = [
    "T0FILE/B0FILE/slackfilesecret0000",
    "teamsfilesecret-sig-0000",
    "hecfile-0000-1111-2222-333344445555",
    "header-value-file-0123456789",
    "bearer-token-file-0123456789",
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "flock-hmac-source-secret-0123",
    "basic-source-password-0123",
    "bearer-source-token-0123456789",
    "header-value-api-0123456789",
    "bearer-token-api-0123456789",
    "hecapi-0000-1111-2222-333344445555",
    "whsec_dGhlLWFwaS1zb3VyY2Utc2VjcmV0LTEyMzQ1Ng==",
    "client-secret-source-0123456789",
];

fn config_with_secrets(hook: &Receiver) -> String {
    format!(
        r#"
[destinations.chat.slack]
url = "https://hooks.slack.com/services/{slack}"
[destinations.teams.ms_teams]
url = "https://example.logic.azure.com/workflows/1?sig={teams}"
[flocks."flock:dc"]
name = "Datacenter"
use_global = false
[destinations.hec]
flock = "flock:dc"
[destinations.hec.splunk]
host = "splunk.example.com"
token = "{hec}"
[destinations.hook.generic]
url = "{url}"
headers = {{ "X-Api-Key" = "{header}" }}
auth = {{ type = "bearer", token = "{bearer}" }}
signing = {{ scheme = "standard_webhooks", secrets = ["{whsec}"] }}

[sources.referrals]
scheme = "flock_hmac"
secret = "{hmac}"
[sources.flowingly]
scheme = "basic"
username = "relay"
password = "{basic}"
[sources.console]
scheme = "bearer"
token = "{source_bearer}"
"#,
        slack = SECRETS[0],
        teams = SECRETS[1],
        hec = SECRETS[2],
        url = hook.url("/hook"),
        header = SECRETS[3],
        bearer = SECRETS[4],
        whsec = SECRETS[5],
        hmac = SECRETS[6],
        basic = SECRETS[7],
        source_bearer = SECRETS[8],
    )
}

/// Adds a destination and a source with secrets through the API, then checks
/// that the relay still uses every secret it holds (it delivers with them) and
/// that no answer of the API shows one.
async fn add_secrets_through_the_api_and_use_them(relay: &Relay, hook: &Receiver) {
    let headers = json!({"X-Api-Key": SECRETS[9]}).to_string();
    let url = hook.url("/api-hook");
    let (status, body) = relay
        .post(
            "/api/v1/flock/settings/webhooks/generic/add",
            &[
                ("flock_id", "global"),
                ("url", &url),
                ("headers", &headers),
                ("auth_type", "bearer"),
                ("token", SECRETS[10]),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = relay
        .post(
            "/api/v1/flock/settings/webhooks/splunk/add",
            &[("flock_id", "global"), ("host", "hec.example.com"), ("port", "8088"), ("token", SECRETS[11])],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let source = json!({"id": "svix", "scheme": "standard_webhooks", "secrets": [SECRETS[12]]});
    let (status, body) = relay.post_json(&format!("/api/v1/sources?auth_token={TOKEN}"), &source).await;
    assert_eq!(status, 201, "{body}");
    let source = json!({"id": "steps", "scheme": "client_secret", "secret": SECRETS[13]});
    let (status, body) = relay.post_json(&format!("/api/v1/sources?auth_token={TOKEN}"), &source).await;
    assert_eq!(status, 201, "{body}");

    // The stored secrets are used: both generic hooks get their credentials.
    relay.ingest(&json!({"kind": "canary.incident", "title": "Secrets in use"})).await;
    eventually(DEADLINE, "both generic hooks received the alert", || async { hook.requests().len() >= 2 }).await;
    let requests = hook.requests();
    let by_path = |path: &str| requests.iter().find(|request| request.uri.path() == path).expect("received");
    assert_eq!(by_path("/hook").header("authorization"), Some(format!("Bearer {}", SECRETS[4]).as_str()));
    assert_eq!(by_path("/hook").header("x-api-key"), Some(SECRETS[3]));
    assert_eq!(by_path("/api-hook").header("authorization"), Some(format!("Bearer {}", SECRETS[10]).as_str()));
    // A source's stored secret still verifies.
    let response = relay
        .client
        .post(relay.url("/hooks/console"))
        .header("authorization", format!("Bearer {}", SECRETS[8]))
        .body(json!({"Description": "Port scan", "IncidentHash": "h1"}).to_string())
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 202);

    // The API shows none of the write-only secrets.
    let mut shown = String::new();
    for path in ["/api/v1/destinations", "/api/v1/sources"] {
        shown.push_str(&relay.get(path, &[]).await.1.to_string());
    }
    for kind in ["generic", "splunk", "slack", "ms_teams"] {
        let (_, body) = relay.get(&format!("/api/v1/flock/settings/webhooks/{kind}"), &[("flock_id", "global")]).await;
        shown.push_str(&body.to_string());
    }
    for secret in [3, 4, 5, 6, 7, 8, 9, 10, 12, 13].map(|index| SECRETS[index]) {
        assert!(!shown.contains(secret), "the API shows {secret}: {shown}");
    }
}

fn assert_no_secret_in(what: &str, bytes: &[u8]) {
    for secret in SECRETS {
        let found = bytes.windows(secret.len()).any(|window| window == secret.as_bytes());
        assert!(!found, "{secret} is readable in {what}");
    }
}

/// The SQLite database file and its WAL, as bytes.
fn sqlite_bytes(store_url: &str) -> Vec<u8> {
    let path = store_url.trim_start_matches("sqlite://");
    let path = path.split('?').next().unwrap_or(path);
    let mut bytes = std::fs::read(path).expect("reads the database");
    bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
    bytes
}

/// Every row of every table, as text.
async fn postgres_rows(url: &str) -> String {
    let mut connection = sqlx::PgConnection::connect(url).await.expect("connects");
    let mut text = String::new();
    for table in ["destinations", "sources", "flocks", "alerts", "messages", "attempts", "flockrelay_secret_key"] {
        let rows: Vec<(String,)> = sqlx::query_as(&format!("SELECT t::text FROM {table} t"))
            .fetch_all(&mut connection)
            .await
            .expect("reads the table");
        text.extend(rows.into_iter().map(|(row,)| row + "\n"));
    }
    assert!(text.contains("enc:v1:"), "the specs are there, sealed: {text}");
    text
}

#[tokio::test]
async fn no_secret_is_readable_in_the_sqlite_file_whether_it_came_from_the_file_or_the_api() {
    let hook = Receiver::start(Reply::new(200, "")).await;
    let relay = Relay::with(Setup { extra: config_with_secrets(&hook), ..Setup::default() }).await;
    add_secrets_through_the_api_and_use_them(&relay, &hook).await;
    let store_url = relay.store_url.clone();
    let dir = relay.stop().await;
    assert_no_secret_in("the SQLite database", &sqlite_bytes(&store_url));
    drop(dir);
}

#[tokio::test]
async fn no_secret_is_readable_in_the_postgres_rows_whether_it_came_from_the_file_or_the_api() {
    let Some(url) = postgres_url("secrets::no_secret_is_readable_in_the_postgres_rows").await else {
        return;
    };
    let hook = Receiver::start(Reply::new(200, "")).await;
    let relay =
        Relay::with(Setup { extra: config_with_secrets(&hook), store_url: Some(url.clone()), ..Setup::default() })
            .await;
    add_secrets_through_the_api_and_use_them(&relay, &hook).await;
    assert_no_secret_in("the PostgreSQL rows", postgres_rows(&url).await.as_bytes());
}

/// The old schema (before secrets were sealed), with a destination and a source
/// stored in plaintext and a message waiting for the destination.
async fn write_previous_version(url: &str, version: i64, hook: &Receiver) {
    use sqlx::Connection as _;
    let mut old = crate::support::schema::write_version(url, version).await;
    let settings = GenericSettings {
        url: hook.url("/old").parse().expect("valid URL"),
        headers: Default::default(),
        auth: Some(GenericAuth::Bearer { token: Secret::new(SECRETS[4]) }),
        signing: None,
        permanent_statuses: Vec::new(),
    };
    let destination = crate::support::destination("old", Channel::Generic(settings));
    let spec = serde_json::to_string(&destination).expect("serializes");
    let now = chrono::Utc::now().timestamp_millis();
    sqlx::query(
        "INSERT INTO destinations (id, name, scope, kind, spec, enabled, origin, updated_at) \
         VALUES ('old', 'old', 'global', 'generic', $1, 1, 'api', $2)",
    )
    .bind(spec)
    .bind(now)
    .execute(&mut old)
    .await
    .expect("stores a plaintext destination");
    let source: flockrelay::ingest::inbound::SourceConfig =
        serde_json::from_value(json!({"scheme": "bearer", "token": SECRETS[8]})).expect("valid source");
    let spec = serde_json::to_string(&source.to_source("console").expect("complete")).expect("serializes");
    sqlx::query(
        "INSERT INTO sources (id, flock_id, scheme, spec, origin, updated_at) \
         VALUES ('console', 'flock:default', 'bearer', $1, 'api', $2)",
    )
    .bind(spec)
    .bind(now)
    .execute(&mut old)
    .await
    .expect("stores a plaintext source");
    sqlx::query(
        "INSERT INTO alerts (id, idempotency_key, flock_id, kind, received_at, messages) \
         VALUES ('a1', NULL, 'flock:default', 'canary.incident', $1, 1)",
    )
    .bind(now)
    .execute(&mut old)
    .await
    .expect("stores an alert");
    sqlx::query(
        "INSERT INTO messages (id, alert_id, destination_id, flock_id, kind, status, body, created_at, next_attempt_at) \
         VALUES ('msg_old', 'a1', 'old', 'flock:default', 'generic', 'pending', '{\"old\": true}', $1, $1)",
    )
    .bind(now)
    .execute(&mut old)
    .await
    .expect("stores a message");
    old.close().await.expect("closes");
}

/// Opens the old database with the current relay: the waiting message is
/// delivered with the stored credentials, the source still verifies, and the
/// secrets are sealed now.
async fn upgrade_and_deliver(store_url: String, hook: &Receiver) -> Relay {
    let relay = Relay::with(Setup { store_url: Some(store_url), ..Setup::default() }).await;
    eventually(DEADLINE, "the waiting message was delivered", || async { !hook.requests().is_empty() }).await;
    let delivered = hook.single();
    assert_eq!(delivered.header("authorization"), Some(format!("Bearer {}", SECRETS[4]).as_str()));
    assert_eq!(delivered.body, "{\"old\": true}".as_bytes());
    let response = relay
        .client
        .post(relay.url("/hooks/console"))
        .header("authorization", format!("Bearer {}", SECRETS[8]))
        .body(json!({"Description": "Port scan", "IncidentHash": "h2"}).to_string())
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 202, "the upgraded source still verifies");
    relay
}

#[tokio::test]
async fn a_sqlite_database_with_plaintext_secrets_is_encrypted_at_start_and_still_delivers() {
    let hook = Receiver::start(Reply::new(200, "")).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let store_url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    write_previous_version(&store_url, 4, &hook).await;
    assert!(
        String::from_utf8_lossy(&sqlite_bytes(&store_url)).contains(SECRETS[4]),
        "the old database holds the token in plaintext"
    );
    let relay = upgrade_and_deliver(store_url.clone(), &hook).await;
    relay.stop().await;
    assert_no_secret_in("the upgraded SQLite database", &sqlite_bytes(&store_url));
}

#[tokio::test]
async fn a_postgres_database_with_plaintext_secrets_is_encrypted_at_start_and_still_delivers() {
    let Some(url) = postgres_url("secrets::a_postgres_database_with_plaintext_secrets_is_encrypted").await else {
        return;
    };
    let hook = Receiver::start(Reply::new(200, "")).await;
    write_previous_version(&url, 4, &hook).await;
    let _relay = upgrade_and_deliver(url.clone(), &hook).await;
    assert_no_secret_in("the upgraded PostgreSQL rows", postgres_rows(&url).await.as_bytes());
}

#[tokio::test]
async fn a_wrong_key_refuses_to_start_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = crate::support::relay::write_config(dir.path(), "");
    let relay = Relay::from_file(&path).await;
    relay.stop().await;
    let first_key = std::fs::read_to_string(dir.path().join("secret_key")).expect("the generated key");
    assert_eq!(mode(&dir.path().join("secret_key")), 0o600);

    // Another key, given in the file or in the configuration.
    let other = flockrelay::store::key::SecretKey::generate().to_base64();
    std::fs::write(dir.path().join("secret_key"), &other).expect("replaces the key");
    let config = config::load(Some(&path)).expect("valid config");
    let renderer = Renderer::new(None).expect("templates");
    let error = build(&config, renderer, Vec::new()).await.expect_err("refused").to_string();
    assert!(
        error.contains("the secret key (key ")
            && error.contains("is not the one this database's secrets are encrypted with"),
        "{error}"
    );
    assert!(!error.contains(other.trim()) && !error.contains(first_key.trim()), "no key in the message: {error}");

    // A key file that holds no key is refused too, naming the file.
    std::fs::write(dir.path().join("secret_key"), "not a key\n").expect("writes");
    let renderer = Renderer::new(None).expect("templates");
    let error = build(&config, renderer, Vec::new()).await.expect_err("refused").to_string();
    assert!(error.contains("secret_key does not hold a usable key"), "{error}");

    // The right key opens it again.
    std::fs::write(dir.path().join("secret_key"), &first_key).expect("restores the key");
    Relay::from_file(&path).await.stop().await;
}
