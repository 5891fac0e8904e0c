//! What every pass over the mail system shares.

use k8s_openapi::{ByteString, api::core::v1::Secret};
use kube::{Api, Client, Resource, ResourceExt};
use makonis_api::identity::Directory;
use makonis_operator_kit::{apply::ApiCallError, events::EventPublisher, metrics::ReconcileMetrics};

use super::{MailMetrics, inputs::Stores, keys::DkimKeys, migration::Attempts};
use crate::{config::MailConfig, error::Error, render::DirectoryAccess};

/// The field manager and Event source of the mail controller.
pub const MANAGER: &str = "makonis-mail";

/// Everything a pass needs, passed explicitly.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// Settings from flags.
    pub config: MailConfig,
    /// The watch caches.
    pub stores: Stores,
    /// The DKIM Secrets.
    pub keys: DkimKeys,
    /// Events on the objects.
    pub events: EventPublisher,
    /// Reconcile metrics.
    pub metrics: ReconcileMetrics,
    /// The mail system's metrics.
    pub mail_metrics: MailMetrics,
    /// When each migration last ran.
    pub migration_attempts: Attempts,
}

impl Context {
    /// Whether this instance writes `object`'s status: always without a selector; with
    /// one, only in the namespaces of the selected agencies.
    pub fn manages<K: Resource>(&self, object: &K) -> bool {
        let namespace = object.namespace().unwrap_or_default();
        self.config.selector.is_none() || self.stores.agencies.state().iter().any(|a| a.namespace_name() == namespace)
    }

    /// The mail namespace's Secrets.
    pub fn secrets(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), &self.config.namespace)
    }

    /// How Postfix and Dovecot read `directory`: its URL and base, and the mail system's
    /// own read-only account and CA, from one read of the bind Secret.
    pub async fn directory_access(&self, directory: &Directory) -> Result<DirectoryAccess, Error> {
        let name = &self.config.bind_secret;
        let secret = self
            .secrets()
            .get_opt(name)
            .await
            .map_err(|error| ApiCallError { action: "reading", kind: "Secret".into(), name: name.clone(), error })?
            .ok_or_else(|| Error::Secret(format!("the Secret {name} does not exist in the mail namespace")))?;
        let data = secret.data.unwrap_or_default();
        let text = |key: &str| {
            let ByteString(bytes) =
                data.get(key).ok_or_else(|| Error::Secret(format!("the Secret {name} has no key {key}")))?;
            String::from_utf8(bytes.clone())
                .map_err(|_| Error::Secret(format!("the key {key} of the Secret {name} is not UTF-8 text")))
        };
        Ok(DirectoryAccess {
            url: directory.spec.url.clone(),
            base_dn: directory.spec.base_dn.clone(),
            bind_dn: text("username")?,
            bind_password: text("password")?,
            ca_pem: text("ca.crt")?,
        })
    }
}
