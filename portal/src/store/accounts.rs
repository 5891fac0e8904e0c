//! Local accounts: the embedded default's users and the break-glass administrators.
//! Passwords are kept only as argon2 hashes.

use sqlx::Row;

use super::{Store, StoreError, corrupt};
use crate::identity::{Identity, IdentitySource};

/// A local account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Login name (lower case).
    pub username: String,
    /// The argon2 hash (PHC string) of the password.
    pub password_hash: String,
    /// Name shown on pages.
    pub display_name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Groups the account is a member of (the same names directory groups have).
    pub groups: Vec<String>,
}

impl Account {
    /// The identity of whoever signs in with this account.
    pub fn identity(self) -> Identity {
        Identity {
            username: self.username,
            display_name: self.display_name,
            email: self.email,
            groups: self.groups,
            source: IdentitySource::Local,
        }
    }
}

impl Store {
    /// Creates the account, or replaces the one with the same username.
    pub async fn put_account(&self, account: &Account, at: i64) -> Result<(), StoreError> {
        let groups = serde_json::to_string(&account.groups).map_err(|e| corrupt("account groups", e))?;
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM accounts WHERE username = $1").bind(&account.username).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO accounts (username, password_hash, display_name, email, groups_json, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&account.username)
        .bind(&account.password_hash)
        .bind(&account.display_name)
        .bind(&account.email)
        .bind(groups)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The account called `username`, if there is one.
    pub async fn account(&self, username: &str) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query(
            "SELECT username, password_hash, display_name, email, groups_json FROM accounts WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            let groups: String = row.try_get("groups_json")?;
            Ok(Account {
                username: row.try_get("username")?,
                password_hash: row.try_get("password_hash")?,
                display_name: row.try_get("display_name")?,
                email: row.try_get("email")?,
                groups: serde_json::from_str(&groups).map_err(|e| corrupt("account groups", e))?,
            })
        })
        .transpose()
    }

    /// How many local accounts exist.
    pub async fn account_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM accounts").fetch_one(self.pool()).await?.try_get("n")?)
    }
}
