//! The portal's SQL storage (sqlx): SQLite as the embedded default, PostgreSQL in
//! production. One schema of portable SQL (`portal/migrations/`), run at start-up; every
//! query uses `$n` placeholders, which both databases accept.
//!
//! Every write a user action makes goes through a [`Tx`], which commits only together
//! with the action's audit record: an action that cannot be recorded does not happen.

pub mod accounts;
pub mod audit;
pub mod audit_chain;
pub mod audit_shipping;
pub mod login_throttle;
pub mod preferences;
pub mod requests;
pub mod security_incidents;
pub mod sessions;
pub mod tokens;

use std::{collections::BTreeMap, str::FromStr, time::Duration};

use sqlx::{
    Any, AnyConnection, AnyPool, Executor, Row, Transaction,
    any::{AnyConnectOptions, AnyPoolOptions},
};

use self::audit::AuditEvent;

/// The schema's migrations, embedded in the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Why storage failed. The message is for logs; users see a reference only.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or refused a statement.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("migrating the database schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back (a bug or a hand-edited row).
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    /// The audit record of an action could not be written, so the action was not done.
    #[error("the audit trail cannot be written: {0}")]
    Audit(#[source] sqlx::Error),
}

impl StoreError {
    /// This failure as a failure to record: whatever kept the record from being written.
    pub(crate) fn into_audit(self) -> Self {
        match self {
            Self::Database(error) => Self::Audit(error),
            other => other,
        }
    }
}

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (the embedded default).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The connection pool and the backend it talks to.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to `url` (`sqlite://path/portal.db` or `postgres://…`), creating an
    /// SQLite file if it does not exist, brings the schema up to date when it is not
    /// (which needs the schema owner's rights; see [`Store::migrate`]) and chains audit
    /// rows written before the trail was a chain.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let url = if url.starts_with("sqlite:") && !url.contains('?') { format!("{url}?mode=rwc") } else { url.into() };
        let store = Self::open(&url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects to `url` without creating or changing anything (for checks, which a
    /// read-only role may run).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
        let options = AnyConnectOptions::from_str(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self { pool, backend })
    }

    /// Runs the migrations not yet applied, then chains audit rows written before the
    /// trail was a chain. When everything is applied it changes nothing, so that a role
    /// with no rights on the schema (the portal's, on PostgreSQL) starts; when something
    /// is missing it needs the schema owner's (`makonis portal migrate`).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        if !self.migrations_applied().await {
            MIGRATOR.run(&self.pool).await?;
        }
        let chained = self.chain_earlier_rows().await?;
        if chained > 0 {
            tracing::info!(rows = chained, "audit rows written before the hash chain are now chained");
        }
        Ok(())
    }

    /// Whether every embedded migration is recorded as applied, unchanged (false when
    /// that cannot be read, e.g. on a new database; the migrator then says what differs).
    async fn migrations_applied(&self) -> bool {
        let Ok(rows) =
            sqlx::query("SELECT version, checksum FROM _sqlx_migrations WHERE success").fetch_all(&self.pool).await
        else {
            return false;
        };
        let applied: BTreeMap<i64, Vec<u8>> =
            rows.iter().filter_map(|row| Some((row.try_get("version").ok()?, row.try_get("checksum").ok()?))).collect();
        MIGRATOR.iter().all(|m| applied.get(&m.version).is_some_and(|checksum| *checksum == *m.checksum))
    }

    /// The pool (the store's modules and the SLA ledger share it).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts the transaction of one user action.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(Tx { tx: self.pool.begin().await? })
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// The writes of one user action. They become visible only through [`Tx::commit`],
/// which appends the action's audit record in the same transaction; dropped or rolled
/// back, nothing of it remains.
pub struct Tx {
    tx: Transaction<'static, Any>,
}

impl Tx {
    /// The transaction's connection, for the store's modules.
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Appends `event` to the audit trail and commits. Fails with
    /// [`StoreError::Audit`] (and nothing is kept) when the record cannot be written.
    pub async fn commit(mut self, event: &AuditEvent) -> Result<(), StoreError> {
        audit::append(&mut self.tx, event).await.map_err(StoreError::Audit)?;
        self.tx.commit().await.map_err(StoreError::Audit)
    }

    /// Discards the writes (an action refused after it started).
    pub async fn rollback(self) -> Result<(), StoreError> {
        Ok(self.tx.rollback().await?)
    }
}

/// The current time as Unix milliseconds (UTC).
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// A random identifier of `bytes` random bytes, as lower-case hex.
pub fn random_id(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).expect("the operating system's random source");
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of `secret`, as lower-case hex: how tokens are kept.
pub fn hash_secret(secret: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {error}"))
}

impl Store {
    /// A plain connection pool to `url` without migrations, for administrative
    /// statements (tests create their databases with it).
    pub async fn admin_connection(url: &str) -> Result<AnyPool, StoreError> {
        sqlx::any::install_default_drivers();
        Ok(AnyPoolOptions::new().max_connections(1).connect(url).await?)
    }
}
