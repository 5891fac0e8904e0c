//! `makonis slo export-openslo`: the cluster's objectives as OpenSLO documents.

use kube::ResourceExt;
use makonis_api::slo::ServiceLevelObjective;
use makonis_slo_core::openslo::{Indicator, OpenSloInput, openslo_documents};
use serde_json::Value;

use crate::spec::{agency_of, objective_of};

/// The OpenSLO documents (Services, then SLOs) of `objectives`; objectives whose spec
/// cannot be read are skipped and named in the second list.
pub fn export(objectives: &[ServiceLevelObjective]) -> (Vec<Value>, Vec<String>) {
    let mut skipped = Vec::new();
    let mut rows = Vec::new();
    for slo in objectives {
        match objective_of(slo) {
            Ok(objective) => rows.push((slo, objective, agency_of(&slo.namespace().unwrap_or_default()))),
            Err(error) => skipped.push(format!("{}/{}: {error}", slo.namespace().unwrap_or_default(), slo.name_any())),
        }
    }
    let names: Vec<(String, String, String)> = rows
        .iter()
        .map(|(slo, _, _)| {
            let description = format!(
                "{} % availability{}",
                slo.spec.target_percent,
                slo.spec.instance.as_ref().map(|i| format!(" of instance {i}")).unwrap_or_default()
            );
            (slo.namespace().unwrap_or_default(), slo.name_any(), description)
        })
        .collect();
    let inputs: Vec<OpenSloInput> = rows
        .iter()
        .zip(&names)
        .map(|((slo, objective, agency), (namespace, name, description))| OpenSloInput {
            namespace,
            name,
            agency,
            service: &slo.spec.service,
            description,
            target: objective.target,
            window: objective.window,
            business_hours: objective.support == makonis_slo_core::SupportHours::BusinessHours,
            indicator: match (&slo.spec.indicator.probe, &slo.spec.indicator.prometheus) {
                (_, Some(ratio)) => Indicator::PrometheusRatio { good: &ratio.good, total: &ratio.total },
                (probe, None) => Indicator::Probe { probe: probe.as_deref().unwrap_or_default() },
            },
        })
        .collect();
    (openslo_documents(&inputs), skipped)
}
