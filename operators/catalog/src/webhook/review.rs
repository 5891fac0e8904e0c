//! Judging admission requests: the same checks as the controller, before anything is
//! stored.

use std::time::Duration;

use kube::{
    Api,
    core::admission::{AdmissionRequest, AdmissionResponse, Operation},
};
use makonis_api::catalog::{CatalogItem, ServiceInstance};
use makonis_catalog::{CompiledItem, error::join};

use super::WebhookContext;
use crate::{approval::Caller, decide::Decision, judge::judge_with_item};

/// How long a request may wait for the caches to finish their first listing.
const CACHE_WAIT: Duration = Duration::from_secs(5);

/// Refuses a ServiceInstance whose order the controller would refuse: unknown item or
/// plan, parameters that break the schema, a plan over the agency's quota, a template
/// that fails to render; and an order or change of an item that needs approval from
/// anyone but the portal and platform administrators. Updates that leave the spec alone (labels, finalizers) and
/// objects being deleted always pass, so that retiring is never blocked.
pub async fn review_instance(ctx: &WebhookContext, request: &AdmissionRequest<ServiceInstance>) -> AdmissionResponse {
    let response = AdmissionResponse::from(request);
    let Some(instance) = &request.object else {
        return response;
    };
    let unchanged = request.old_object.as_ref().is_some_and(|old| old.spec == instance.spec);
    if !matches!(request.operation, Operation::Create | Operation::Update)
        || unchanged
        || instance.metadata.deletion_timestamp.is_some()
    {
        return response;
    }
    if !caches_ready(ctx).await {
        return response.deny("the catalog's caches are still loading; retry in a few seconds");
    }
    let mut instance = instance.clone();
    if instance.metadata.namespace.is_none() {
        instance.metadata.namespace = Some(request.namespace.clone().unwrap_or_default());
    }
    if instance.metadata.name.is_none() {
        instance.metadata.name = Some(request.name.clone());
    }
    // The cache may not have seen an item published a moment ago: ask the API server
    // before taking it for missing.
    let item = match ctx.view.item(&instance.spec.catalog_item) {
        Some(item) => Some(item),
        None => Api::<CatalogItem>::all(ctx.client.clone())
            .get_opt(&instance.spec.catalog_item)
            .await
            .ok()
            .flatten()
            .map(std::sync::Arc::new),
    };
    if let Some(item) = &item {
        let caller = Caller {
            username: request.user_info.username.as_deref().unwrap_or_default(),
            groups: request.user_info.groups.as_deref().unwrap_or_default(),
        };
        let old = request.old_object.as_ref().map(|old| &old.spec);
        if let Err(message) =
            ctx.approvals.check(&instance.spec.catalog_item, item.spec.approval, old, &instance.spec, caller)
        {
            return response.deny(format!("ApprovalRequired: {message}"));
        }
    }
    let decision = judge_with_item(&ctx.view, &ctx.compiled, &ctx.platform, &instance, item.as_deref());
    match decision {
        Decision::Provision { .. } => response,
        Decision::Refuse(refusal) => response.deny(format!("{}: {}", refusal.reason, refusal.message)),
    }
}

/// Refuses a CatalogItem whose parameter schema or templates are broken, naming each
/// field (`/spec/templates/2/template: …`).
pub fn review_item(request: &AdmissionRequest<CatalogItem>) -> AdmissionResponse {
    let response = AdmissionResponse::from(request);
    let Some(item) = &request.object else {
        return response;
    };
    let unchanged = request.old_object.as_ref().is_some_and(|old| old.spec == item.spec);
    if unchanged || item.metadata.deletion_timestamp.is_some() {
        return response;
    }
    let name = item.metadata.name.clone().unwrap_or_else(|| request.name.clone());
    match CompiledItem::compile(&name, &item.spec) {
        Ok(_) => response,
        Err(problems) => response.deny(format!("InvalidCatalogItem: {}", join(&problems))),
    }
}

async fn caches_ready(ctx: &WebhookContext) -> bool {
    tokio::time::timeout(CACHE_WAIT, ctx.view.wait_until_ready()).await.unwrap_or(false)
}
