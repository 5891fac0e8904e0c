//! Sign-in throttling counters, shared by every replica through the database: an attempt
//! takes a slot of each of its counters before its password is checked, all or none, in one
//! transaction ([`crate::identity::ratelimit`] says which counters and how many slots).

use sqlx::Row;

use super::{Store, StoreError};
use crate::identity::ratelimit::{Counter, Scope};

/// Whether a sign-in attempt may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// A slot of every counter is taken: check the password.
    Granted,
    /// A counter is full; nothing was taken.
    Blocked {
        /// The full counter.
        scope: Scope,
        /// Milliseconds until its window ends.
        retry_after_ms: i64,
    },
}

impl Store {
    /// Takes a slot of each of `counters` at `now`, each in a window of `window_ms` that
    /// starts with its first attempt, or none when one is full.
    pub async fn claim_sign_in(&self, counters: &[Counter], window_ms: i64, now: i64) -> Result<Claim, StoreError> {
        let mut tx = self.pool().begin().await?;
        for counter in counters {
            // A write first: SQLite serialises from here, PostgreSQL locks the row below.
            sqlx::query(
                "INSERT INTO login_throttle (key, window_start, attempts) VALUES ($1, $2, 0) ON CONFLICT (key) DO NOTHING",
            )
            .bind(&counter.key)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE login_throttle SET window_start = $2, attempts = 0 WHERE key = $1 AND window_start <= $3",
            )
            .bind(&counter.key)
            .bind(now)
            .bind(now - window_ms)
            .execute(&mut *tx)
            .await?;
            let taken =
                sqlx::query("UPDATE login_throttle SET attempts = attempts + 1 WHERE key = $1 AND attempts < $2")
                    .bind(&counter.key)
                    .bind(counter.limit)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            if taken == 0 {
                let started: i64 = sqlx::query("SELECT window_start FROM login_throttle WHERE key = $1")
                    .bind(&counter.key)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("window_start")?;
                tx.rollback().await?;
                return Ok(Claim::Blocked { scope: counter.scope, retry_after_ms: (started + window_ms - now).max(1) });
            }
        }
        tx.commit().await?;
        Ok(Claim::Granted)
    }

    /// Gives back the slots an attempt took when it was not a wrong password: a success
    /// (which also forgets the account's failures from that address) or a failure that was
    /// not the user's (the directory could not be asked).
    pub async fn release_sign_in(&self, counters: &[Counter], success: bool) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for counter in counters {
            let statement = if success && counter.scope == Scope::AccountFromAddress {
                "DELETE FROM login_throttle WHERE key = $1"
            } else {
                "UPDATE login_throttle SET attempts = attempts - 1 WHERE key = $1 AND attempts > 0"
            };
            sqlx::query(statement).bind(&counter.key).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Forgets counters whose window ended before `now`; returns how many.
    pub async fn purge_login_throttle(&self, window_ms: i64, now: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM login_throttle WHERE window_start <= $1")
            .bind(now - window_ms)
            .execute(self.pool())
            .await?
            .rows_affected())
    }
}
