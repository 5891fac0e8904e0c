//! API tokens for automation. A token acts for the user who created it, with that user's
//! groups as last checked: the owner is looked up again once the check is older than the
//! configured interval ([`crate::identity::recheck`]), and a token whose owner left the
//! directory is revoked. The secret is shown once and kept as a SHA-256. Each token is
//! listed under the agencies its owner held a role in at the last check, whose
//! administrators may revoke it; its last use (when, from where) is kept.

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::{Store, StoreError, Tx, corrupt, hash_secret, random_id};
use crate::identity::Identity;

/// A token as listed (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// The token's public id (the part before the dot of the secret).
    pub id: String,
    /// Who created it and whom it acts for.
    pub owner: String,
    /// What the owner called it.
    pub name: String,
    /// Created (Unix ms).
    pub created_at: i64,
    /// Expires (Unix ms).
    pub expires_at: i64,
    /// Revoked (Unix ms), if it was.
    pub revoked_at: Option<i64>,
    /// Who revoked it: its owner's or an administrator's username, or `portal` when the
    /// owner left the directory.
    pub revoked_by: Option<String>,
    /// Last used (Unix ms, to the minute), if ever.
    pub last_used_at: Option<i64>,
    /// The client address of the last use.
    pub last_used_ip: Option<String>,
}

/// A live token, as the API's authentication needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The token's public id.
    pub id: String,
    /// Its owner's username.
    pub username: String,
    /// The owner's identity as last checked (`None` if it must be looked up first).
    pub identity: Option<Identity>,
    /// When the owner was last checked (Unix ms; 0: never).
    pub checked_at: i64,
    /// When it was last used, as recorded (to the minute).
    pub last_used_at: Option<i64>,
    /// From where it was last used.
    pub last_used_ip: Option<String>,
}

impl TokenRecord {
    /// Whether a use at `at` from `address` must be written down: the recorded one is older
    /// than a minute, or from another address.
    pub fn use_is_news(&self, address: &str, at: i64) -> bool {
        self.last_used_ip.as_deref() != Some(address)
            || self.last_used_at.is_none_or(|last| last <= at - LAST_USE_RESOLUTION_MS)
    }
}

/// The prefix of every token secret, so leaked tokens are easy to find in logs and code.
pub const TOKEN_PREFIX: &str = "mkt_";

/// Who revokes a token whose owner is gone.
pub const REVOKED_BY_PORTAL: &str = "portal";

/// A last use is written at most once per this many milliseconds per token.
const LAST_USE_RESOLUTION_MS: i64 = 60_000;

const INFO_COLUMNS: &str =
    "t.id, t.username, t.name, t.created_at, t.expires_at, t.revoked_at, t.revoked_by, t.last_used_at, t.last_used_ip";

fn info(row: &sqlx::any::AnyRow) -> Result<TokenInfo, StoreError> {
    Ok(TokenInfo {
        id: row.try_get("id")?,
        owner: row.try_get("username")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        revoked_by: row.try_get("revoked_by")?,
        last_used_at: row.try_get("last_used_at")?,
        last_used_ip: row.try_get("last_used_ip")?,
    })
}

async fn set_agencies(conn: &mut AnyConnection, id: &str, agencies: &[String]) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM api_token_agencies WHERE token_id = $1").bind(id).execute(&mut *conn).await?;
    for agency in agencies {
        sqlx::query("INSERT INTO api_token_agencies (token_id, agency) VALUES ($1, $2)")
            .bind(id)
            .bind(agency)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

impl Store {
    /// The live token of `secret`, unless unknown, expired at `now` or revoked.
    pub async fn token(&self, secret: &str, now: i64) -> Result<Option<TokenRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, username, identity_json, checked_at, last_used_at, last_used_ip FROM api_tokens \
             WHERE secret_hash = $1 AND expires_at > $2 AND revoked_at IS NULL",
        )
        .bind(hash_secret(secret))
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            let json: String = row.try_get("identity_json")?;
            Ok(TokenRecord {
                id: row.try_get("id")?,
                username: row.try_get("username")?,
                // Tokens made before re-checks kept another form: looked up afresh.
                identity: serde_json::from_str(&json).ok(),
                checked_at: row.try_get("checked_at")?,
                last_used_at: row.try_get("last_used_at")?,
                last_used_ip: row.try_get("last_used_ip")?,
            })
        })
        .transpose()
    }

    /// Records the owner of token `id` as checked at `at`: `identity`, holding roles in
    /// `agencies`.
    pub async fn token_checked(
        &self,
        id: &str,
        identity: &Identity,
        agencies: &[String],
        at: i64,
    ) -> Result<(), StoreError> {
        let identity_json = serde_json::to_string(identity).map_err(|e| corrupt("token identity", e))?;
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE api_tokens SET identity_json = $1, checked_at = $2 WHERE id = $3")
            .bind(identity_json)
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        set_agencies(&mut tx, id, agencies).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a use of token `id` from `address` at `at` (callers write only uses that
    /// are news: see [`TokenRecord::use_is_news`]).
    pub async fn token_used(&self, id: &str, address: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1, last_used_ip = $2 WHERE id = $3")
            .bind(at)
            .bind(address)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The tokens `username` created, newest first.
    pub async fn tokens_of(&self, username: &str) -> Result<Vec<TokenInfo>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {INFO_COLUMNS} FROM api_tokens t WHERE t.username = $1 ORDER BY t.created_at DESC"
        ))
        .bind(username)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(info).collect()
    }

    /// The tokens listed under `agency` (their owners held a role there at the last check),
    /// newest first.
    pub async fn agency_tokens(&self, agency: &str) -> Result<Vec<TokenInfo>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {INFO_COLUMNS} FROM api_tokens t JOIN api_token_agencies a ON a.token_id = t.id \
             WHERE a.agency = $1 ORDER BY t.created_at DESC"
        ))
        .bind(agency)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(info).collect()
    }
}

/// Token writes that are user actions: committed with their audit record.
impl Tx {
    /// Creates a token for `identity` (checked now, at `at`), listed under `agencies`;
    /// returns its info and the secret (shown once).
    pub async fn create_token(
        &mut self,
        identity: &Identity,
        agencies: &[String],
        name: &str,
        at: i64,
        expires_at: i64,
    ) -> Result<(TokenInfo, String), StoreError> {
        let id = random_id(6);
        let secret = format!("{TOKEN_PREFIX}{id}.{}", random_id(24));
        let identity_json = serde_json::to_string(identity).map_err(|e| corrupt("token identity", e))?;
        sqlx::query(
            "INSERT INTO api_tokens (id, secret_hash, name, username, identity_json, created_at, expires_at, \
             checked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(hash_secret(&secret))
        .bind(name)
        .bind(&identity.username)
        .bind(identity_json)
        .bind(at)
        .bind(expires_at)
        .bind(at)
        .execute(&mut *self.conn())
        .await?;
        set_agencies(self.conn(), &id, agencies).await?;
        let info = TokenInfo {
            id,
            owner: identity.username.clone(),
            name: name.to_string(),
            created_at: at,
            expires_at,
            revoked_at: None,
            revoked_by: None,
            last_used_at: None,
            last_used_ip: None,
        };
        Ok((info, secret))
    }

    /// Revokes `username`'s own token `id`; false when they have no such live token.
    pub async fn revoke_token(&mut self, username: &str, id: &str, at: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1, revoked_by = $3, revoked_reason = 'owner' \
             WHERE id = $2 AND username = $3 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .bind(username)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Revokes token `id` listed under `agency`, as administrator `by`; false when no such
    /// live token is listed there.
    pub async fn revoke_agency_token(&mut self, agency: &str, id: &str, by: &str, at: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1, revoked_by = $2, revoked_reason = 'administrator' \
             WHERE id = $3 AND revoked_at IS NULL \
             AND id IN (SELECT token_id FROM api_token_agencies WHERE agency = $4)",
        )
        .bind(at)
        .bind(by)
        .bind(id)
        .bind(agency)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Revokes token `id` because its owner no longer exists or is disabled.
    pub async fn revoke_token_of_gone_owner(&mut self, id: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1, revoked_by = $2, revoked_reason = 'owner_gone' \
             WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(REVOKED_BY_PORTAL)
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
