//! The SLO engine's validating admission webhook, served over TLS by every replica
//! (leader or not), as registered by `manifests/webhook/slo-webhook.yaml` for agency
//! namespaces.
//!
//! `POST /validate/probes` refuses a Probe of an agency namespace that points anywhere
//! but the agency's own host names and the Services of its namespace, naming the field
//! ([`crate::targets::admit`], the rule every run of the probe checks again).

use std::{sync::Arc, time::Duration};

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::post};
use kube::{
    Client,
    core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation},
};
use makonis_api::{
    slo::Probe,
    tenancy::{Agency, code_of_namespace},
};
use makonis_operator_kit::webhook::{WebhookError, WebhookSettings, serve};

use crate::{
    caches::{Guarded, watch},
    context::MANAGER,
    targets::{TargetRules, admit},
    world::agency_domains,
};

/// How long a request may wait for the agencies' cache to finish its first listing.
const CACHE_WAIT: Duration = Duration::from_secs(5);

/// What the webhook judges with: the rules and its own cache of Agencies.
pub struct WebhookContext {
    /// Where agencies' probes may point.
    pub rules: TargetRules,
    /// Every Agency (their domains).
    pub agencies: Guarded<Agency>,
}

/// The webhook's routes.
pub fn app(ctx: Arc<WebhookContext>) -> Router {
    Router::new().route("/validate/probes", post(validate_probe)).with_state(ctx)
}

/// Serves the webhook with `settings` until the task is dropped or it fails.
pub async fn run(client: Client, settings: WebhookSettings, rules: TargetRules) -> Result<(), WebhookError> {
    let (agencies, drive) = watch::<Agency>(&client);
    let ctx = Arc::new(WebhookContext { rules, agencies });
    tokio::select! {
        result = serve(client, settings, MANAGER, app(ctx)) => result,
        () = drive => Ok(()),
    }
}

async fn validate_probe(
    State(ctx): State<Arc<WebhookContext>>,
    Json(review): Json<AdmissionReview<Probe>>,
) -> impl IntoResponse {
    let request: Result<AdmissionRequest<Probe>, _> = review.try_into();
    match request {
        Ok(request) => {
            let response = review_probe(&ctx, &request).await;
            if !response.allowed {
                tracing::info!(
                    namespace = request.namespace.as_deref().unwrap_or_default(),
                    name = request.name,
                    user = request.user_info.username.as_deref().unwrap_or_default(),
                    message = %response.result.message,
                    "admission refused a Probe"
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

/// Refuses a created or changed Probe of an agency namespace whose target is out of the
/// agency's reach. Updates that leave the spec alone, deletions and the platform's own
/// namespaces always pass.
pub async fn review_probe(ctx: &WebhookContext, request: &AdmissionRequest<Probe>) -> AdmissionResponse {
    let response = AdmissionResponse::from(request);
    let Some(probe) = &request.object else {
        return response;
    };
    let namespace = request.namespace.clone().unwrap_or_default();
    let unchanged = request.old_object.as_ref().is_some_and(|old| old.spec == probe.spec);
    if !matches!(request.operation, Operation::Create | Operation::Update)
        || unchanged
        || code_of_namespace(&namespace).is_none()
    {
        return response;
    }
    if tokio::time::timeout(CACHE_WAIT, ctx.agencies.wait_until_ready()).await.is_err() {
        return response.deny("the SLO engine's cache of agencies is still loading; retry in a few seconds");
    }
    let domains = agency_domains(&ctx.rules, &ctx.agencies, &namespace);
    match admit(&ctx.rules, &namespace, &domains, &probe.spec) {
        Ok(()) => response,
        Err(refusal) => response.deny(refusal.to_string()),
    }
}
