//! What the run-time checks of agency probes read from the cluster: each agency's
//! domains and the Services of its namespace, from the engine's caches.

use std::net::IpAddr;

use k8s_openapi::api::core::v1::Service;
use kube::runtime::reflector::ObjectRef;
use makonis_api::tenancy::{Agency, code_of_namespace};

use crate::{
    caches::{Guarded, decoded},
    targets::{TargetRules, TargetWorld},
};

/// The domains the host names of agency namespace `namespace` lie under, with its Agency
/// as the cache holds it (an Agency that is gone or undecodable keeps only its own
/// `<code>.<apps domain>`).
pub fn agency_domains(rules: &TargetRules, agencies: &Guarded<Agency>, namespace: &str) -> Vec<String> {
    let code = code_of_namespace(namespace);
    let agency = agencies
        .state()
        .into_iter()
        .find(|guarded| decoded(guarded).is_some_and(|agency| Some(agency.spec.code.as_str()) == code));
    rules.domains(namespace, agency.as_deref().and_then(decoded))
}

/// The cluster as the checks of agency probes see it.
pub struct ClusterWorld {
    /// The platform's settings.
    pub rules: TargetRules,
    /// Every Agency.
    pub agencies: Guarded<Agency>,
    /// Every Service.
    pub services: Guarded<Service>,
}

impl TargetWorld for ClusterWorld {
    fn rules(&self) -> &TargetRules {
        &self.rules
    }

    fn domains(&self, namespace: &str) -> Vec<String> {
        agency_domains(&self.rules, &self.agencies, namespace)
    }

    fn service_addresses(&self, namespace: &str, service: &str) -> Result<Vec<IpAddr>, String> {
        let guarded = self
            .services
            .get(&ObjectRef::new(service).within(namespace))
            .ok_or_else(|| format!("there is no Service {service} in namespace {namespace}"))?;
        let object = guarded
            .0
            .as_ref()
            .map_err(|invalid| format!("Service {namespace}/{service} cannot be read: {}", invalid.error))?;
        cluster_addresses(object).map_err(|why| format!("Service {namespace}/{service} {why}"))
    }
}

/// The cluster addresses of a Service, or why it has none a probe may use.
fn cluster_addresses(service: &Service) -> Result<Vec<IpAddr>, String> {
    let spec = service.spec.as_ref().ok_or("has no spec")?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return Err("is of type ExternalName: probe the host it names instead, if it is one of the agency's".into());
    }
    let written: Vec<&String> = match &spec.cluster_ips {
        Some(ips) if !ips.is_empty() => ips.iter().collect(),
        _ => spec.cluster_ip.iter().collect(),
    };
    if written.is_empty() || written.iter().any(|ip| ip.as_str() == "None") {
        return Err("is headless (no cluster address): probe a Service with a cluster address".into());
    }
    written.iter().map(|ip| ip.parse().map_err(|_| format!("has an unreadable cluster address `{ip}`"))).collect()
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ServiceSpec;

    use super::*;

    fn service(spec: ServiceSpec) -> Service {
        Service { spec: Some(spec), ..Default::default() }
    }

    #[test]
    fn only_services_with_a_cluster_address_can_be_probed() {
        let plain = service(ServiceSpec { cluster_ip: Some("10.96.3.4".into()), ..Default::default() });
        assert_eq!(cluster_addresses(&plain), Ok(vec!["10.96.3.4".parse().unwrap()]));
        let dual = service(ServiceSpec {
            cluster_ip: Some("10.96.3.4".into()),
            cluster_ips: Some(vec!["10.96.3.4".into(), "fd00:10::4".into()]),
            ..Default::default()
        });
        assert_eq!(cluster_addresses(&dual).unwrap().len(), 2);
        let external = service(ServiceSpec {
            type_: Some("ExternalName".into()),
            external_name: Some("kubernetes.default.svc.cluster.local".into()),
            ..Default::default()
        });
        assert!(cluster_addresses(&external).unwrap_err().contains("ExternalName"));
        let headless = service(ServiceSpec { cluster_ip: Some("None".into()), ..Default::default() });
        assert!(cluster_addresses(&headless).unwrap_err().contains("headless"));
        assert!(cluster_addresses(&Service::default()).is_err());
    }
}
