//! API tokens for automation. A token acts for the identity that created it, with that
//! identity's groups at creation time; the secret is shown once and kept as a SHA-256.

use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError, Tx, corrupt, hash_secret, random_id};
use crate::identity::{Identity, IdentitySource};

/// A token as listed to its owner (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// The token's public id (the part before the dot of the secret).
    pub id: String,
    /// What the owner called it.
    pub name: String,
    /// Created (Unix ms).
    pub created_at: i64,
    /// Expires (Unix ms).
    pub expires_at: i64,
    /// Revoked (Unix ms), if it was.
    pub revoked_at: Option<i64>,
}

/// The prefix of every token secret, so leaked tokens are easy to find in logs and code.
pub const TOKEN_PREFIX: &str = "mkt_";

impl Store {
    /// The identity a token secret stands for, unless unknown, expired at `now` or revoked.
    pub async fn token_identity(&self, secret: &str, now: i64) -> Result<Option<Identity>, StoreError> {
        let row = sqlx::query(
            "SELECT identity_json FROM api_tokens WHERE secret_hash = $1 AND expires_at > $2 AND revoked_at IS NULL",
        )
        .bind(hash_secret(secret))
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            let json: String = row.try_get("identity_json")?;
            serde_json::from_str(&json).map_err(|e| corrupt("token identity", e))
        })
        .transpose()
    }

    /// The tokens `username` created, newest first.
    pub async fn tokens_of(&self, username: &str) -> Result<Vec<TokenInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, expires_at, revoked_at FROM api_tokens WHERE username = $1 \
             ORDER BY created_at DESC",
        )
        .bind(username)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(TokenInfo {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    revoked_at: row.try_get("revoked_at")?,
                })
            })
            .collect()
    }
}

impl Tx {
    /// Creates a token for `identity`; returns its info and the secret (shown once).
    pub async fn create_token(
        &mut self,
        identity: &Identity,
        name: &str,
        at: i64,
        expires_at: i64,
    ) -> Result<(TokenInfo, String), StoreError> {
        let id = random_id(6);
        let secret = format!("{TOKEN_PREFIX}{id}.{}", random_id(24));
        let mut acting = identity.clone();
        acting.source = IdentitySource::Token;
        let identity_json = serde_json::to_string(&acting).map_err(|e| corrupt("token identity", e))?;
        sqlx::query(
            "INSERT INTO api_tokens (id, secret_hash, name, username, identity_json, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(hash_secret(&secret))
        .bind(name)
        .bind(&identity.username)
        .bind(identity_json)
        .bind(at)
        .bind(expires_at)
        .execute(self.conn())
        .await?;
        Ok((TokenInfo { id, name: name.to_string(), created_at: at, expires_at, revoked_at: None }, secret))
    }

    /// Revokes `username`'s token `id`; false when they have no such live token.
    pub async fn revoke_token(&mut self, username: &str, id: &str, at: i64) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND username = $3 AND revoked_at IS NULL")
                .bind(at)
                .bind(id)
                .bind(username)
                .execute(self.conn())
                .await?;
        Ok(done.rows_affected() == 1)
    }
}
