//! `PrometheusRule`s for the burn-rate alerts, where the Prometheus Operator's CRD is
//! installed: one per objective (owned by it, so it goes when the objective goes) and
//! one for the engine itself in the platform namespace.

use std::collections::HashMap;

use kube::{
    Api, ResourceExt,
    api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams},
};
use makonis_operator_kit::{
    apply::controller_reference,
    crds::{CrdState, crd_state},
};
use makonis_slo_core::{
    DEFAULT_RULES,
    rules::{RuleTarget, engine_rules_spec, prometheus_rule_spec},
};
use serde_json::{Value, json};

use crate::{
    caches::decoded,
    context::{Context, MANAGER},
    spec::agency_of,
};

/// The Prometheus Operator's rule CRD.
pub const CRD: &str = "prometheusrules.monitoring.coreos.com";

fn resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("monitoring.coreos.com", "v1", "PrometheusRule"),
        "prometheusrules",
    )
}

/// The PrometheusRule named `name` in `namespace` with `spec`, owned by `owner`.
pub fn rule_object(name: &str, namespace: &str, spec: Value, owner: Option<Value>) -> Value {
    let mut metadata = json!({
        "name": name,
        "namespace": namespace,
        "labels": {"app.kubernetes.io/managed-by": MANAGER, "makonis.lv/component": "slo"},
    });
    if let Some(owner) = owner {
        metadata["ownerReferences"] = json!([owner]);
    }
    json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": metadata, "spec": spec})
}

/// What was last applied, by namespace and name: a rule is applied again only when it
/// changed, or every [`REAPPLY`] passes (someone may have edited or deleted it).
#[derive(Default)]
pub struct Applied {
    rules: HashMap<(String, String), Value>,
    passes: u32,
}

/// Every how many passes every rule is applied, changed or not.
const REAPPLY: u32 = 30;

/// Applies every objective's rules and the engine's, if the CRD is served.
pub async fn sync_rules(ctx: &Context, applied: &mut Applied) {
    match crd_state(&ctx.client, CRD).await {
        Ok(CrdState::Established) => {}
        Ok(_) => return,
        Err(error) => {
            tracing::debug!(%error, "cannot tell whether the Prometheus Operator is installed");
            return;
        }
    }
    if applied.passes.is_multiple_of(REAPPLY) {
        applied.rules.clear();
    }
    applied.passes = applied.passes.wrapping_add(1);
    let engine = rule_object("makonis-slo-engine", &ctx.config.platform_namespace, engine_rules_spec(), None);
    apply(ctx, &ctx.config.platform_namespace, engine, applied).await;
    for guarded in ctx.caches.objectives.state() {
        let Some(slo) = decoded(&guarded) else { continue };
        let namespace = slo.namespace().unwrap_or_default();
        let agency = agency_of(&namespace);
        let target = RuleTarget {
            namespace: &namespace,
            objective: &slo.name_any(),
            agency: &agency,
            service: &slo.spec.service,
            target: slo.spec.target_percent / 100.0,
        };
        let owner = controller_reference(slo).and_then(|o| serde_json::to_value(o).ok());
        let spec = prometheus_rule_spec(&target, &DEFAULT_RULES);
        let rule = rule_object(&format!("makonis-slo-{}", slo.name_any()), &namespace, spec, owner);
        apply(ctx, &namespace, rule, applied).await;
    }
}

async fn apply(ctx: &Context, namespace: &str, object: Value, applied: &mut Applied) {
    let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
    let key = (namespace.to_string(), name.clone());
    if applied.rules.get(&key) == Some(&object) {
        return;
    }
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), namespace, &resource());
    match api.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&object)).await {
        Ok(_) => {
            applied.rules.insert(key, object);
        }
        Err(error) => tracing::warn!(%error, namespace, name, "cannot apply a PrometheusRule"),
    }
}
