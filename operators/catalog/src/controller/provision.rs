//! Provisioning an instance: decide, apply what differs, prune, roll readiness up.

use std::collections::BTreeSet;

use k8s_openapi::jiff::Timestamp;
use kube::{Resource, ResourceExt, api::DynamicObject, runtime::controller::Action};
use makonis_api::catalog::{ChildStatus, ServiceInstance};
use makonis_catalog::{MANAGER, Rendered, render::RenderedObject};
use makonis_operator_kit::{
    apply::controller_reference,
    error::{ErrorCategory, error_chain},
    finalizers::add_finalizer,
    status::apply_status_if_changed,
};
use serde_json::{Value, json};

use super::{
    Context, FINALIZER, QUOTA_RECHECK,
    credentials::ensure_credentials,
    instance_api,
    retire::{as_child, delete, release},
};
use crate::{
    decide::Decision,
    error::Error,
    judge::judge,
    readiness::{ChildState, child_state},
    retention::{self, Disposition},
    status::{ObservedChild, Outcome, desired_status, hold_back},
    stores::api_resource,
};

/// Annotation naming the template a resource was rendered from (used on retire).
pub const TEMPLATE_ANNOTATION: &str = "catalog.makonis.lv/template";

/// One reconcile of a live instance.
pub async fn provision(instance: &ServiceInstance, ctx: &Context) -> Result<Action, Error> {
    let api = instance_api(ctx, instance);
    add_finalizer(&api, instance, FINALIZER, MANAGER, &ctx.metrics).await?;
    match judge(&ctx.stores.view, &ctx.compiled, &ctx.config.platform, instance) {
        Decision::Refuse(refusal) => {
            let requeue = if refusal.reason == "QuotaExceeded" { QUOTA_RECHECK } else { ctx.resync };
            if write_status(instance, ctx, &Outcome::Refused(refusal.clone())).await? {
                ctx.events.warning(&instance.object_ref(&()), refusal.reason, "Provision", refusal.message).await;
            }
            Ok(Action::requeue(requeue))
        }
        Decision::Provision { rendered, admitted, credentials } => {
            match apply(instance, &rendered, credentials, ctx).await {
                Ok(children) => {
                    let freed = instance.status.as_ref().and_then(|s| s.admitted.as_ref()) != Some(&admitted);
                    let outcome = Outcome::Applied { children, outputs: rendered.outputs, admitted };
                    let now = Timestamp::now();
                    let desired = desired_status(instance, &outcome, now);
                    if let Some(wait) = hold_back(instance.status.as_ref(), &desired, now) {
                        return Ok(Action::requeue(wait));
                    }
                    write_desired(instance, ctx, &desired).await?;
                    if freed {
                        ctx.recheck_quota_refusals(&instance.namespace().unwrap_or_default());
                    }
                    Ok(Action::requeue(ctx.resync))
                }
                Err(error) => {
                    let outcome = Outcome::Failed { category: error.category(), message: error_chain(&error) };
                    write_status(instance, ctx, &outcome).await?;
                    ctx.events.warn(&instance.object_ref(&()), "Provision", &error).await;
                    Err(error)
                }
            }
        }
    }
}

/// Creates the credentials (when the templates use them), applies every rendered
/// resource, prunes what is no longer rendered, and reports each resource's readiness.
async fn apply(
    instance: &ServiceInstance,
    rendered: &Rendered,
    credentials: bool,
    ctx: &Context,
) -> Result<Vec<ObservedChild>, Error> {
    let namespace = instance.namespace().unwrap_or_default();
    if credentials {
        ensure_credentials(instance, ctx).await?;
    }
    let owner = controller_reference(instance).map(|owner| vec![owner]);
    let retained = retained_templates(instance, ctx);
    let mut observed = Vec::with_capacity(rendered.objects.len());
    for object in &rendered.objects {
        let owned = retention::owned_by_instance(object.kind.kind, &object.template, &retained);
        let desired = with_owner(object, if owned { owner.as_deref() } else { None });
        let live = ctx.stores.child(object.kind, &namespace, &object.name);
        let resource = api_resource(object.kind);
        let ensured = ctx.applier.ensure_dynamic(&resource, &desired, live.as_deref()).await?;
        observed.push(observe(object, &ensured.object));
    }
    if may_have_leftovers(instance, rendered) {
        prune(instance, rendered, &retained, ctx).await?;
    }
    Ok(observed)
}

/// The item's `retainOnRetire` templates (none when the item is not in the cache).
fn retained_templates(instance: &ServiceInstance, ctx: &Context) -> Vec<String> {
    ctx.stores.view.item(&instance.spec.catalog_item).map(|item| item.spec.retain_on_retire.clone()).unwrap_or_default()
}

/// Whether resources of the instance may exist that are no longer rendered: unless the
/// last status was written for this generation and lists exactly what is rendered now,
/// the caches are searched (a search over every cached child, so skipped when it cannot
/// find anything).
fn may_have_leftovers(instance: &ServiceInstance, rendered: &Rendered) -> bool {
    let Some(status) = instance.status.as_ref().filter(|s| s.observed_generation == instance.metadata.generation)
    else {
        return true;
    };
    let listed: BTreeSet<(&str, &str)> = status.children.iter().map(|c| (c.kind.as_str(), c.name.as_str())).collect();
    let now: BTreeSet<(&str, &str)> = rendered.objects.iter().map(|o| (o.kind.kind, o.name.as_str())).collect();
    listed != now
}

/// The rendered object with its template noted and, when the instance owns it, the
/// instance as its controlling owner.
fn with_owner(
    object: &RenderedObject,
    owner: Option<&[k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference]>,
) -> Value {
    let mut desired = object.object.clone();
    if let Some(metadata) = desired.get_mut("metadata").and_then(Value::as_object_mut) {
        if let Some(owner) = owner {
            metadata.insert("ownerReferences".into(), json!(owner));
        }
        let annotations = metadata.entry("annotations").or_insert_with(|| json!({}));
        if let Some(annotations) = annotations.as_object_mut() {
            annotations.insert(TEMPLATE_ANNOTATION.into(), json!(object.template));
        }
    }
    desired
}

fn observe(object: &RenderedObject, live: &DynamicObject) -> ObservedChild {
    let live = serde_json::to_value(live).unwrap_or(Value::Null);
    let (ready, failed, message) = match child_state(object.kind.readiness, &live) {
        ChildState::Ready => (true, false, None),
        ChildState::Pending(why) => (false, false, Some(why)),
        ChildState::Failed(why) => (false, true, Some(why)),
    };
    ObservedChild {
        status: ChildStatus {
            api_version: object.kind.api_version(),
            kind: object.kind.kind.to_string(),
            name: object.name.clone(),
            ready,
            message,
        },
        failed,
    }
}

/// Deletes the instance's resources that are no longer rendered (after a plan or
/// parameter change, or a changed item), except those of retained templates, which are
/// released instead: data the item keeps on retirement is not lost to a change either.
async fn prune(
    instance: &ServiceInstance,
    rendered: &Rendered,
    retained: &[String],
    ctx: &Context,
) -> Result<(), Error> {
    let namespace = instance.namespace().unwrap_or_default();
    let wanted: BTreeSet<(&str, &str)> = rendered.objects.iter().map(|o| (o.kind.kind, o.name.as_str())).collect();
    for (kind, live) in ctx.stores.children_of(&namespace, &instance.name_any()) {
        let name = live.name_any();
        if wanted.contains(&(kind.kind, name.as_str())) || live.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let api = kube::Api::<DynamicObject>::namespaced_with(ctx.client.clone(), &namespace, &api_resource(kind));
        if retention::on_prune(as_child(kind, &live, instance), retained) == Disposition::Keep {
            release(&api, kind.kind, &name, ctx).await?;
            tracing::info!(kind = kind.kind, name, "released a retained resource no longer rendered");
        } else {
            delete(&api, kind.kind, &name, ctx).await?;
            tracing::info!(kind = kind.kind, name, "pruned a resource no longer rendered");
        }
    }
    Ok(())
}

/// Patches the status for `outcome` if it differs; returns whether it did.
pub(super) async fn write_status(instance: &ServiceInstance, ctx: &Context, outcome: &Outcome) -> Result<bool, Error> {
    write_desired(instance, ctx, &desired_status(instance, outcome, Timestamp::now())).await
}

/// Patches the status to `desired` if it differs; returns whether it did.
async fn write_desired(
    instance: &ServiceInstance,
    ctx: &Context,
    desired: &makonis_api::catalog::ServiceInstanceStatus,
) -> Result<bool, Error> {
    let api = instance_api(ctx, instance);
    Ok(apply_status_if_changed(&api, instance, instance.status.as_ref(), desired, MANAGER, &ctx.metrics).await?)
}

#[cfg(test)]
mod tests {
    use makonis_api::catalog::{ServiceInstanceSpec, ServiceInstanceStatus};
    use makonis_catalog::render::allowed_kind;

    use super::*;

    fn rendered(names: &[&str]) -> Rendered {
        let kind = allowed_kind("v1", "ConfigMap").unwrap();
        let objects = names
            .iter()
            .map(|name| RenderedObject { template: "t".into(), kind, name: name.to_string(), object: json!({}) })
            .collect();
        Rendered { objects, outputs: Vec::new() }
    }

    fn instance(generation: i64, observed: Option<i64>, children: &[&str]) -> ServiceInstance {
        let mut instance = ServiceInstance::new(
            "web",
            ServiceInstanceSpec { catalog_item: "x".into(), plan: "small".into(), parameters: json!({}) },
        );
        instance.metadata.generation = Some(generation);
        instance.status = observed.map(|observed| ServiceInstanceStatus {
            observed_generation: Some(observed),
            children: children
                .iter()
                .map(|name| ChildStatus {
                    api_version: "v1".into(),
                    kind: "ConfigMap".into(),
                    name: name.to_string(),
                    ready: true,
                    message: None,
                })
                .collect(),
            ..Default::default()
        });
        instance
    }

    #[test]
    fn leftovers_are_searched_for_after_any_change() {
        assert!(may_have_leftovers(&instance(1, None, &[]), &rendered(&["web"])), "never reconciled");
        assert!(may_have_leftovers(&instance(2, Some(1), &["web"]), &rendered(&["web"])), "new generation");
        assert!(may_have_leftovers(&instance(2, Some(2), &["web", "web-pdb"]), &rendered(&["web"])), "fewer rendered");
        assert!(!may_have_leftovers(&instance(2, Some(2), &["web"]), &rendered(&["web"])), "nothing changed");
    }
}
