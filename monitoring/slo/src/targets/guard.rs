//! The run-time half of the rule: every run of an agency's probe checks its host again
//! (the Agency's domains may have changed since admission), then each address the host
//! resolved to, before it connects to any.

use std::{fmt, net::IpAddr, sync::Arc};

use super::{AllowedHost, Refusal, TargetRules, classify_host};

/// What the run-time checks read from the cluster: the rules, each agency's domains as
/// they are now, and the Services of a namespace.
pub trait TargetWorld: Send + Sync {
    /// The platform's settings for agency probe targets.
    fn rules(&self) -> &TargetRules;
    /// The domains the host names of agency namespace `namespace` lie under.
    fn domains(&self, namespace: &str) -> Vec<String>;
    /// The cluster addresses of Service `service` of `namespace`, or why it has none to
    /// probe (no such Service, an `ExternalName` or headless one).
    fn service_addresses(&self, namespace: &str, service: &str) -> Result<Vec<IpAddr>, String>;
}

/// The limits of one agency probe: its namespace, and the world its checks read.
#[derive(Clone)]
pub struct AgencyGuard {
    /// The probe's (agency) namespace.
    pub namespace: String,
    /// What the checks read.
    pub world: Arc<dyn TargetWorld>,
}

impl fmt::Debug for AgencyGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgencyGuard").field("namespace", &self.namespace).finish_non_exhaustive()
    }
}

impl AgencyGuard {
    /// Whether the probe may name `host` now.
    pub fn check_host(&self, host: &str) -> Result<AllowedHost, Refusal> {
        classify_host(self.world.rules(), &self.namespace, &self.world.domains(&self.namespace), host)
    }

    /// `addresses`, which `host` resolved to, unless one of them is out of reach: then
    /// the first such, and none is connected to.
    pub fn check_resolved(&self, host: &str, addresses: Vec<IpAddr>) -> Result<Vec<IpAddr>, Refusal> {
        let forbidden = &self.world.rules().forbidden;
        match addresses.iter().find_map(|ip| forbidden.classify(*ip).map(|class| (*ip, class))) {
            Some((ip, class)) => Err(Refusal::Resolved { host: host.to_owned(), ip, class }),
            None => Ok(addresses),
        }
    }

    /// The cluster addresses of Service `service` of the probe's namespace, as the API
    /// server recorded them (never DNS), checked like any other address except against
    /// the cluster's own ranges, where Services live.
    pub fn service_addresses(&self, host: &str, service: &str) -> Result<Vec<IpAddr>, Refusal> {
        let addresses = self.world.service_addresses(&self.namespace, service).map_err(Refusal::Service)?;
        let forbidden = &self.world.rules().forbidden;
        match addresses.iter().find_map(|ip| forbidden.classify_service(*ip).map(|class| (*ip, class))) {
            Some((ip, class)) => Err(Refusal::Resolved { host: host.to_owned(), ip, class }),
            None => Ok(addresses),
        }
    }
}
