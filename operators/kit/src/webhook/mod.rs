//! Validating admission webhooks: the certificate every replica shares, its CA bundle in
//! the ValidatingWebhookConfiguration, and the HTTPS listener.
//!
//! A domain crate brings its routes; [`serve`] does the rest.

pub mod server;
pub mod tls;

use std::{net::SocketAddr, time::Duration};

use axum::Router;
use kube::Client;

use crate::error::error_chain;

/// How often the CA bundle of the webhook configuration is checked (and repaired).
const CA_BUNDLE_RECHECK: Duration = Duration::from_secs(60);

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
    Tls(#[from] tls::TlsError),
    /// The certificate could not be loaded into the TLS configuration.
    #[error("cannot use the webhook certificate: {0}")]
    Config(#[from] rustls::Error),
    /// The address could not be bound.
    #[error(transparent)]
    Bind(#[from] std::io::Error),
}

/// Sets up the certificate, publishes its CA and serves `app` until the task is dropped.
/// `manager` is the field manager of the Secret and configuration writes.
pub async fn serve(
    client: Client,
    settings: WebhookSettings,
    manager: &'static str,
    app: Router,
) -> Result<(), WebhookError> {
    let material = tls::ensure_tls(&client, &settings.namespace, &settings.secret, &settings.hosts, manager).await?;
    let config = server::server_config(&material)?;
    let listener = server::bind(settings.address).await?;
    tracing::info!(address = %settings.address, hosts = ?settings.hosts, configuration = settings.configuration, "serving the admission webhook");
    let keep_bundle = async {
        loop {
            match tls::publish_ca_bundle(&client, &settings.configuration, &material.ca_pem, manager).await {
                Ok(true) => tracing::info!(configuration = settings.configuration, "published the webhook's CA bundle"),
                Ok(false) => {}
                Err(error) => tracing::warn!(
                    error = %error_chain(&error),
                    configuration = settings.configuration,
                    "cannot publish the webhook's CA bundle; the API server will not trust the webhook until the ValidatingWebhookConfiguration from manifests/ is applied"
                ),
            }
            tokio::time::sleep(CA_BUNDLE_RECHECK).await;
        }
    };
    tokio::select! {
        () = server::serve_tls(listener, config, app) => Ok(()),
        () = keep_bundle => Ok(()),
    }
}
