//! Shared by the portal's integration tests: fresh stores on both databases.

#![allow(dead_code)]

use makonis_portal::store::{Store, random_id};

/// A fresh, migrated SQLite store in its own file under the system's temporary directory.
pub async fn sqlite_store() -> Store {
    let dir = std::env::temp_dir().join(format!("makonis-portal-test-{}", random_id(6)));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    Store::connect(&format!("sqlite://{}/portal.db", dir.display())).await.expect("an SQLite store")
}

/// A fresh, migrated PostgreSQL store in a new database of the server at
/// `MAKONIS_TEST_POSTGRES_URL` (started by `tests/db/postgres.sh`, which ./test.sh runs).
pub async fn postgres_store() -> Store {
    let url = std::env::var("MAKONIS_TEST_POSTGRES_URL").expect(
        "MAKONIS_TEST_POSTGRES_URL is not set: start PostgreSQL with tests/db/postgres.sh start and \
         eval \"$(tests/db/postgres.sh env)\", or run ./test.sh",
    );
    let name = format!("portal_test_{}", random_id(6));
    let admin = Store::admin_connection(&url).await.expect("PostgreSQL reachable");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.expect("CREATE DATABASE");
    let base = url.rsplit_once('/').map(|(base, _)| base).expect("a database URL");
    Store::connect(&format!("{base}/{name}")).await.expect("a PostgreSQL store")
}

/// Both stores, named: every storage test runs on each.
pub async fn both_stores() -> Vec<(&'static str, Store)> {
    vec![("sqlite", sqlite_store().await), ("postgres", postgres_store().await)]
}

pub mod portal;
