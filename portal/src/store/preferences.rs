//! Per-user preferences that outlive a session: the chosen language.

use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    /// Remembers `lang` (`lv` or `en`) for `username`.
    pub async fn set_language(&self, username: &str, lang: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO preferences (username, lang) VALUES ($1, $2) \
             ON CONFLICT (username) DO UPDATE SET lang = excluded.lang",
        )
        .bind(username)
        .bind(lang)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The language `username` chose, if they ever did.
    pub async fn language(&self, username: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT lang FROM preferences WHERE username = $1")
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|row| row.try_get("lang")).transpose()?)
    }
}
