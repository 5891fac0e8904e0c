//! Shared by the portal's integration tests: fresh stores on both databases.

#![allow(dead_code)]

use makonis_portal::store::{Store, random_id};

/// A fresh, migrated SQLite store in its own file under the system's temporary directory.
pub async fn sqlite_store() -> Store {
    sqlite_store_at().await.0
}

/// Like [`sqlite_store`], with the database's URL (for other processes).
pub async fn sqlite_store_at() -> (Store, String) {
    let dir = std::env::temp_dir().join(format!("makonis-portal-test-{}", random_id(6)));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let url = format!("sqlite://{}/portal.db", dir.display());
    (Store::connect(&url).await.expect("an SQLite store"), url)
}

/// The URL of the PostgreSQL server's default database (`MAKONIS_TEST_POSTGRES_URL`).
pub fn postgres_url() -> String {
    std::env::var("MAKONIS_TEST_POSTGRES_URL").expect(
        "MAKONIS_TEST_POSTGRES_URL is not set: start PostgreSQL with tests/db/postgres.sh start and \
         eval \"$(tests/db/postgres.sh env)\", or run ./test.sh",
    )
}

/// A new, empty database on the PostgreSQL server, owned by `owner` when given; its URL
/// (as the server's user, without a role of its own).
pub async fn postgres_database(owner: Option<&str>) -> String {
    let url = postgres_url();
    let name = format!("portal_test_{}", random_id(6));
    let admin = Store::admin_connection(&url).await.expect("PostgreSQL reachable");
    let owned = owner.map(|role| format!(" OWNER {role}")).unwrap_or_default();
    sqlx::query(&format!("CREATE DATABASE {name}{owned}")).execute(&admin).await.expect("CREATE DATABASE");
    let base = url.rsplit_once('/').map(|(base, _)| base).expect("a database URL");
    format!("{base}/{name}")
}

/// A fresh, migrated PostgreSQL store in a new database of the server at
/// `MAKONIS_TEST_POSTGRES_URL` (started by `tests/db/postgres.sh`, which ./test.sh runs).
pub async fn postgres_store() -> Store {
    postgres_store_at().await.0
}

/// Like [`postgres_store`], with the database's URL (for other processes).
pub async fn postgres_store_at() -> (Store, String) {
    let url = postgres_database(None).await;
    (Store::connect(&url).await.expect("a PostgreSQL store"), url)
}

/// Both stores, named: every storage test runs on each.
pub async fn both_stores() -> Vec<(&'static str, Store)> {
    vec![("sqlite", sqlite_store().await), ("postgres", postgres_store().await)]
}

pub mod portal;
