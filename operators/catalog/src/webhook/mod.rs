//! The catalog's validating admission webhook, served over TLS by the operator.
//!
//! `POST /validate/serviceinstances` refuses orders the controller would refuse, with
//! the same messages; `POST /validate/catalogitems` refuses items whose schema or
//! templates are broken. The API server calls both as registered by the
//! ValidatingWebhookConfiguration in `manifests/`, whose CA bundle the operator keeps
//! current (see [`tls`]).

mod review;
mod server;
pub mod tls;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::post};
use kube::{
    Client,
    core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview},
};
use makonis_api::catalog::{CatalogItem, ServiceInstance};
use makonis_operator_kit::error::error_chain;

use makonis_catalog::render::PlatformVars;

use makonis_catalog::compiled::CompiledItems;

use crate::stores::CatalogView;

/// How often the CA bundle of the webhook configuration is checked (and repaired).
const CA_BUNDLE_RECHECK: Duration = Duration::from_secs(60);

/// Where and how the webhook is served.
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

/// What the webhook judges with: its own caches (it serves on every replica, not only
/// the leader), compiled items and the platform settings.
pub struct WebhookContext {
    /// A client, to confirm with the API server before refusing an unknown item.
    pub client: Client,
    /// Items, agencies and instances.
    pub view: CatalogView,
    /// Items compiled once per generation.
    pub compiled: CompiledItems,
    /// The `platform.*` template variables (rendering is part of judging).
    pub platform: PlatformVars,
}

/// The webhook's routes.
pub fn app(ctx: Arc<WebhookContext>) -> Router {
    Router::new()
        .route("/validate/serviceinstances", post(validate_instance))
        .route("/validate/catalogitems", post(validate_item))
        .with_state(ctx)
}

/// Sets up the certificate, publishes its CA and serves until the task is dropped.
pub async fn run(client: Client, settings: WebhookSettings, platform: PlatformVars) -> anyhow::Result<()> {
    let (view, drive_caches) = CatalogView::watch(&client);
    let ctx = Arc::new(WebhookContext { client: client.clone(), view, compiled: CompiledItems::default(), platform });
    let material = tls::ensure_tls(&client, &settings.namespace, &settings.secret, &settings.hosts).await?;
    let config = server::server_config(&material)?;
    let listener = server::bind(settings.address).await?;
    tracing::info!(address = %settings.address, hosts = ?settings.hosts, "serving the admission webhook");
    let keep_bundle = async {
        loop {
            match tls::publish_ca_bundle(&client, &settings.configuration, &material.ca_pem).await {
                Ok(true) => tracing::info!(configuration = settings.configuration, "published the webhook's CA bundle"),
                Ok(false) => {}
                Err(error) => tracing::warn!(
                    error = %error_chain(&error),
                    "cannot publish the webhook's CA bundle; the API server will not trust the webhook until the ValidatingWebhookConfiguration from manifests/ is applied"
                ),
            }
            tokio::time::sleep(CA_BUNDLE_RECHECK).await;
        }
    };
    tokio::select! {
        () = server::serve_tls(listener, config, app(ctx)) => Ok(()),
        () = keep_bundle => Ok(()),
        () = drive_caches => anyhow::bail!("the webhook's watches ended"),
    }
}

async fn validate_instance(
    State(ctx): State<Arc<WebhookContext>>,
    Json(review): Json<AdmissionReview<ServiceInstance>>,
) -> impl IntoResponse {
    let request: Result<AdmissionRequest<ServiceInstance>, _> = review.try_into();
    match request {
        Ok(request) => {
            let response = review::review_instance(&ctx, &request).await;
            log_denial(&request.name, "ServiceInstance", &response);
            (StatusCode::OK, Json(response.into_review())).into_response()
        }
        Err(error) => bad_review(error),
    }
}

async fn validate_item(Json(review): Json<AdmissionReview<CatalogItem>>) -> impl IntoResponse {
    let request: Result<AdmissionRequest<CatalogItem>, _> = review.try_into();
    match request {
        Ok(request) => {
            let response = review::review_item(&request);
            log_denial(&request.name, "CatalogItem", &response);
            (StatusCode::OK, Json(response.into_review())).into_response()
        }
        Err(error) => bad_review(error),
    }
}

fn log_denial(name: &str, kind: &str, response: &AdmissionResponse) {
    if !response.allowed {
        tracing::info!(kind, name, message = %response.result.message, "admission refused");
    }
}

fn bad_review(error: kube::core::admission::ConvertAdmissionReviewError) -> axum::response::Response {
    (StatusCode::BAD_REQUEST, Json(AdmissionResponse::invalid(error.to_string()).into_review())).into_response()
}
