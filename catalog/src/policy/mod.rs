//! What no rendered object may do, whatever its template says: checked after rendering,
//! for every item, so that a template (or a value that reached it) cannot give an
//! instance more than its own share of its agency's namespace.
//!
//! - Workloads (`pods`): Pod Security "restricted" — no host namespaces, host paths,
//!   host ports, privileged containers, added capabilities (but `NET_BIND_SERVICE`),
//!   privilege escalation, root, unconfined seccomp or AppArmor, custom SELinux types,
//!   unsafe sysctls; only `configMap`, `downwardAPI`, `emptyDir`, `persistentVolumeClaim`,
//!   `projected` and `secret` volumes; Secrets, claims and service accounts of the
//!   instance only; no pinning to a node or onto control-plane nodes; and the restricted
//!   settings a template leaves out are filled in.
//! - The network (`network`): ClusterIP Services selecting the instance's own pods only
//!   (no `externalIPs`, node ports, load balancers or external names); Ingresses of the
//!   platform's class, with the platform's issuer, vetted annotations, the instance's own
//!   Services and TLS Secrets, and host names of the agency (`hosts`); NetworkPolicies over
//!   the instance's pods that admit no other agency.
//! - Storage and machines (`storage`, `compute`): claims of the platform's storage class
//!   that bind no chosen volume and clone nothing; virtual machines, volumes and backups
//!   in the platform's host pool, using the instance's own volumes and Secrets.
//! - Directory accounts (`directory`): only the instance's own account name, with its
//!   credentials in the Secret the identity operator names after the object.

mod compute;
mod directory;
mod hosts;
mod network;
mod pods;
mod storage;

pub(crate) use hosts::foreign_host_message;

use std::collections::BTreeSet;

use makonis_api::labels;
use serde_json::Value;

use crate::render::{PlatformVars, RenderedObject};

/// What the checks know about the instance whose objects they judge.
pub struct Scope<'a> {
    /// The instance's name.
    pub instance: &'a str,
    /// Its namespace.
    pub namespace: &'a str,
    /// The platform's settings (ingress class, issuer, storage class, host pool).
    pub platform: &'a PlatformVars,
    /// The DNS domains the agency's host names must lie in.
    pub host_domains: &'a [String],
    /// Secrets the instance's workloads may name: its credentials Secret, those of the
    /// instances its order names (`x-instance`), its Ingresses' TLS Secrets and the
    /// Secrets it renders.
    pub secrets: BTreeSet<String>,
    /// Names the instance renders, by kind: the only claims, Services, service accounts
    /// and volumes its objects may name.
    rendered: Vec<(&'static str, String)>,
    /// The only directory account name its `DirectoryServiceAccount` may have.
    pub directory_account: String,
}

impl<'a> Scope<'a> {
    /// The scope of `objects`, rendered for `instance`; `referenced` are the instances
    /// the order names in `x-instance` parameters.
    pub fn new(
        instance: &'a str,
        namespace: &'a str,
        platform: &'a PlatformVars,
        host_domains: &'a [String],
        referenced: &[String],
        objects: &[RenderedObject],
    ) -> Self {
        let rendered: Vec<(&'static str, String)> = objects.iter().map(|o| (o.kind.kind, o.name.clone())).collect();
        let mut secrets = BTreeSet::from([crate::names::credentials_secret_name(instance)]);
        secrets.extend(referenced.iter().map(|other| crate::names::credentials_secret_name(other)));
        for (kind, name) in &rendered {
            match *kind {
                "Ingress" => {
                    secrets.insert(format!("{name}-tls"));
                }
                "Secret" => {
                    secrets.insert(name.clone());
                }
                "DirectoryServiceAccount" => {
                    secrets.insert(directory::credentials_secret(name));
                }
                _ => {}
            }
        }
        let directory_account = crate::names::directory_account_name(namespace, instance);
        Self { instance, namespace, platform, host_domains, secrets, rendered, directory_account }
    }

    /// Whether the instance renders a `kind` called `name`.
    fn renders(&self, kind: &str, name: &str) -> bool {
        self.rendered.iter().any(|(k, n)| *k == kind && n == name)
    }
}

/// What a problem is about, which decides the refusal's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breach {
    /// The object does something no instance may.
    Forbidden,
    /// The object names a host outside the agency's domains.
    ForeignHost,
}

/// One problem with one rendered object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What it is about.
    pub breach: Breach,
    /// `template `t`: Kind `name`: /pointer: what is wrong (what to do)`.
    pub message: String,
}

/// The problems found in one object, each at a JSON pointer into it.
struct Findings<'o> {
    object: &'o RenderedObject,
    problems: Vec<Problem>,
}

impl Findings<'_> {
    fn add(&mut self, breach: Breach, pointer: &str, message: impl AsRef<str>) {
        let object = self.object;
        self.problems.push(Problem {
            breach,
            message: format!(
                "template `{}`: {} `{}`: {pointer}: {}",
                object.template,
                object.kind.kind,
                object.name,
                message.as_ref()
            ),
        });
    }

    fn forbid(&mut self, pointer: &str, message: impl AsRef<str>) {
        self.add(Breach::Forbidden, pointer, message);
    }
}

/// Checks every object, filling in the restricted pod settings a template left out; the
/// problems of all objects, in template order.
pub fn check(objects: &mut [RenderedObject], scope: &Scope<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for object in objects.iter_mut() {
        pods::fill_in_defaults(object);
    }
    for object in objects.iter() {
        let mut findings = Findings { object, problems: Vec::new() };
        check_annotations(&object.object, "/metadata/annotations", &mut findings);
        let value = &object.object;
        if let Some(template) = pods::pod_template(object.kind.kind) {
            pods::check_pod(value, template, scope, &mut findings);
        }
        match object.kind.kind {
            "Service" => network::service(value, scope, &mut findings),
            "Ingress" => {
                network::ingress(value, scope, &mut findings);
                hosts::ingress(value, scope, &mut findings);
            }
            "NetworkPolicy" => network::network_policy(value, scope, &mut findings),
            "PodDisruptionBudget" => own_selector(value, "/spec/selector", scope, &mut findings),
            "PersistentVolumeClaim" => storage::claim(value, "/spec", scope, &mut findings),
            "ServiceAccount" => {
                for list in ["/secrets", "/imagePullSecrets"] {
                    for (index, reference) in items(value, list) {
                        secret_reference(reference.get("name"), &format!("{list}/{index}/name"), scope, &mut findings);
                    }
                }
            }
            "VirtualMachine" | "Volume" | "BackupPolicy" => {
                compute::check(value, object.kind.kind, scope, &mut findings)
            }
            "DirectoryServiceAccount" => directory::service_account(value, scope, &mut findings),
            _ => {}
        }
        if object.kind.kind == "StatefulSet" {
            for (index, _) in items(value, "/spec/volumeClaimTemplates") {
                storage::claim(value, &format!("/spec/volumeClaimTemplates/{index}/spec"), scope, &mut findings);
            }
        }
        problems.extend(findings.problems);
    }
    problems
}

/// Annotations that make other controllers act beyond the instance: external-dns
/// records for any name.
fn check_annotations(object: &Value, pointer: &str, findings: &mut Findings<'_>) {
    for (key, _) in entries(object, pointer) {
        if key.starts_with("external-dns.alpha.kubernetes.io/") {
            findings.forbid(
                &format!("{pointer}/{}", crate::error::pointer_token(key)),
                "external-dns annotations are not allowed: DNS names are the platform's to publish",
            );
        }
    }
}

/// A label selector at `pointer` that selects only the instance's own pods (objects):
/// its `matchLabels` must hold `makonis.lv/instance: <instance>`.
fn own_selector(object: &Value, pointer: &str, scope: &Scope<'_>, findings: &mut Findings<'_>) {
    let labels = object.pointer(&format!("{pointer}/matchLabels")).or_else(|| object.pointer(pointer));
    if !selects_instance(labels, scope.instance) {
        findings.forbid(
            pointer,
            format!(
                "must select the instance's own pods only: put `{}: {}` in its matchLabels",
                labels::INSTANCE,
                scope.instance
            ),
        );
    }
}

/// Whether a label map holds the instance's label.
fn selects_instance(labels: Option<&Value>, instance: &str) -> bool {
    labels.and_then(|l| l.get(labels::INSTANCE)).and_then(Value::as_str) == Some(instance)
}

/// A reference to a Secret, which must be one of the instance's own.
fn secret_reference(name: Option<&Value>, pointer: &str, scope: &Scope<'_>, findings: &mut Findings<'_>) {
    let name = name.and_then(Value::as_str).unwrap_or_default();
    if !scope.secrets.contains(name) {
        let own = scope.secrets.iter().map(String::as_str).collect::<Vec<_>>().join(", ");
        findings.forbid(pointer, format!("Secret `{name}` is not the instance's own (its own: {own})"));
    }
}

/// The items of the array at `pointer`, with their indices (none if absent).
fn items<'v>(value: &'v Value, pointer: &str) -> impl Iterator<Item = (usize, &'v Value)> {
    value.pointer(pointer).and_then(Value::as_array).into_iter().flatten().enumerate()
}

/// The entries of the object at `pointer` (none if absent).
fn entries<'v>(value: &'v Value, pointer: &str) -> impl Iterator<Item = (&'v String, &'v Value)> {
    value.pointer(pointer).and_then(Value::as_object).into_iter().flatten()
}

/// Whether the field at `pointer` is `true`.
fn is_true(value: &Value, pointer: &str) -> bool {
    value.pointer(pointer).and_then(Value::as_bool) == Some(true)
}

/// Whether the field at `pointer` is present and not null.
fn is_set(value: &Value, pointer: &str) -> bool {
    value.pointer(pointer).is_some_and(|v| !v.is_null())
}

#[cfg(test)]
mod tests;
