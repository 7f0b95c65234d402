//! The console's message list with a million stored messages (issue 14): a
//! SQLite store is filled with N messages (default 1,000,000: ten
//! destinations, five flocks, 1 % failed, 1 % pending, the rest delivered, one
//! every 10 ms of creation time), the relay is served in this process, signed
//! in to, and `GET /messages` is timed over HTTP — the whole page: session,
//! filters, keyset query, template — for the first page and deep keyset pages,
//! with and without filters.
//!
//! Run: `cargo bench --bench console` (`-- --messages 100000 --requests 20`
//! for a quicker look). Prints median, p95 and max per case; the store file is
//! made in a temporary directory and removed afterwards.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flockrelay::api::run::{build, serve};
use flockrelay::render::Renderer;
use sqlx::Connection as _;

const TOKEN: &str = "bench-token-0123456789abcdef";
const STEP_MS: i64 = 10;

struct Options {
    messages: i64,
    requests: usize,
}

fn options() -> Options {
    let mut options = Options { messages: 1_000_000, requests: 30 };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> i64 {
            args.next().and_then(|value| value.replace('_', "").parse().ok()).unwrap_or_else(|| {
                eprintln!("{name} needs a number");
                std::process::exit(2)
            })
        };
        match arg.as_str() {
            "--messages" => options.messages = value("--messages").max(1000),
            "--requests" => options.requests = usize::try_from(value("--requests").max(1)).unwrap_or(30),
            "--bench" => {}
            other => {
                eprintln!("unknown option {other}; use --messages N --requests N");
                std::process::exit(2)
            }
        }
    }
    options
}

fn config(dir: &Path) -> String {
    let mut text = format!(
        "[delivery]\nallow_http = true\nallowed_cidrs = [\"127.0.0.0/8\"]\n\n\
         [store]\nurl = \"sqlite://{}\"\nsecret_key_file = \"{}\"\n\n\
         [server]\nauth_tokens = [\"{TOKEN}\"]\ntoken_file = \"{}\"\n\n",
        dir.join("relay.db").display(),
        dir.join("secret_key").display(),
        dir.join("token").display(),
    );
    for flock in 0..5 {
        text.push_str(&format!("[flocks.\"flock:f{flock}\"]\nname = \"Flock {flock}\"\n\n"));
    }
    // Disabled: no worker touches the pending messages while the pages are timed.
    for destination in 0..10 {
        text.push_str(&format!(
            "[destinations.dest_{destination}]\nenabled = false\ngeneric = {{ url = \"http://127.0.0.1:9/{destination}\" }}\n\n"
        ));
    }
    text
}

/// Writes `count` messages straight into the migrated store, in one statement
/// per 100,000.
async fn fill(url: &str, count: i64, start_ms: i64) {
    let mut connection = sqlx::SqliteConnection::connect(url).await.expect("opens the store");
    let chunk = 100_000;
    let mut done = 0;
    while done < count {
        let last = (done + chunk).min(count) - 1;
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2) \
             INSERT INTO messages (id, alert_id, destination_id, flock_id, kind, status, body, attempts, tries, \
                                   created_at, next_attempt_at, last_error, finished_at) \
             SELECT printf('msg_%08d', i), printf('a%08d', i), 'dest_' || (i % 10), 'flock:f' || (i % 5), 'generic', \
                    CASE i % 100 WHEN 7 THEN 'failed' WHEN 8 THEN 'pending' ELSE 'delivered' END, \
                    '{\"title\":\"Port scan\",\"description\":\"203.0.113.7 scanned 22, 80, 445\"}', 1, 1, \
                    ?3 + i * ?4, ?3 + i * ?4, \
                    CASE i % 100 WHEN 7 THEN 'HTTP 503: maintenance' ELSE NULL END, \
                    CASE i % 100 WHEN 8 THEN NULL ELSE ?3 + i * ?4 + 50 END \
             FROM n",
        )
        .bind(done)
        .bind(last)
        .bind(start_ms)
        .bind(STEP_MS)
        .execute(&mut connection)
        .await
        .expect("fills");
        done = last + 1;
    }
    connection.close().await.expect("closes");
}

/// Signs in; returns the session cookie.
async fn sign_in(client: &reqwest::Client, base: &str) -> String {
    let form = client.get(format!("{base}/sign-in")).send().await.expect("sign-in page");
    let cookie = form
        .headers()
        .get("set-cookie")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let body = form.text().await.expect("reads");
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker).expect("a CSRF field") + marker.len();
    let csrf = &body[start..start + 64];
    let signed_in = client
        .post(format!("{base}/sign-in"))
        .header("cookie", &cookie)
        .form(&[("csrf_token", csrf), ("token", TOKEN)])
        .send()
        .await
        .expect("signs in");
    assert_eq!(signed_in.status().as_u16(), 303, "signed in");
    signed_in
        .headers()
        .get("set-cookie")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .expect("the signed-in cookie")
        .to_owned()
}

/// The keyset cursor just after message `index`.
fn cursor(start_ms: i64, index: i64) -> String {
    format!("{}.msg_{index:08}", start_ms + index * STEP_MS)
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    runtime.block_on(run(options));
}

async fn run(options: Options) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("relay.toml");
    std::fs::write(&path, config(dir.path())).expect("writes the config");
    let config = flockrelay::config::load(Some(&path)).expect("a valid config");
    let url = format!("sqlite://{}", dir.path().join("relay.db").display());
    let key = flockrelay::api::run::secret_key(&config).expect("the secret key");
    drop(flockrelay::store::open(&url, &key).await.expect("creates and migrates the store"));
    let start_ms = chrono::Utc::now().timestamp_millis() - options.messages * STEP_MS;
    let filling = Instant::now();
    fill(&url, options.messages, start_ms).await;
    println!("filled {} messages in {:.1} s", options.messages, filling.elapsed().as_secs_f64());

    let relay = build(&config, Renderer::new(None).expect("templates"), Vec::new()).await.expect("the relay builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds loopback");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(serve(relay, listener, Duration::from_secs(5), async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client");
    let cookie = Arc::new(sign_in(&client, &base).await);

    let middle = options.messages / 2;
    let deep = options.messages / 10;
    let window_since = (start_ms + middle * STEP_MS) / 1000;
    let cases: Vec<(String, String)> = vec![
        ("first page, no filter".into(), "/messages".into()),
        ("deep page (90 % down), no filter".into(), format!("/messages?before={}", cursor(start_ms, deep))),
        ("status=failed, first page".into(), "/messages?status=failed".into()),
        ("status=failed, deep page".into(), format!("/messages?status=failed&before={}", cursor(start_ms, deep))),
        ("status=pending, first page".into(), "/messages?status=pending".into()),
        ("destination, first page".into(), "/messages?destination=dest_3".into()),
        ("destination, deep page".into(), format!("/messages?destination=dest_3&before={}", cursor(start_ms, deep))),
        (
            "destination + status=failed, deep page".into(),
            format!("/messages?destination=dest_7&status=failed&before={}", cursor(start_ms, deep)),
        ),
        ("flock + status=failed".into(), "/messages?flock=flock:f2&status=failed".into()),
        ("alert".into(), format!("/messages?alert=a{middle:08}")),
        ("time window (since, until)".into(), format!("/messages?since={window_since}&until={}", window_since + 600)),
    ];
    println!("\n{} requests per case, after 3 warm-up requests; whole HTTP answer timed\n", options.requests);
    println!("| case | rows | median | p95 | max |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (name, path) in cases {
        let url = format!("{base}{path}");
        let mut times = Vec::with_capacity(options.requests);
        let mut rows = 0;
        for round in 0..options.requests + 3 {
            let started = Instant::now();
            let answer = client.get(&url).header("cookie", cookie.as_str()).send().await.expect("answers");
            let status = answer.status().as_u16();
            let body = answer.text().await.expect("reads");
            let took = started.elapsed();
            assert_eq!(status, 200, "{path}: {body}");
            rows = body.matches("href=\"/messages/msg").count();
            if round >= 3 {
                times.push(took);
            }
        }
        times.sort();
        let at = |share: f64| times[((times.len() - 1) as f64 * share).round() as usize];
        let ms = |duration: Duration| format!("{:.1} ms", duration.as_secs_f64() * 1000.0);
        println!("| {name} | {rows} | {} | {} | {} |", ms(at(0.5)), ms(at(0.95)), ms(at(1.0)));
    }
    let _ = stop.send(());
    let _ = served.await;
}
