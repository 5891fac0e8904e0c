//! Browser sessions. The cookie carries a random token; the database keeps its SHA-256,
//! the identity it stands for and the session's CSRF token.

use sqlx::Row;

use super::{Store, StoreError, Tx, corrupt, hash_secret};
use crate::identity::Identity;

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Who is signed in.
    pub identity: Identity,
    /// The token every form of this session must carry.
    pub csrf_token: String,
    /// When the session ends (Unix ms).
    pub expires_at: i64,
}

impl Store {
    /// The session of cookie token `token`, unless it does not exist or has expired at `now`.
    pub async fn session(&self, token: &str, now: i64) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(
            "SELECT identity_json, csrf_token, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(hash_secret(token))
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            let identity: String = row.try_get("identity_json")?;
            Ok(Session {
                identity: serde_json::from_str(&identity).map_err(|e| corrupt("session identity", e))?,
                csrf_token: row.try_get("csrf_token")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
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

impl Tx {
    /// Stores a new session for the cookie token `token`.
    pub async fn create_session(
        &mut self,
        token: &str,
        session: &Session,
        source_ip: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let identity = serde_json::to_string(&session.identity).map_err(|e| corrupt("session identity", e))?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, identity_json, csrf_token, source_ip, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(hash_secret(token))
        .bind(identity)
        .bind(&session.csrf_token)
        .bind(source_ip)
        .bind(at)
        .bind(session.expires_at)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Ends the session of cookie token `token`.
    pub async fn delete_session(&mut self, token: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(hash_secret(token)).execute(self.conn()).await?;
        Ok(())
    }
}
