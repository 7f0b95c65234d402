//! Real stores for tests: a SQLite file in a temporary directory, and a fresh
//! PostgreSQL database on the server `FLOCKRELAY_TEST_PG_URL` names (set by
//! `.ci/run`). Without that variable PostgreSQL tests report themselves skipped.

use std::io::Write as _;
use std::sync::Arc;

use flockrelay::store::key::SecretKey;
use flockrelay::store::{self, Store};
use sqlx::Connection as _;

/// The environment variable naming the PostgreSQL server used by tests.
pub const PG_URL_VAR: &str = "FLOCKRELAY_TEST_PG_URL";

/// A SQLite store in its own directory (kept alive by the returned guard).
pub async fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("relay.db").display());
    (store::open(&url, &SecretKey::generate()).await.expect("SQLite store opens"), dir)
}

/// The URL of a new, empty PostgreSQL database, or `None` (reported loudly) when
/// no server is configured.
pub async fn postgres_url(test: &str) -> Option<String> {
    let Ok(server) = std::env::var(PG_URL_VAR) else {
        // Written past the test harness's capture, so the skip is always visible.
        let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {PG_URL_VAR} is not set, PostgreSQL not tested");
        return None;
    };
    let name = format!("flockrelay_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&server).await.unwrap_or_else(|error| panic!("{PG_URL_VAR}: {error}"));
    drop_stale_databases(&mut admin).await;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("creates a test database");
    let mut url = url::Url::parse(&server).expect("valid PostgreSQL URL");
    url.set_path(&name);
    Some(url.to_string())
}

/// Test databases older than an hour are left-overs of earlier runs (tests
/// finish in minutes): drop them so the server does not fill up. One in use is
/// kept (PostgreSQL refuses to drop it).
async fn drop_stale_databases(admin: &mut sqlx::PgConnection) {
    static ONCE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    ONCE.get_or_init(|| async {
        let stale: Vec<(String,)> = sqlx::query_as(
            "SELECT d.datname::text FROM pg_database d WHERE d.datname LIKE 'flockrelay_test_%' \
             AND (pg_stat_file('base/' || d.oid || '/PG_VERSION')).modification < now() - interval '1 hour'",
        )
        .fetch_all(&mut *admin)
        .await
        .unwrap_or_default();
        for (name,) in stale {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&mut *admin).await;
        }
    })
    .await;
}

/// A PostgreSQL store on a new, empty database.
pub async fn postgres(test: &str) -> Option<Arc<dyn Store>> {
    let url = postgres_url(test).await?;
    Some(store::open(&url, &SecretKey::generate()).await.expect("PostgreSQL store opens"))
}
