//! Services, Ingresses and NetworkPolicies: an instance is reachable only through the
//! platform's ingress, under its agency's names, and reaches only its own pods.

use serde_json::Value;

use super::{Findings, Scope, entries, is_set, items, own_selector};
use crate::error::pointer_token;

/// Service fields that reach outside the cluster's own network or steer traffic for
/// addresses the instance does not own (CVE-2020-8554 and its kin).
const OUTSIDE_SERVICE_FIELDS: &[&str] = &[
    "externalIPs",
    "externalName",
    "loadBalancerIP",
    "loadBalancerSourceRanges",
    "loadBalancerClass",
    "externalTrafficPolicy",
    "healthCheckNodePort",
    "allocateLoadBalancerNodePorts",
];

/// ingress-nginx annotations an item may set (after `nginx.ingress.kubernetes.io/`):
/// limits, timeouts, redirects and CORS. Snippets, authentication URLs, mirrors, aliases,
/// rewrites and backend protocols are left out: they inject configuration or reach other
/// hosts.
const NGINX_ANNOTATIONS: &[&str] = &[
    "proxy-body-size",
    "whitelist-source-range",
    "limit-rpm",
    "limit-rps",
    "limit-connections",
    "proxy-read-timeout",
    "proxy-send-timeout",
    "proxy-connect-timeout",
    "ssl-redirect",
    "force-ssl-redirect",
    "enable-cors",
    "cors-allow-origin",
    "cors-allow-methods",
    "cors-allow-headers",
];

/// The characters an ingress annotation's value may hold: none that nginx's configuration
/// syntax gives a meaning to (`;`, braces, quotes, `$`, `#`, backslashes, line breaks).
fn is_plain_annotation_value(value: &str) -> bool {
    value.chars().all(|c| c.is_ascii_alphanumeric() || " .,:/_*-".contains(c))
}

/// A Service: ClusterIP (or headless) only, selecting the instance's pods.
pub(super) fn service(object: &Value, scope: &Scope<'_>, findings: &mut Findings<'_>) {
    if let Some(kind) = object.pointer("/spec/type").and_then(Value::as_str)
        && kind != "ClusterIP"
    {
        findings.forbid("/spec/type", format!("`{kind}` Services are not allowed: only ClusterIP (use an Ingress)"));
    }
    for field in OUTSIDE_SERVICE_FIELDS {
        if is_set(object, &format!("/spec/{field}")) {
            findings.forbid(&format!("/spec/{field}"), "reaches outside the cluster's service network: not allowed");
        }
    }
    for (index, port) in items(object, "/spec/ports") {
        if port.get("nodePort").is_some_and(|p| !p.is_null()) {
            findings.forbid(&format!("/spec/ports/{index}/nodePort"), "node ports are not allowed");
        }
    }
    let chosen = |ip: &Value| ip.as_str().is_some_and(|ip| !ip.is_empty() && ip != "None");
    if object.pointer("/spec/clusterIP").is_some_and(chosen)
        || items(object, "/spec/clusterIPs").any(|(_, ip)| chosen(ip))
    {
        findings.forbid("/spec/clusterIP", "cluster IPs are assigned by the cluster (or `None` for headless)");
    }
    own_selector(object, "/spec/selector", scope, findings);
}

/// An Ingress: the platform's class and issuer, vetted annotations, the instance's own
/// Services and TLS Secrets, and a host on every rule (see `hosts` for which).
pub(super) fn ingress(object: &Value, scope: &Scope<'_>, findings: &mut Findings<'_>) {
    let class = object.pointer("/spec/ingressClassName").and_then(Value::as_str);
    if class != Some(scope.platform.ingress_class.as_str()) {
        findings.forbid(
            "/spec/ingressClassName",
            format!("must be the platform's ingress class `{}`", scope.platform.ingress_class),
        );
    }
    for (key, value) in entries(object, "/metadata/annotations") {
        let pointer = format!("/metadata/annotations/{}", pointer_token(key));
        let text = value.as_str().unwrap_or_default();
        if let Some(name) = key.strip_prefix("nginx.ingress.kubernetes.io/") {
            if !NGINX_ANNOTATIONS.contains(&name) {
                findings.forbid(
                    &pointer,
                    format!("not an annotation items may set (allowed: {})", NGINX_ANNOTATIONS.join(", ")),
                );
            } else if !is_plain_annotation_value(text) {
                findings.forbid(&pointer, "the value may hold letters, digits, spaces and . , : / _ * - only");
            }
        } else if key == "cert-manager.io/cluster-issuer" {
            if text != scope.platform.tls_issuer {
                findings.forbid(&pointer, format!("must be the platform's issuer `{}`", scope.platform.tls_issuer));
            }
        } else if key.contains("cert-manager.io/") || key == "kubernetes.io/ingress.class" {
            findings.forbid(&pointer, "certificates and ingress classes are the platform's to choose");
        }
    }
    if is_set(object, "/spec/defaultBackend") {
        findings.forbid("/spec/defaultBackend", "a default backend would catch every host: name hosts in rules");
    }
    for (index, rule) in items(object, "/spec/rules") {
        for (i, path) in items(rule, "/http/paths") {
            let pointer = format!("/spec/rules/{index}/http/paths/{i}/backend");
            if path.pointer("/backend/resource").is_some() {
                findings.forbid(&format!("{pointer}/resource"), "backends must be Services of the instance");
            }
            let service = path.pointer("/backend/service/name").and_then(Value::as_str).unwrap_or_default();
            if !scope.renders("Service", service) {
                findings.forbid(
                    &format!("{pointer}/service/name"),
                    format!("Service `{service}` is not one the instance renders"),
                );
            }
        }
    }
    let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    for (index, tls) in items(object, "/spec/tls") {
        if let Some(secret) = tls.get("secretName").and_then(Value::as_str)
            && secret != format!("{name}-tls")
        {
            findings.forbid(
                &format!("/spec/tls/{index}/secretName"),
                format!("must be `{name}-tls`: an Ingress keeps its certificate in a Secret of its own"),
            );
        }
    }
}

/// A NetworkPolicy: over the instance's own pods, admitting no peer that could be
/// another agency (address blocks, namespaces not named, other agencies' namespaces).
pub(super) fn network_policy(object: &Value, scope: &Scope<'_>, findings: &mut Findings<'_>) {
    own_selector(object, "/spec/podSelector", scope, findings);
    for (index, rule) in items(object, "/spec/ingress") {
        for (i, peer) in items(rule, "/from") {
            let pointer = format!("/spec/ingress/{index}/from/{i}");
            if peer.get("ipBlock").is_some() {
                findings.forbid(&format!("{pointer}/ipBlock"), "address blocks would admit other agencies' pods");
            }
            if let Some(selector) = peer.get("namespaceSelector") {
                let named = selector
                    .pointer("/matchLabels/kubernetes.io~1metadata.name")
                    .and_then(Value::as_str)
                    .filter(|_| selector.get("matchExpressions").is_none());
                let admits = |namespace: &str| {
                    namespace == scope.namespace || makonis_api::tenancy::code_of_namespace(namespace).is_none()
                };
                if !named.is_some_and(admits) {
                    findings.forbid(
                        &format!("{pointer}/namespaceSelector"),
                        "must name one namespace (kubernetes.io/metadata.name) that is not another agency's",
                    );
                }
            }
        }
    }
}
