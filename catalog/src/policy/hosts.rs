//! Host names in rendered objects: every name an Ingress serves or gets a certificate for
//! lies under the agency's own domains, whatever the template built it from.

use makonis_api::tenancy::within_domains;
use serde_json::Value;

use super::{Breach, Findings, Scope, items};

/// The message for a host outside the agency's domains.
pub(crate) fn foreign_host_message(host: &str, domains: &[String]) -> String {
    format!(
        "`{host}` is not one of the agency's host names: use a name under {} (platform administrators add \
         domains the agency holds to the Agency's spec.domains)",
        domains.join(" or ")
    )
}

/// An Ingress: every rule names a host, and every rule and TLS host is the agency's.
pub(super) fn ingress(object: &Value, scope: &Scope<'_>, findings: &mut Findings<'_>) {
    for (index, rule) in items(object, "/spec/rules") {
        let pointer = format!("/spec/rules/{index}/host");
        match rule.get("host").and_then(Value::as_str) {
            None | Some("") => {
                findings.forbid(&pointer, "every rule must name a host: a rule without one catches every host")
            }
            Some(host) => check(host, &pointer, scope, findings),
        }
    }
    for (index, tls) in items(object, "/spec/tls") {
        for (i, host) in items(tls, "/hosts") {
            check(host.as_str().unwrap_or_default(), &format!("/spec/tls/{index}/hosts/{i}"), scope, findings);
        }
    }
}

fn check(host: &str, pointer: &str, scope: &Scope<'_>, findings: &mut Findings<'_>) {
    if !within_domains(host, scope.host_domains) {
        findings.add(Breach::ForeignHost, pointer, foreign_host_message(host, scope.host_domains));
    }
}
