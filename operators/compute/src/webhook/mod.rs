//! The compute admission webhook: refusals that need other objects (the host pool, its
//! hosts and tiers, the networks, images and backup storage it offers to the agency,
//! whether a volume is in use, whether a host pool still holds machines) or our own
//! parsers (the backup schedule). Rules the API server can check alone are CEL in the
//! CRDs.
//!
//! `POST /validate/compute` judges every compute kind; the ValidatingWebhookConfiguration
//! `makonis-compute` in `manifests/` registers it, and the operator keeps its CA bundle
//! current.

pub mod review;

use std::sync::Arc;

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::post};
use kube::{
    Api, Client,
    core::{
        DynamicObject,
        admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation},
    },
};
use makonis_api::compute::{Backup, BackupPolicy, HostPool, VirtualMachine, Volume};
use makonis_operator_kit::webhook::{WebhookSettings, serve};
use serde::de::DeserializeOwned;

use crate::{MANAGER, controller::Views};

/// The name of the compute webhook's ValidatingWebhookConfiguration.
pub const CONFIGURATION: &str = "makonis-compute";

/// What the webhook judges with: the operator's caches, and a client to confirm with the
/// API server before refusing a host pool the cache does not know yet.
pub struct WebhookState {
    views: Views,
    client: Client,
}

/// The webhook's routes over the given caches.
pub fn app(views: Views, client: Client) -> Router {
    Router::new().route("/validate/compute", post(validate)).with_state(Arc::new(WebhookState { views, client }))
}

/// Serves the webhook with `settings` until the task is dropped.
pub async fn run(client: Client, settings: WebhookSettings) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (views, drive) = Views::watch(&client);
    tokio::select! {
        result = serve(client.clone(), settings, MANAGER, app(views, client)) => Ok(result?),
        () = drive => Err("the compute webhook's watches ended".into()),
    }
}

async fn validate(
    State(state): State<Arc<WebhookState>>,
    Json(review): Json<AdmissionReview<DynamicObject>>,
) -> impl IntoResponse {
    let request: AdmissionRequest<DynamicObject> = match review.try_into() {
        Ok(request) => request,
        Err(error) => {
            let response = AdmissionResponse::invalid(format!("not an admission review: {error}"));
            return (StatusCode::BAD_REQUEST, Json(response.into_review()));
        }
    };
    let response = judge(&state, &request).await;
    if !response.allowed {
        tracing::info!(kind = request.kind.kind, name = request.name, message = %response.result.message, "admission refused");
    }
    (StatusCode::OK, Json(response.into_review()))
}

/// The host pool `name`, from the cache or, when the cache does not have it (it may have
/// been created a moment ago), from the API server.
async fn pool(state: &WebhookState, name: &str) -> Option<Arc<HostPool>> {
    if let Some(pool) = state.views.pool(name) {
        return Some(pool);
    }
    Api::<HostPool>::all(state.client.clone()).get_opt(name).await.ok().flatten().map(Arc::new)
}

/// The verdict on one request.
async fn judge(state: &WebhookState, request: &AdmissionRequest<DynamicObject>) -> AdmissionResponse {
    let views = &state.views;
    let allowed = AdmissionResponse::from(request);
    let namespace = request.namespace.clone().unwrap_or_default();
    if request.operation == Operation::Delete {
        if request.kind.kind == "HostPool" {
            let machines = views.machines().iter().filter(|m| m.spec.host_pool == request.name).count();
            let volumes = views.volumes().iter().filter(|v| v.spec.host_pool == request.name).count();
            if machines + volumes > 0 {
                return allowed.deny(format!(
                    "HostPool {} still holds {machines} virtual machines and {volumes} volumes; delete them first (their domains and data live on its hosts)",
                    request.name
                ));
            }
        }
        if request.kind.kind == "Volume"
            && let Some(machine) = views.user_of(&namespace, &request.name)
        {
            return allowed.deny(format!(
                "Volume {} is used by VirtualMachine {}; delete the machine or remove the disk from it first",
                request.name,
                machine.metadata.name.clone().unwrap_or_default()
            ));
        }
        return allowed;
    }
    let Some(object) = &request.object else {
        return allowed;
    };
    // A change that leaves the spec as it was (labels, finalizers, a deletion going on) is
    // not judged again: the spec was admitted, and what it refers to may have changed since
    // (a host removed from its pool must not keep a volume's finalizer from being removed).
    if request.operation == Operation::Update
        && let Some(old) = &request.old_object
        && old.data.get("spec") == object.data.get("spec")
    {
        return allowed;
    }
    let problems = match request.kind.kind.as_str() {
        "Volume" => match typed::<Volume>(object) {
            Ok(v) => Ok(review::volume(&v, pool(state, &v.spec.host_pool).await.as_deref())),
            Err(error) => Err(error),
        },
        "VirtualMachine" => match typed::<VirtualMachine>(object) {
            Ok(m) => Ok(review::machine(&m, &namespace, pool(state, &m.spec.host_pool).await.as_deref())),
            Err(error) => Err(error),
        },
        "BackupPolicy" => match typed::<BackupPolicy>(object) {
            Ok(p) => Ok(review::policy(&p, pool(state, &p.spec.target.host_pool).await.as_deref())),
            Err(error) => Err(error),
        },
        "Backup" => match typed::<Backup>(object) {
            Ok(b) => {
                let target = match &b.spec.target {
                    Some(t) => pool(state, &t.host_pool).await,
                    None => None,
                };
                Ok(review::backup(&b, target.as_deref()))
            }
            Err(error) => Err(error),
        },
        _ => Ok(Vec::new()),
    };
    match problems {
        Ok(problems) if problems.is_empty() => allowed,
        Ok(problems) => {
            allowed.deny(problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect::<Vec<_>>().join("; "))
        }
        Err(error) => allowed.deny(format!("the object does not match its schema: {error}")),
    }
}

fn typed<K: DeserializeOwned>(object: &DynamicObject) -> Result<K, serde_json::Error> {
    serde_json::to_value(object).and_then(serde_json::from_value)
}
