//! `PrometheusRule`s for the burn-rate alerts, where the Prometheus Operator's CRD is
//! installed: one per objective (owned by it, so it goes when the objective goes) and
//! one for the engine itself in the platform namespace.

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
    engine::{Context, MANAGER},
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

/// Applies every objective's rules and the engine's, if the CRD is served.
pub async fn sync_rules(ctx: &Context) {
    match crd_state(&ctx.client, CRD).await {
        Ok(CrdState::Established) => {}
        Ok(_) => return,
        Err(error) => {
            tracing::debug!(%error, "cannot tell whether the Prometheus Operator is installed");
            return;
        }
    }
    let engine = rule_object("makonis-slo-engine", &ctx.config.platform_namespace, engine_rules_spec(), None);
    apply(ctx, &ctx.config.platform_namespace, engine).await;
    for slo in ctx.objectives.state() {
        let namespace = slo.namespace().unwrap_or_default();
        let agency = agency_of(&namespace);
        let target = RuleTarget {
            namespace: &namespace,
            objective: &slo.name_any(),
            agency: &agency,
            service: &slo.spec.service,
            target: slo.spec.target_percent / 100.0,
        };
        let owner = controller_reference(slo.as_ref()).and_then(|o| serde_json::to_value(o).ok());
        let spec = prometheus_rule_spec(&target, &DEFAULT_RULES);
        apply(ctx, &namespace, rule_object(&format!("makonis-slo-{}", slo.name_any()), &namespace, spec, owner)).await;
    }
}

async fn apply(ctx: &Context, namespace: &str, object: Value) {
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), namespace, &resource());
    let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
    if let Err(error) = api.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&object)).await {
        tracing::warn!(%error, namespace, name, "cannot apply a PrometheusRule");
    }
}
