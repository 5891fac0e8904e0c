//! Where an agency's Probe may point: only the agency's own host names (its
//! `<code>.<apps domain>` and the domains the platform administrators listed on its
//! Agency) and the Services of its own namespace; never an IP address, `localhost`,
//! another namespace's Service, nor (once resolved) a loopback, link-local, API server
//! or cluster-internal address. Probes of the platform's own namespaces are not limited.
//!
//! One rule for both places it is enforced: the admission webhook refuses such a Probe
//! with the field path ([`admit`]), and every run checks its host again, then each
//! address it resolved to, before connecting (`probe::tcp`, through [`AgencyGuard`]).

mod address;
mod guard;

use std::{fmt, net::IpAddr};

pub use address::{AddressClass, ForbiddenRanges};
pub use guard::{AgencyGuard, TargetWorld};
use makonis_api::{
    slo::ProbeSpec as ApiProbeSpec,
    tenancy::{Agency, code_of_namespace, within_domains},
};

/// The cluster's DNS domain: Services are `<service>.<namespace>.svc.cluster.local`.
const CLUSTER_DOMAIN: &str = "cluster.local";

/// The platform's settings for agency probe targets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetRules {
    /// The DNS domain instances are named under (`<instance>.<code>.<apps domain>`).
    pub apps_domain: String,
    /// Addresses agency probes may never reach.
    pub forbidden: ForbiddenRanges,
}

impl TargetRules {
    /// The domains the probes of agency namespace `namespace` may name hosts under: those
    /// of its Agency when known, else `<code>.<apps domain>` alone.
    pub fn domains(&self, namespace: &str, agency: Option<&Agency>) -> Vec<String> {
        match agency {
            Some(agency) => agency.hostname_domains(&self.apps_domain),
            None => code_of_namespace(namespace)
                .map(|code| format!("{code}.{}", self.apps_domain.trim_end_matches('.').to_ascii_lowercase()))
                .into_iter()
                .collect(),
        }
    }
}

/// What an agency's probe may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedHost {
    /// A host name of the agency's domains: resolved by DNS, then every address checked.
    AgencyHost,
    /// The Service of this name in the probe's own namespace: its cluster address comes
    /// from the API server, not from DNS.
    OwnService(String),
}

/// Why an agency's probe may not point where it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The URL has no host, or cannot be read.
    Unreadable(String),
    /// The URL carries a user name (`http://user@host/`), which other parsers may read as
    /// the host.
    UserInfo,
    /// The host is an IP address (`class`: why it is out of reach, if it is one of the
    /// forbidden classes).
    Address {
        /// The address.
        ip: IpAddr,
        /// Its forbidden class, if any.
        class: Option<AddressClass>,
    },
    /// `localhost` or a name under it: the engine's own machine.
    Localhost(String),
    /// A Service of another namespace.
    OtherNamespace {
        /// The host as written.
        host: String,
        /// The Service's namespace.
        namespace: String,
    },
    /// Neither the agency's host name nor a Service of its namespace.
    NotTheAgencys {
        /// The host as written.
        host: String,
        /// The domains the agency's host names lie under.
        domains: Vec<String>,
    },
    /// At run time: the host resolved to an address out of reach; not connected to.
    Resolved {
        /// The host.
        host: String,
        /// The address it resolved to.
        ip: IpAddr,
        /// Why it is out of reach.
        class: AddressClass,
    },
    /// At run time: the named Service of the namespace cannot be probed.
    Service(String),
}

impl Refusal {
    /// A bounded name of the kind of refusal, for logs.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Unreadable(_) => "Unreadable",
            Self::UserInfo => "UserInfo",
            Self::Address { .. } => "Address",
            Self::Localhost(_) => "Localhost",
            Self::OtherNamespace { .. } => "OtherNamespace",
            Self::NotTheAgencys { .. } => "NotTheAgencys",
            Self::Resolved { .. } => "Resolved",
            Self::Service(_) => "Service",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const WHAT: &str =
            "an agency's probe may target only the agency's own host names and the Services of its namespace";
        match self {
            Self::Unreadable(why) => f.write_str(why),
            Self::UserInfo => write!(f, "the URL carries user info (`user@`): name only the host; {WHAT}"),
            Self::Address { ip, class: Some(class) } => write!(f, "{ip} is {class}: {WHAT}"),
            Self::Address { ip, class: None } => write!(f, "{ip} is an IP address: name the host instead; {WHAT}"),
            Self::Localhost(host) => write!(f, "`{host}` is the engine's own machine (loopback): {WHAT}"),
            Self::OtherNamespace { host, namespace } => {
                write!(f, "`{host}` is a Service of namespace {namespace}: {WHAT}")
            }
            Self::NotTheAgencys { host, domains } => write!(
                f,
                "`{host}` is neither a host name of the agency (under {}) nor a Service of its namespace \
                 (`<service>.<namespace>.svc`): {WHAT}",
                domains.join(", ")
            ),
            Self::Resolved { host, ip, class } => {
                write!(f, "`{host}` resolves to {ip}, which is {class}: not connected; {WHAT}")
            }
            Self::Service(why) => f.write_str(why),
        }
    }
}

/// A refusal of a Probe's spec, with the field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRefusal {
    /// The field path, e.g. `spec.http.url`.
    pub field: &'static str,
    /// Why.
    pub refusal: Refusal,
}

impl fmt::Display for FieldRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.refusal)
    }
}

/// Whether the probes of agency namespace `namespace`, whose host names lie under
/// `domains`, may name `host` (case, one trailing dot and IPv6 brackets do not matter).
pub fn classify_host(
    rules: &TargetRules,
    namespace: &str,
    domains: &[String],
    host: &str,
) -> Result<AllowedHost, Refusal> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let name = bare.strip_suffix('.').unwrap_or(bare).to_ascii_lowercase();
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Err(Refusal::Address { ip, class: rules.forbidden.classify(ip) });
    }
    if name == "localhost" || name.ends_with(".localhost") {
        return Err(Refusal::Localhost(host.to_owned()));
    }
    if let Some((service, service_namespace)) = service_name(&name) {
        return if service_namespace == namespace && is_label(service) {
            Ok(AllowedHost::OwnService(service.to_owned()))
        } else {
            Err(Refusal::OtherNamespace { host: host.to_owned(), namespace: service_namespace.to_owned() })
        };
    }
    if within_domains(&name, domains) {
        return Ok(AllowedHost::AgencyHost);
    }
    Err(Refusal::NotTheAgencys { host: host.to_owned(), domains: domains.to_vec() })
}

/// `(service, namespace)` of `<service>.<namespace>.svc[.cluster.local]`.
fn service_name(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_suffix(&format!(".svc.{CLUSTER_DOMAIN}")).or_else(|| name.strip_suffix(".svc"))?;
    rest.split_once('.')
}

/// A DNS label: 1–63 lower-case letters, digits and inner dashes.
fn is_label(text: &str) -> bool {
    (1..=63).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

/// The host a Probe's spec connects to, with its field path.
pub fn probe_host(spec: &ApiProbeSpec) -> Result<(&'static str, String), FieldRefusal> {
    match (&spec.http, &spec.tcp) {
        (Some(http), _) => {
            let field = "spec.http.url";
            let url = crate::probe::UrlTarget::parse(&http.url)
                .map_err(|why| FieldRefusal { field, refusal: Refusal::Unreadable(why) })?;
            if url.user_info {
                return Err(FieldRefusal { field, refusal: Refusal::UserInfo });
            }
            Ok((field, url.host))
        }
        (None, Some(tcp)) => Ok(("spec.tcp.host", tcp.host.clone())),
        (None, None) => {
            Err(FieldRefusal { field: "spec", refusal: Refusal::Unreadable("set one of http and tcp".into()) })
        }
    }
}

/// Whether a Probe with `spec` may be created (or changed to it) in agency namespace
/// `namespace`, whose host names lie under `domains`.
pub fn admit(
    rules: &TargetRules,
    namespace: &str,
    domains: &[String],
    spec: &ApiProbeSpec,
) -> Result<(), FieldRefusal> {
    let (field, host) = probe_host(spec)?;
    classify_host(rules, namespace, domains, &host).map(|_| ()).map_err(|refusal| FieldRefusal { field, refusal })
}

#[cfg(test)]
mod tests;
