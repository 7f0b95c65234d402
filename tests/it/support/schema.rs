//! Databases as earlier relays left them: the migration files up to a version,
//! applied and recorded the way the relay's own migrator did before sqlx's took
//! over (table `flockrelay_migrations`). Upgrade tests write rows into such a
//! database, then open it with today's store.

use sqlx::Connection as _;

use super::root;

/// The migration files of the engine `url` names, as (version, SQL), in order.
pub fn migrations(url: &str) -> Vec<(i64, String)> {
    let engine = if url.starts_with("sqlite:") { "sqlite" } else { "postgres" };
    let mut files: Vec<(i64, String)> = std::fs::read_dir(root().join("migrations").join(engine))
        .expect("the migrations directory")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "sql"))
        .map(|path| {
            let name = path.file_name().and_then(|name| name.to_str()).expect("a UTF-8 name").to_owned();
            let version = name.split('_').next().and_then(|number| number.parse().ok()).expect("NNNN_name.sql");
            (version, std::fs::read_to_string(&path).expect("readable"))
        })
        .collect();
    files.sort();
    files
}

/// The versions an earlier relay could have left a database at: every version
/// before the switch to sqlx's migrator (migration 10 was the last one the old
/// migrator applied).
pub fn earlier_versions(url: &str) -> Vec<i64> {
    migrations(url).into_iter().map(|(version, _)| version).filter(|version| *version <= 10).collect()
}

/// A database at schema `version`, written by the old migrator; the open
/// connection, to store rows of that version.
pub async fn write_version(url: &str, version: i64) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    let mut old = sqlx::AnyConnection::connect(url).await.expect("connects");
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS flockrelay_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut old)
    .await
    .expect("creates the migration table");
    for (number, sql) in migrations(url).into_iter().filter(|(number, _)| *number <= version) {
        sqlx::raw_sql(&sql).execute(&mut old).await.expect("applies an old migration");
        sqlx::query("INSERT INTO flockrelay_migrations (version, applied_at) VALUES ($1, 0)")
            .bind(number)
            .execute(&mut old)
            .await
            .expect("records the migration");
    }
    old
}
