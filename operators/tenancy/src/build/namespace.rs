//! The agency's namespace.

use std::collections::BTreeMap;

use k8s_openapi::{api::core::v1::Namespace, apimachinery::pkg::apis::meta::v1::ObjectMeta};
use makonis_api::{labels, tenancy::Agency};

use super::child_labels;

/// Pod Security level enforced in agency namespaces. `baseline` blocks privileged pods;
/// `restricted` is reported as a warning and in the audit log so agencies can move to it.
const POD_SECURITY_ENFORCE: &str = "baseline";
const POD_SECURITY_WARN: &str = "restricted";

/// Builds `agency-<code>`. It deliberately has no owner reference: the namespace holds
/// the agency's data, so only the controller's explicit, checked deletion may remove it —
/// never the garbage collector.
pub fn build_namespace(agency: &Agency) -> Namespace {
    let mut labels = child_labels(&agency.spec.code);
    labels.insert(labels::TENANCY.into(), labels::TENANCY_AGENCY.into());
    labels.insert("pod-security.kubernetes.io/enforce".into(), POD_SECURITY_ENFORCE.into());
    labels.insert("pod-security.kubernetes.io/warn".into(), POD_SECURITY_WARN.into());
    labels.insert("pod-security.kubernetes.io/audit".into(), POD_SECURITY_WARN.into());
    let annotations = BTreeMap::from([
        (labels::DISPLAY_NAME_LV.to_string(), agency.spec.display_name.lv.clone()),
        (labels::DISPLAY_NAME_EN.to_string(), agency.spec.display_name.en.clone()),
    ]);
    Namespace {
        metadata: ObjectMeta {
            name: Some(agency.namespace_name()),
            labels: Some(labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::sample_agency;

    #[test]
    fn namespace_is_named_labelled_and_unowned() {
        let ns = build_namespace(&sample_agency("vdi"));
        assert_eq!(ns.metadata.name.as_deref(), Some("agency-vdi"));
        let labels = ns.metadata.labels.unwrap();
        assert_eq!(labels["makonis.lv/tenancy"], "agency");
        assert_eq!(labels["makonis.lv/agency"], "vdi");
        assert_eq!(labels["pod-security.kubernetes.io/enforce"], "baseline");
        assert!(ns.metadata.owner_references.is_none());
        assert_eq!(ns.metadata.annotations.unwrap()["makonis.lv/display-name-lv"], "Valsts darba inspekcija");
    }
}
