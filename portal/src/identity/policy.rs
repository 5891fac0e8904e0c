//! The domain's password policy as the password form shows it, read from the directory
//! at most once per refresh period: the form is open to anyone, and each read is a
//! connection, a bind and two searches that an anonymous client must not be able to
//! multiply. A failed read is not kept, so the next form tries again.

use std::time::{Duration, Instant};

use makonis_api::identity::PasswordPolicy;
use tokio::sync::Mutex;

use super::ldap::{DirectoryConfig, password_policy};

/// The last policy read, and when.
#[derive(Default)]
pub struct PolicyCache(Mutex<Option<(Instant, Option<PasswordPolicy>)>>);

impl PolicyCache {
    /// The policy of `directory`, read again when the one kept is older than `refresh`;
    /// `None` when the directory has none to show or cannot be read now (logged).
    pub async fn get(&self, directory: &DirectoryConfig, refresh: Duration) -> Option<PasswordPolicy> {
        let mut kept = self.0.lock().await;
        if let Some((read_at, policy)) = kept.as_ref()
            && read_at.elapsed() < refresh
        {
            return policy.clone();
        }
        match password_policy(directory).await {
            Ok(policy) => {
                *kept = Some((Instant::now(), policy.clone()));
                policy
            }
            Err(error) => {
                tracing::warn!(%error, "the domain's password policy could not be read; the form shows no rules");
                None
            }
        }
    }
}
