//! Validating admission webhooks: the certificate every replica shares, its CA bundle in
//! the ValidatingWebhookConfiguration, and the HTTPS listener.
//!
//! One Secret holds the certificate for every replica ([`secret`]): whichever replica
//! finds it missing, unusable or about to expire writes a new one, conditionally on the
//! Secret being as it read it, so when several try at once one wins and the others use
//! its certificate. Every replica watches the Secret, serves whatever certificate it
//! holds (reloaded without a restart, [`server`]) and publishes its `ca.crt` as the
//! `caBundle` ([`bundle`]): all replicas publish the same value, so they never take turns
//! overwriting it. A certificate rotated by hand or by another tool is picked up the same
//! way. A domain crate brings its routes; [`serve`] does the rest.

pub mod bundle;
pub mod secret;
pub mod server;
pub mod tls;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::Router;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::{Client, runtime::watcher::Event};
use tokio::sync::watch;

use self::{secret::SharedSecret, tls::TlsMaterial};
use crate::error::error_chain;

/// How often the certificate's expiry and the configuration's CA bundle are checked (and
/// repaired) besides when the Secret changes.
const RECHECK: Duration = Duration::from_secs(60);

/// Where and how a webhook is served.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Address to listen on, e.g. `0.0.0.0:9443` in a pod or `127.0.0.1:9443` locally.
    pub address: SocketAddr,
    /// Namespace of the certificate Secret (the platform namespace).
    pub namespace: String,
    /// Name of the certificate Secret.
    pub secret: String,
    /// Host names and IP addresses the certificate is valid for.
    pub hosts: Vec<String>,
    /// Name of the ValidatingWebhookConfiguration whose CA bundle is kept current.
    pub configuration: String,
}

/// Why a webhook cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The certificate could not be read, made or stored.
    #[error(transparent)]
    Tls(#[from] secret::TlsError),
    /// The certificate could not be loaded into the TLS configuration.
    #[error("cannot use the webhook certificate: {0}")]
    Config(#[from] rustls::Error),
    /// The address could not be bound.
    #[error(transparent)]
    Bind(#[from] std::io::Error),
}

/// Sets up the certificate, serves `app` with it and keeps both the certificate and the
/// published CA bundle current, until the task is dropped. `manager` is the field
/// manager of the Secret and configuration writes.
pub async fn serve(
    client: Client,
    settings: WebhookSettings,
    manager: &'static str,
    app: Router,
) -> Result<(), WebhookError> {
    let shared = SharedSecret::new(&client, &settings.namespace, &settings.secret, &settings.hosts, manager);
    let existing = shared.read().await.map_err(secret::TlsError::from)?;
    let (material, stored) = shared.settle(existing, true).await?;
    let (configs, serving) = watch::channel(Arc::new(tls::server_config(&material)?));
    let listener = server::bind(settings.address).await?;
    tracing::info!(address = %settings.address, hosts = ?settings.hosts, configuration = settings.configuration, expires = %material.expires, "serving the admission webhook");
    let keeper = Keeper { client: &client, settings: &settings, manager, shared: &shared, configs };
    tokio::select! {
        () = server::serve_tls(listener, serving, app) => Ok(()),
        () = keeper.run(material, stored) => Ok(()),
    }
}

/// Keeps the served certificate and the published CA bundle in line with the Secret.
struct Keeper<'a> {
    client: &'a Client,
    settings: &'a WebhookSettings,
    manager: &'static str,
    shared: &'a SharedSecret,
    configs: watch::Sender<Arc<rustls::ServerConfig>>,
}

impl Keeper<'_> {
    /// Follows the Secret's changes and rechecks every [`RECHECK`]; runs until dropped.
    async fn run(self, mut serving: TlsMaterial, stored: Secret) {
        let mut latest = Some(stored);
        let mut listing: Option<Option<Secret>> = None;
        let mut events = self.shared.watch().boxed();
        let mut recheck = tokio::time::interval(RECHECK);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(Ok(Event::Apply(secret))) => latest = Some(secret),
                    Some(Ok(Event::Delete(_))) => latest = None,
                    Some(Ok(Event::Init)) => {
                        listing = Some(None);
                        continue;
                    }
                    Some(Ok(Event::InitApply(secret))) => {
                        listing = Some(Some(secret));
                        continue;
                    }
                    Some(Ok(Event::InitDone)) => latest = listing.take().flatten(),
                    Some(Err(error)) => {
                        tracing::warn!(%error, secret = self.settings.secret, "watching the webhook certificate failed; retrying");
                        continue;
                    }
                    None => return,
                },
                _ = recheck.tick() => {}
            }
            match self.shared.settle(latest.take(), false).await {
                Ok((material, secret)) => {
                    latest = Some(secret);
                    if material != serving && self.reload(&material) {
                        serving = material;
                    }
                }
                Err(error) => tracing::warn!(
                    error = %error_chain(&error),
                    secret = self.settings.secret,
                    "cannot keep the webhook certificate current; serving the one loaded"
                ),
            }
            self.publish(&serving.ca_pem).await;
        }
    }

    /// Serves `material` from the next connection on; `false` if it cannot be loaded.
    fn reload(&self, material: &TlsMaterial) -> bool {
        match tls::server_config(material) {
            Ok(config) => {
                self.configs.send_replace(Arc::new(config));
                tracing::info!(secret = self.settings.secret, expires = %material.expires, "reloaded the webhook certificate");
                true
            }
            Err(error) => {
                tracing::warn!(%error, secret = self.settings.secret, "cannot load the new webhook certificate; serving the one loaded");
                false
            }
        }
    }

    /// Makes the configuration's CA bundle `ca_pem`, if it is not already.
    async fn publish(&self, ca_pem: &str) {
        let configuration = &self.settings.configuration;
        match bundle::publish_ca_bundle(self.client, configuration, ca_pem, self.shared, self.manager).await {
            Ok(true) => tracing::info!(configuration, "published the webhook's CA bundle"),
            Ok(false) => {}
            Err(error) => tracing::warn!(
                error = %error_chain(&error),
                configuration,
                "cannot publish the webhook's CA bundle; the API server will not trust the webhook until the ValidatingWebhookConfiguration from manifests/ is applied"
            ),
        }
    }
}
