//! Upgrades: a database of every schema version an earlier relay could have
//! left, on both engines, opens with today's store — sqlx's migrator takes over
//! from the relay's old one, applies what is missing, keeps every row — and a
//! second start changes nothing. A migration file changed after it was applied
//! stops the relay with a message naming it.

use chrono::{TimeZone as _, Utc};
use flockrelay::store::key::SecretKey;
use flockrelay::store::{self, MessageFilter, MessageStatus};
use sqlx::{Connection as _, Row as _};

use crate::support::schema::{earlier_versions, migrations, write_version};
use crate::support::stores::postgres_url;

/// One alert and its message, in the columns every schema version has had.
async fn store_an_old_message(old: &mut sqlx::AnyConnection, version: i64) {
    let created = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).single().expect("a time").timestamp_millis();
    sqlx::query(
        "INSERT INTO alerts (id, flock_id, kind, received_at, messages) VALUES ($1, 'flock:default', 'k', $2, 1)",
    )
    .bind(format!("alert-v{version}"))
    .bind(created)
    .execute(&mut *old)
    .await
    .expect("stores an old alert");
    sqlx::query(
        "INSERT INTO messages (id, alert_id, destination_id, flock_id, kind, status, body, created_at, next_attempt_at) \
         VALUES ($1, $2, 'hook', 'flock:default', 'generic', 'pending', '{}', $3, $3)",
    )
    .bind(format!("msg-v{version}"))
    .bind(format!("alert-v{version}"))
    .bind(created)
    .execute(&mut *old)
    .await
    .expect("stores an old message");
}

/// The versions `_sqlx_migrations` records as applied successfully.
async fn recorded(url: &str) -> Vec<i64> {
    let mut connection = sqlx::AnyConnection::connect(url).await.expect("connects");
    let rows = sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version")
        .fetch_all(&mut connection)
        .await
        .expect("reads the migrations table");
    rows.iter().map(|row| row.try_get::<i64, _>("version").expect("version")).collect()
}

async fn every_earlier_version_opens_and_keeps_its_rows(url_for: impl AsyncFn(i64) -> Option<String>) {
    let Some(probe) = url_for(0).await else { return };
    let all: Vec<i64> = migrations(&probe).into_iter().map(|(version, _)| version).collect();
    for version in earlier_versions(&probe) {
        let Some(url) = url_for(version).await else { return };
        let mut old = write_version(&url, version).await;
        store_an_old_message(&mut old, version).await;
        old.close().await.expect("closes");

        let key = SecretKey::generate();
        let opened = store::open(&url, &key).await;
        let store = opened.unwrap_or_else(|error| panic!("version {version} does not open: {error}"));
        assert_eq!(recorded(&url).await, all, "version {version}: every migration recorded for sqlx");
        let listed = store.messages(&MessageFilter { limit: 10, ..MessageFilter::default() }).await.expect("lists");
        assert_eq!(listed.len(), 1, "version {version}: the old message is kept");
        assert_eq!((listed[0].destination_id.as_str(), listed[0].status), ("hook", MessageStatus::Pending));
        drop(store);

        let again = store::open(&url, &key).await;
        assert!(again.is_ok(), "version {version}: a second start fails: {:?}", again.err());
        assert_eq!(recorded(&url).await, all, "version {version}: a second start changes nothing");
    }
}

#[tokio::test]
async fn sqlite_databases_of_every_earlier_version_open_and_keep_their_rows() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let base = dir.path().to_owned();
    every_earlier_version_opens_and_keeps_their_rows_sqlite(&base).await;
}

async fn every_earlier_version_opens_and_keeps_their_rows_sqlite(base: &std::path::Path) {
    every_earlier_version_opens_and_keeps_its_rows(async |version: i64| {
        Some(format!("sqlite://{}?mode=rwc", base.join(format!("relay-v{version}.db")).display()))
    })
    .await;
}

#[tokio::test]
async fn postgres_databases_of_every_earlier_version_open_and_keep_their_rows() {
    every_earlier_version_opens_and_keeps_its_rows(async |_version: i64| {
        postgres_url("upgrades::postgres_databases_of_every_earlier_version_open_and_keep_their_rows").await
    })
    .await;
}

#[tokio::test]
async fn a_new_database_is_migrated_by_sqlx_alone() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("relay.db").display());
    store::open(&url, &SecretKey::generate()).await.expect("opens");
    let all: Vec<i64> = migrations(&url).into_iter().map(|(version, _)| version).collect();
    assert_eq!(recorded(&url).await, all);
    let mut connection = sqlx::AnyConnection::connect(&url).await.expect("connects");
    let old_table = sqlx::query("SELECT name FROM sqlite_master WHERE name = 'flockrelay_migrations'")
        .fetch_optional(&mut connection)
        .await
        .expect("reads");
    assert!(old_table.is_none(), "the old migrations table is not created any more");
}

#[tokio::test]
async fn a_migration_changed_after_it_was_applied_stops_the_relay_naming_it() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("relay.db").display());
    let key = SecretKey::generate();
    drop(store::open(&url, &key).await.expect("opens"));
    let mut connection = sqlx::AnyConnection::connect(&url).await.expect("connects");
    sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 2")
        .bind(vec![0_u8; 48])
        .execute(&mut connection)
        .await
        .expect("tampers");
    connection.close().await.expect("closes");
    let error = store::open(&url, &key).await.err().expect("refused").to_string();
    assert!(error.starts_with("cannot bring the database to this relay's schema:"), "{error}");
    assert!(error.contains('2'), "names the migration: {error}");
}
