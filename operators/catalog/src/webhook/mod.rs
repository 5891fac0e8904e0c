//! The catalog's validating admission webhook, served over TLS by the operator.
//!
//! `POST /validate/serviceinstances` refuses orders the controller would refuse, with
//! the same messages, and orders of items that need approval from anyone but the portal
//! and platform administrators ([`crate::approval`]); `POST /validate/catalogitems` refuses items whose schema or
//! templates are broken. The API server calls both as registered by the
//! ValidatingWebhookConfiguration in `manifests/`, whose CA bundle the operator keeps
//! current (see `makonis_operator_kit::webhook`).

mod review;

use std::sync::Arc;

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::post};
use kube::{
    Client,
    core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview},
};
use makonis_api::catalog::{CatalogItem, ServiceInstance};
pub use makonis_operator_kit::webhook::WebhookSettings;
use makonis_operator_kit::webhook::serve;

use makonis_catalog::render::PlatformVars;

use makonis_catalog::{MANAGER, compiled::CompiledItems};

use crate::{approval::ApprovalGate, stores::CatalogView};

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
    /// Who may order items that need approval without the portal.
    pub approvals: ApprovalGate,
}

/// The webhook's routes.
pub fn app(ctx: Arc<WebhookContext>) -> Router {
    Router::new()
        .route("/validate/serviceinstances", post(validate_instance))
        .route("/validate/catalogitems", post(validate_item))
        .with_state(ctx)
}

/// Serves the catalog's webhook with `settings` until the task is dropped.
pub async fn run(
    client: Client,
    settings: WebhookSettings,
    platform: PlatformVars,
    approvals: ApprovalGate,
) -> anyhow::Result<()> {
    let (view, drive_caches) = CatalogView::watch(&client);
    let compiled = CompiledItems::default();
    let ctx = Arc::new(WebhookContext { client: client.clone(), view, compiled, platform, approvals });
    tokio::select! {
        result = serve(client, settings, MANAGER, app(ctx)) => Ok(result?),
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
