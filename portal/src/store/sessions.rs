//! Browser sessions. The cookie carries a random token whose SHA-256 keys the row; the row
//! also keeps a public id (for the audit trail), the identity it stands for (re-checked
//! now and then, see [`crate::identity::recheck`]) and its login name (a password change
//! ends them all), the session's CSRF token and the browser that opened it.

use sqlx::Row;

use super::{Store, StoreError, Tx, corrupt, hash_secret};
use crate::identity::Identity;

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session's public id: named in the audit trail, useless as a cookie.
    pub id: String,
    /// Who is signed in (as of `checked_at`).
    pub identity: Identity,
    /// The token every form of this session must carry.
    pub csrf_token: String,
    /// When the session ends (Unix ms).
    pub expires_at: i64,
    /// When the identity was last established or re-checked (Unix ms).
    pub checked_at: i64,
}

impl Store {
    /// The session of cookie token `token`, unless it does not exist or has expired at `now`.
    pub async fn session(&self, token: &str, now: i64) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(
            "SELECT id, identity_json, csrf_token, expires_at, checked_at FROM sessions \
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(hash_secret(token))
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            let identity: String = row.try_get("identity_json")?;
            Ok(Session {
                id: row.try_get("id")?,
                identity: serde_json::from_str(&identity).map_err(|e| corrupt("session identity", e))?,
                csrf_token: row.try_get("csrf_token")?,
                expires_at: row.try_get("expires_at")?,
                checked_at: row.try_get("checked_at")?,
            })
        })
        .transpose()
    }

    /// Records that the session of `token` stands for `identity` as checked at `at`.
    pub async fn session_checked(&self, token: &str, identity: &Identity, at: i64) -> Result<(), StoreError> {
        let identity = serde_json::to_string(identity).map_err(|e| corrupt("session identity", e))?;
        sqlx::query("UPDATE sessions SET identity_json = $1, checked_at = $2 WHERE token_hash = $3")
            .bind(identity)
            .bind(at)
            .bind(hash_secret(token))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Removes sessions that expired before `now`; returns how many.
    pub async fn purge_sessions(&self, now: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await?
            .rows_affected())
    }
}

/// Session writes that are user actions: committed with their audit record.
impl Tx {
    /// Stores a new session for the cookie token `token`, opened from `source_ip` by
    /// `user_agent`.
    pub async fn create_session(
        &mut self,
        token: &str,
        session: &Session,
        source_ip: &str,
        user_agent: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let identity = serde_json::to_string(&session.identity).map_err(|e| corrupt("session identity", e))?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, id, identity_json, csrf_token, source_ip, user_agent, created_at, \
             expires_at, checked_at, username) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(hash_secret(token))
        .bind(&session.id)
        .bind(identity)
        .bind(&session.csrf_token)
        .bind(source_ip)
        .bind(user_agent)
        .bind(at)
        .bind(session.expires_at)
        .bind(session.checked_at)
        .bind(session.identity.username.to_lowercase())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Ends every session of the person signed in as `username` (any case); returns how
    /// many there were.
    pub async fn end_sessions_of(&mut self, username: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM sessions WHERE username = $1")
            .bind(username.to_lowercase())
            .execute(self.conn())
            .await?
            .rows_affected())
    }

    /// Ends the session of cookie token `token`.
    pub async fn delete_session(&mut self, token: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(hash_secret(token)).execute(self.conn()).await?;
        Ok(())
    }
}
