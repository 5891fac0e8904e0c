//! The store's two databases, for the tests that run on each: SQLite files in a fresh
//! directory, and a fresh database on the PostgreSQL server at
//! `MAKONIS_TEST_POSTGRES_URL` (`tests/db/postgres.sh start`, which ./test.sh runs).

#![allow(dead_code)] // each test binary uses a different part

use std::{
    path::Path,
    sync::atomic::{AtomicU32, Ordering},
};

use jiff::SignedDuration;
use makonis_siem::store::{Backend, Config, PartitionKey, PostgresConfig};
use makonis_siem_core::block::{BlockEvent, decode, encode};
use sqlx::{AnyConnection, Connection as _, Row as _};

/// Which database a store is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SQLite files under a directory.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

/// The databases to test on: SQLite always, PostgreSQL unless `MAKONIS_TEST_POSTGRES_URL`
/// is unset, which is said loudly.
pub fn kinds() -> Vec<Kind> {
    if std::env::var_os("MAKONIS_TEST_POSTGRES_URL").is_some() {
        return vec![Kind::Sqlite, Kind::Postgres];
    }
    eprintln!(
        "\n*** SKIPPING POSTGRESQL: MAKONIS_TEST_POSTGRES_URL is not set; start it with \
         tests/db/postgres.sh start and eval \"$(tests/db/postgres.sh env)\" (./test.sh does) ***\n"
    );
    vec![Kind::Sqlite]
}

/// A new, empty database on the test server; its URL.
pub async fn postgres_database() -> String {
    postgres_database_on(&std::env::var("MAKONIS_TEST_POSTGRES_URL").expect("MAKONIS_TEST_POSTGRES_URL")).await
}

/// A new, empty database on the server of `url`; its URL.
pub async fn postgres_database_on(url: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "siem_test_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        jiff::Timestamp::now().as_microsecond() % 1_000_000
    );
    let mut admin = connect(url).await;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("CREATE DATABASE");
    let base = url.rsplit_once('/').map(|(base, _)| base).expect("a database URL");
    format!("{base}/{name}")
}

/// A store's settings on `kind`: its SQLite files under `dir/store`, or a new database;
/// the checkpoint log under `dir/elsewhere` either way.
pub async fn backend(kind: Kind, dir: &Path) -> Backend {
    let checkpoint_log = dir.join("elsewhere/checkpoints.jsonl");
    let skew_limit = SignedDuration::from_mins(5);
    match kind {
        Kind::Sqlite => Config { root: dir.join("store"), checkpoint_log, skew_limit }.into(),
        Kind::Postgres => PostgresConfig { url: postgres_database().await, checkpoint_log, skew_limit }.into(),
    }
}

/// The bytes a store's events take: every file under its SQLite root (write-ahead logs
/// too), or its PostgreSQL partitions' tables, TOAST and indexes.
pub async fn stored_bytes(backend: &Backend) -> u64 {
    fn under(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|entry| match entry.metadata() {
                        Ok(meta) if meta.is_dir() => under(&entry.path()),
                        Ok(meta) => meta.len(),
                        Err(_) => 0,
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    match backend {
        Backend::Sqlite(config) => under(&config.root),
        Backend::Postgres(config) => {
            let mut db = connect(&config.url).await;
            let bytes: i64 = sqlx::query_scalar(
                "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0)::bigint FROM pg_inherits \
                 WHERE inhparent = 'siem.blocks'::regclass",
            )
            .fetch_one(&mut db)
            .await
            .expect("the partitions' sizes");
            bytes as u64
        }
    }
}

/// A connection to a database as someone with access to it would open one, for
/// `sqlite://FILE` or `postgres://…`.
pub async fn connect(url: &str) -> AnyConnection {
    sqlx::any::install_default_drivers();
    AnyConnection::connect(url).await.unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// A connection to the database that holds `partition` (its SQLite file), as someone with
/// access to the disk or the database would open one.
pub async fn partition_connection(backend: &Backend, partition: PartitionKey) -> AnyConnection {
    match backend {
        Backend::Sqlite(config) => connect(&format!("sqlite://{}", partition.path(&config.root).display())).await,
        Backend::Postgres(config) => connect(&config.url).await,
    }
}

/// The table of `partition`'s blocks and the condition that selects its rows there.
pub fn blocks_table(backend: &Backend, partition: PartitionKey) -> (&'static str, String) {
    match backend {
        Backend::Sqlite(_) => ("blocks", "1 = 1".to_owned()),
        Backend::Postgres(_) => ("siem.blocks", format!("partition = '{}'", partition.name())),
    }
}

/// Changes stored event `seq` of `partition` behind the store's back, as someone with the
/// database and the store's source could: the block that holds it read, decoded, changed
/// and written back.
pub async fn tamper(backend: &Backend, partition: PartitionKey, seq: u64, change: impl Fn(&mut BlockEvent)) {
    let (table, within) = blocks_table(backend, partition);
    let mut db = partition_connection(backend, partition).await;
    let select =
        format!("SELECT first_seq, body FROM {table} WHERE {within} AND first_seq <= $1 ORDER BY first_seq DESC");
    let row = sqlx::query(&select).bind(seq as i64).fetch_one(&mut db).await.expect("the block that holds the event");
    let first_seq: i64 = row.get(0);
    let mut events = decode(&row.get::<Vec<u8>, _>(1)).expect("a block the store wrote");
    change(events.iter_mut().find(|e| e.seq == seq).expect("the event in its block"));
    let update = format!("UPDATE {table} SET body = $1 WHERE {within} AND first_seq = $2");
    sqlx::query(&update).bind(encode(&events).unwrap()).bind(first_seq).execute(&mut db).await.expect("write it back");
}
