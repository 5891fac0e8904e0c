//! Retiring a deleted instance: release what the item retains, let the rest go.
//!
//! Retained resources lose their owner reference (so garbage collection does not take
//! them with the instance) and the catalog's `managed-by` label (so no controller prunes
//! them), and gain `makonis.lv/retained=true`. The instance's credentials Secret is kept
//! whenever anything is, so retained data stays readable. Everything else carries the
//! instance as its owner and is deleted by the garbage collector once the finalizer is
//! gone. When the item itself is gone, every PersistentVolumeClaim is retained: data is
//! never destroyed on a guess.

use kube::{
    Api, Resource, ResourceExt,
    api::{DynamicObject, Patch, PatchParams},
    runtime::controller::Action,
};
use makonis_api::{
    catalog::{ChildStatus, ServiceInstance},
    labels,
};
use makonis_catalog::{MANAGER, item::credentials_secret_name, render::AllowedKind};
use makonis_operator_kit::{apply::ApiCallError, finalizers::remove_finalizer};
use serde_json::json;

use super::{
    Context, FINALIZER, credentials::credentials_exist, instance_api, provision::TEMPLATE_ANNOTATION,
    provision::write_status,
};
use crate::{error::Error, status::Outcome, stores::api_resource};

/// One reconcile of an instance being deleted.
pub async fn retire(instance: &ServiceInstance, ctx: &Context) -> Result<Action, Error> {
    if !instance.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    let namespace = instance.namespace().unwrap_or_default();
    let name = instance.name_any();
    let kept = retained_children(instance, ctx);
    let mut report: Vec<ChildStatus> =
        kept.iter().map(|(kind, object)| child_status(kind.api_version(), kind.kind, &object.name_any())).collect();
    let secret_name = credentials_secret_name(&name);
    let keep_secret = !kept.is_empty() && credentials_exist(instance, ctx).await?;
    if keep_secret {
        report.push(child_status("v1".into(), "Secret", &secret_name));
    }
    write_status(instance, ctx, &Outcome::Retiring { retained: report.clone() }).await?;
    for (kind, object) in &kept {
        let api = Api::<DynamicObject>::namespaced_with(ctx.client.clone(), &namespace, &api_resource(kind));
        release(&api, kind.kind, &object.name_any(), ctx).await?;
    }
    if keep_secret {
        let api = Api::<DynamicObject>::namespaced_with(
            ctx.client.clone(),
            &namespace,
            &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::Secret>(&()),
        );
        release(&api, "Secret", &secret_name, ctx).await?;
    }
    let note = if report.is_empty() {
        "Retired; its resources are removed. Nothing was retained.".to_string()
    } else {
        format!(
            "Retired; its other resources are removed. Kept, labelled {}=true: {}",
            labels::RETAINED,
            report.iter().map(|c| format!("{} {}", c.kind, c.name)).collect::<Vec<_>>().join(", ")
        )
    };
    ctx.events.normal(&instance.object_ref(&()), "Retired", "Retire", note).await;
    remove_finalizer(&instance_api(ctx, instance), instance, FINALIZER, MANAGER, &ctx.metrics).await?;
    ctx.credentials.forget(&instance.uid().unwrap_or_default());
    ctx.recheck_quota_refusals(&namespace);
    Ok(Action::await_change())
}

/// The instance's resources that are kept: those of the item's `retainOnRetire`
/// templates, or every claim and compute volume when the item is gone.
fn retained_children(
    instance: &ServiceInstance,
    ctx: &Context,
) -> Vec<(&'static AllowedKind, std::sync::Arc<DynamicObject>)> {
    let item = ctx.stores.view.item(&instance.spec.catalog_item);
    ctx.stores
        .children_of(&instance.namespace().unwrap_or_default(), &instance.name_any())
        .into_iter()
        .filter(|(kind, object)| match &item {
            Some(item) => object
                .annotations()
                .get(TEMPLATE_ANNOTATION)
                .is_some_and(|template| item.spec.retain_on_retire.contains(template)),
            None => matches!(kind.kind, "PersistentVolumeClaim" | "Volume"),
        })
        .collect()
}

/// Detaches one resource from the instance and marks it retained.
async fn release(api: &Api<DynamicObject>, kind: &str, name: &str, ctx: &Context) -> Result<(), Error> {
    let patch = json!({"metadata": {
        "ownerReferences": null,
        "labels": {labels::RETAINED: "true", labels::MANAGED_BY: null},
    }});
    match api
        .patch(name, &PatchParams { field_manager: Some(MANAGER.into()), ..Default::default() }, &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {
            ctx.metrics.record_write(MANAGER, kind);
            Ok(())
        }
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(ApiCallError { action: "releasing", kind: kind.into(), name: name.into(), error }.into()),
    }
}

fn child_status(api_version: String, kind: &str, name: &str) -> ChildStatus {
    ChildStatus { api_version, kind: kind.into(), name: name.into(), ready: true, message: None }
}
