//! The Secret every replica shares: made by whichever replica needs it first (the
//! others read it), renewed before it expires, and watched for changes.

use futures::Stream;
use k8s_openapi::{api::core::v1::Secret, jiff::Timestamp};
use kube::{
    Api, Client, ResourceExt,
    api::PostParams,
    runtime::{WatchStreamExt, watcher},
};

use super::tls::{TlsMaterial, Verdict, generate, judge, read, to_secret};
use crate::{apply::ApiCallError, error::ErrorCategory};

/// How often a replica tries again when other writers keep changing the Secret.
const ATTEMPTS: usize = 3;

/// Why the webhook's certificate could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Generating a key or certificate failed.
    #[error("generating the webhook certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// Other writers changed the Secret every time this replica wrote it.
    #[error(
        "the Secret {0} kept changing while a new webhook certificate was stored; check that one configuration of --webhook-hosts is used by every replica"
    )]
    Contended(String),
    /// A Kubernetes API call failed.
    #[error(transparent)]
    Api(#[from] ApiCallError),
}

impl ErrorCategory for TlsError {
    fn category(&self) -> &'static str {
        match self {
            TlsError::Generate(_) => "Certificate",
            TlsError::Contended(_) => "Conflict",
            TlsError::Api(error) => error.category(),
        }
    }
}

/// The shared certificate Secret of one webhook.
pub struct SharedSecret {
    api: Api<Secret>,
    namespace: String,
    name: String,
    hosts: Vec<String>,
    manager: &'static str,
}

impl SharedSecret {
    /// The Secret `namespace/name` of a webhook serving `hosts`, written as `manager`.
    pub fn new(client: &Client, namespace: &str, name: &str, hosts: &[String], manager: &'static str) -> Self {
        Self {
            api: Api::namespaced(client.clone(), namespace),
            namespace: namespace.into(),
            name: name.into(),
            hosts: hosts.to_vec(),
            manager,
        }
    }

    /// The Secret as the API server holds it now.
    pub async fn read(&self) -> Result<Option<Secret>, ApiCallError> {
        self.api.get_opt(&self.name).await.map_err(|e| self.fail("reading", e))
    }

    /// Changes to the Secret (a watch of this one name).
    pub fn watch(&self) -> impl Stream<Item = Result<watcher::Event<Secret>, watcher::Error>> + Send + 'static {
        let config = watcher::Config::default().fields(&format!("metadata.name={}", self.name));
        watcher(self.api.clone(), config).default_backoff()
    }

    /// The certificate to serve, given the Secret as last seen (`None`: there is none),
    /// and the Secret as stored. A missing, unusable or expiring certificate is replaced,
    /// and so is one made for other hosts when `starting`. Writes are conditional on the
    /// Secret being as seen: when another replica wrote first, its certificate is judged
    /// and, if good, used.
    pub async fn settle(&self, seen: Option<Secret>, starting: bool) -> Result<(TlsMaterial, Secret), TlsError> {
        let mut seen = seen;
        for _ in 0..ATTEMPTS {
            let why = match &seen {
                None => "there is none".to_string(),
                Some(secret) => match judge(secret, &self.hosts, Timestamp::now(), starting) {
                    Verdict::Use(material) => return Ok((material, secret.clone())),
                    Verdict::UseForeign(material, why) => {
                        tracing::warn!(secret = self.name, hosts = ?self.hosts, %why, "serving the webhook certificate another replica stored, although it does not name every host this replica is configured for");
                        return Ok((material, secret.clone()));
                    }
                    Verdict::Replace(why) => why,
                },
            };
            tracing::info!(secret = self.name, %why, "storing a new webhook certificate");
            let previous_ca = seen.as_ref().and_then(|s| read(s).ok()).map(|m| m.ca_pem);
            let material = generate(&self.hosts, Timestamp::now(), previous_ca.as_deref())?;
            let version = seen.as_ref().and_then(|s| s.resource_version());
            let secret = to_secret(&self.name, &self.namespace, &material, version.clone());
            let params = PostParams { field_manager: Some(self.manager.into()), ..Default::default() };
            let written = match version {
                Some(_) => self.api.replace(&self.name, &params, &secret).await,
                None => self.api.create(&params, &secret).await,
            };
            match written {
                Ok(stored) => return Ok((material, stored)),
                Err(kube::Error::Api(status)) if status.code == 409 => seen = self.read().await?,
                Err(error) => return Err(self.fail("writing", error).into()),
            }
        }
        Err(TlsError::Contended(self.name.clone()))
    }

    fn fail(&self, action: &'static str, error: kube::Error) -> ApiCallError {
        ApiCallError { action, kind: "Secret".into(), name: self.name.clone(), error }
    }
}
