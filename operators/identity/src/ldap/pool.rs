//! One connection per Directory, opened on first use, made again when its settings
//! change or it broke.

use std::collections::HashMap;

use tokio::sync::Mutex;

use super::{Connection, DirectoryError, LdapMetrics, Settings};

/// The open connections, by Directory name.
pub struct Pool {
    open: Mutex<HashMap<String, (Settings, Connection)>>,
    metrics: LdapMetrics,
}

impl Pool {
    /// An empty pool whose connections record into `metrics`.
    pub fn new(metrics: LdapMetrics) -> Self {
        Self { open: Mutex::default(), metrics }
    }

    /// The connection for `directory` with `settings`: the open one when its settings are
    /// the same and it is not closed, a new one otherwise. The lock is held while
    /// connecting so that a burst of reconciles opens one connection, not hundreds.
    pub async fn get(&self, directory: &str, settings: &Settings) -> Result<Connection, DirectoryError> {
        let mut open = self.open.lock().await;
        if let Some((known, connection)) = open.get(directory)
            && known == settings
            && !connection.is_closed()
        {
            return Ok(connection.clone());
        }
        let connection = Connection::open(settings, self.metrics.clone()).await?;
        open.insert(directory.to_string(), (settings.clone(), connection.clone()));
        Ok(connection)
    }

    /// Forgets the connection of `directory` after `error`, when the error says it broke.
    pub async fn forget_if_broken(&self, directory: &str, error: &DirectoryError) {
        if error.breaks_connection() {
            self.open.lock().await.remove(directory);
        }
    }
}
