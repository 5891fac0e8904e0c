//! The SIEM's validating admission webhook for detection rules, as registered by
//! `manifests/webhook/siem-webhook.yaml`: `POST /validate/detectionrules` and
//! `/validate/clusterdetectionrules` compile `spec.sigma` as the SIEM will evaluate it and
//! refuse what cannot be evaluated, naming the line and the construct
//! (`spec.sigma: line 7: unknown modifier |bogus (of "CommandLine")`).

use axum::{Json, Router, http::StatusCode, response::IntoResponse, routing::post};
use kube::{
    Client,
    core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation},
};
use makonis_api::security::{ClusterDetectionRule, DetectionRule};
use makonis_operator_kit::webhook::{WebhookError, WebhookSettings, serve};

use super::{RuleObject, review::review};
use crate::MANAGER;

/// The webhook's routes.
pub fn app() -> Router {
    Router::new()
        .route("/validate/detectionrules", post(validate::<DetectionRule>))
        .route("/validate/clusterdetectionrules", post(validate::<ClusterDetectionRule>))
}

/// Serves the webhook with `settings` until the task is dropped or it fails.
pub async fn run(client: Client, settings: WebhookSettings) -> Result<(), WebhookError> {
    serve(client, settings, MANAGER, app()).await
}

async fn validate<K: RuleObject>(Json(review): Json<AdmissionReview<K>>) -> impl IntoResponse {
    let request: Result<AdmissionRequest<K>, _> = review.try_into();
    match request {
        Ok(request) => {
            let response = judge(&request);
            if !response.allowed {
                tracing::info!(
                    namespace = request.namespace.as_deref().unwrap_or_default(),
                    name = request.name,
                    user = request.user_info.username.as_deref().unwrap_or_default(),
                    message = %response.result.message,
                    "admission refused a detection rule"
                );
            }
            (StatusCode::OK, Json(response.into_review())).into_response()
        }
        Err(error) => {
            let response = AdmissionResponse::invalid(error.to_string()).into_review();
            (StatusCode::BAD_REQUEST, Json(response)).into_response()
        }
    }
}

/// Refuses a created or changed rule object whose `spec.sigma` does not compile.
fn judge<K: RuleObject>(request: &AdmissionRequest<K>) -> AdmissionResponse {
    let response = AdmissionResponse::from(request);
    let Some(object) = &request.object else {
        return response;
    };
    if !matches!(request.operation, Operation::Create | Operation::Update) {
        return response;
    }
    match review(&object.rule().sigma).refusal() {
        None => response,
        Some(refusal) => response.deny(refusal),
    }
}
