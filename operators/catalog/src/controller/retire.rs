//! Retiring a deleted instance: release what the item retains, delete the data it does
//! not, let the garbage collector take the rest.
//!
//! Retained resources lose their owner reference (if an older version gave them one) and
//! the catalog's `managed-by` label (so no controller prunes them), and gain
//! `makonis.lv/retained=true`. The instance's credentials Secret is kept whenever anything
//! is, so retained data stays readable, and deleted otherwise. Data and retained resources
//! never carried the instance's owner reference (see [`crate::retention`]), so the garbage
//! collector cannot take them whatever propagation the deletion asked for; everything else
//! carries it and goes with the instance. When the item itself is gone, every claim and
//! volume is retained: data is never destroyed on a guess.

use kube::{
    Api, Resource, ResourceExt,
    api::{DeleteParams, DynamicObject, Patch, PatchParams},
    runtime::controller::Action,
};
use makonis_api::{
    catalog::{ChildStatus, ServiceInstance},
    labels,
};
use makonis_catalog::{MANAGER, names::credentials_secret_name, render::AllowedKind};
use makonis_operator_kit::{apply::ApiCallError, finalizers::remove_finalizer};
use serde_json::json;

use super::{
    Context, FINALIZER, credentials::credentials_metadata, instance_api, provision::TEMPLATE_ANNOTATION,
    provision::write_status,
};
use crate::{
    error::Error,
    retention::{Child, Disposition, on_retire},
    status::Outcome,
    stores::api_resource,
};

/// One reconcile of an instance being deleted.
pub async fn retire(instance: &ServiceInstance, ctx: &Context) -> Result<Action, Error> {
    if !instance.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    let namespace = instance.namespace().unwrap_or_default();
    let name = instance.name_any();
    let item = ctx.stores.view.item(&instance.spec.catalog_item);
    let retained_templates = item.as_ref().map(|item| item.spec.retain_on_retire.as_slice());
    let mut kept = Vec::new();
    let mut deleted = Vec::new();
    for (kind, object) in ctx.stores.children_of(&namespace, &name) {
        match on_retire(as_child(kind, &object, instance), retained_templates) {
            Disposition::Keep => kept.push((kind, object)),
            Disposition::Delete => deleted.push((kind, object)),
            Disposition::Collect => {}
        }
    }
    let secret_name = credentials_secret_name(&name);
    let secret = credentials_metadata(instance, ctx).await?;
    let secret_released =
        secret.as_ref().and_then(|m| m.labels.as_ref()?.get(labels::RETAINED)).is_some_and(|v| v == "true");
    if kept.is_empty() && deleted.is_empty() && secret_released {
        // An earlier pass released everything (the Secret goes first, below) and then
        // failed to let the instance go: only that is left to do.
        return let_go(instance, ctx, &namespace).await;
    }
    let keep_secret = !kept.is_empty() && secret.is_some();
    let mut report: Vec<ChildStatus> =
        kept.iter().map(|(kind, object)| child_status(kind.api_version(), kind.kind, &object.name_any())).collect();
    if keep_secret {
        report.push(child_status("v1".into(), "Secret", &secret_name));
    }
    write_status(instance, ctx, &Outcome::Retiring { retained: report.clone() }).await?;
    let secrets = Api::<DynamicObject>::namespaced_with(
        ctx.client.clone(),
        &namespace,
        &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::Secret>(&()),
    );
    // The credentials first: a pass that fails after it and finds the retained data
    // released (out of the watch caches) must still know that the credentials stay.
    if keep_secret {
        release(&secrets, "Secret", &secret_name, ctx).await?;
    }
    for (kind, object) in &kept {
        let api = Api::<DynamicObject>::namespaced_with(ctx.client.clone(), &namespace, &api_resource(kind));
        release(&api, kind.kind, &object.name_any(), ctx).await?;
    }
    for (kind, object) in &deleted {
        let api = Api::<DynamicObject>::namespaced_with(ctx.client.clone(), &namespace, &api_resource(kind));
        delete(&api, kind.kind, &object.name_any(), ctx).await?;
    }
    if !keep_secret && secret.is_some() && !secret_released {
        delete(&secrets, "Secret", &secret_name, ctx).await?;
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
    let_go(instance, ctx, &namespace).await
}

/// Removes the finalizer, so the instance goes, and frees what it held.
async fn let_go(instance: &ServiceInstance, ctx: &Context, namespace: &str) -> Result<Action, Error> {
    remove_finalizer(&instance_api(ctx, instance), instance, FINALIZER, MANAGER, &ctx.metrics).await?;
    ctx.credentials.forget(&instance.uid().unwrap_or_default());
    ctx.recheck_quota_refusals(namespace);
    Ok(Action::await_change())
}

/// One of `instance`'s live resources as [`crate::retention`] judges it: its kind, its
/// template and whether it carries the instance's owner reference.
pub(super) fn as_child<'a>(kind: &AllowedKind, object: &'a DynamicObject, instance: &ServiceInstance) -> Child<'a> {
    let uid = instance.uid().unwrap_or_default();
    Child {
        kind: kind.kind,
        template: object.annotations().get(TEMPLATE_ANNOTATION).map(String::as_str),
        owned: object.owner_references().iter().any(|owner| owner.uid == uid),
    }
}

/// Deletes one of the instance's resources; one already gone is no error.
pub(super) async fn delete(api: &Api<DynamicObject>, kind: &str, name: &str, ctx: &Context) -> Result<(), Error> {
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => {
            ctx.metrics.record_write(MANAGER, kind);
            Ok(())
        }
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(ApiCallError { action: "deleting", kind: kind.into(), name: name.into(), error }.into()),
    }
}

/// Detaches one resource from the instance and marks it retained.
pub(super) async fn release(api: &Api<DynamicObject>, kind: &str, name: &str, ctx: &Context) -> Result<(), Error> {
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
