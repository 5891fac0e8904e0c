//! Workloads: the pod template of every workload kind held to Pod Security "restricted",
//! and to the instance's own Secrets, claims and service accounts.

use makonis_api::labels;
use serde_json::{Value, json};

use super::{Findings, Scope, entries, is_set, is_true, items, secret_reference};
use crate::error::pointer_token;

/// Volume sources a pod may use: the "restricted" list without `csi` and `ephemeral`
/// (which reach storage drivers and classes the checks do not see) and with references
/// checked.
const VOLUME_SOURCES: &[&str] =
    &["configMap", "downwardAPI", "emptyDir", "persistentVolumeClaim", "projected", "secret"];

/// Sources of a `projected` volume a pod may use.
const PROJECTED_SOURCES: &[&str] = &["configMap", "downwardAPI", "secret", "serviceAccountToken"];

/// The one capability a container may add (Pod Security "restricted").
const ADDABLE_CAPABILITY: &str = "NET_BIND_SERVICE";

/// Sysctls Pod Security "baseline" calls safe: namespaced, without effect on the node.
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

/// SELinux types a container may run as (Pod Security "baseline").
const SELINUX_TYPES: &[&str] = &["container_t", "container_init_t", "container_kvm_t", "container_engine_t"];

/// Taints a pod may not tolerate: those that keep workloads off control-plane nodes.
const CONTROL_PLANE_TAINTS: &[&str] = &["node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"];

/// Where the pod template of a workload kind is.
pub(super) fn pod_template(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some(""),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => Some("/spec/template"),
        "CronJob" => Some("/spec/jobTemplate/spec/template"),
        _ => None,
    }
}

/// The container lists of a pod spec.
const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// Fills in the restricted settings a workload's template leaves out: a `RuntimeDefault`
/// seccomp profile and `runAsNonRoot: true` for the pod, `allowPrivilegeEscalation:
/// false` and dropping `ALL` capabilities for each container. Settings the template gives
/// are kept (and checked).
pub(super) fn fill_in_defaults(object: &mut super::RenderedObject) {
    let Some(template) = pod_template(object.kind.kind) else { return };
    let Some(spec) = object.object.pointer_mut(&format!("{template}/spec")).and_then(Value::as_object_mut) else {
        return;
    };
    let context = spec.entry("securityContext").or_insert_with(|| json!({}));
    if let Some(context) = context.as_object_mut() {
        context.entry("seccompProfile").or_insert_with(|| json!({"type": "RuntimeDefault"}));
        context.entry("runAsNonRoot").or_insert(Value::Bool(true));
    }
    for list in CONTAINER_LISTS {
        for container in spec.get_mut(list).and_then(Value::as_array_mut).into_iter().flatten() {
            let Some(container) = container.as_object_mut() else { continue };
            let context = container.entry("securityContext").or_insert_with(|| json!({}));
            let Some(context) = context.as_object_mut() else { continue };
            context.entry("allowPrivilegeEscalation").or_insert(Value::Bool(false));
            let capabilities = context.entry("capabilities").or_insert_with(|| json!({}));
            if let Some(capabilities) = capabilities.as_object_mut() {
                let drop = capabilities.entry("drop").or_insert_with(|| json!([]));
                if let Some(drop) = drop.as_array_mut()
                    && !drop.iter().any(|c| c == "ALL")
                {
                    drop.push(json!("ALL"));
                }
            }
        }
    }
}

/// Checks the pod template at `template` (its `metadata` and `spec`).
pub(super) fn check_pod(object: &Value, template: &str, scope: &Scope<'_>, findings: &mut Findings<'_>) {
    pod_metadata(object, &format!("{template}/metadata"), scope, findings);
    let spec = format!("{template}/spec");
    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        if is_true(object, &format!("{spec}/{field}")) {
            findings.forbid(&format!("{spec}/{field}"), "host namespaces are not allowed");
        }
    }
    if is_set(object, &format!("{spec}/nodeName")) {
        findings.forbid(&format!("{spec}/nodeName"), "pods may not be pinned to a node");
    }
    if is_set(object, &format!("{spec}/resourceClaims")) {
        findings.forbid(&format!("{spec}/resourceClaims"), "device claims are not allowed");
    }
    if let Some(class) = object.pointer(&format!("{spec}/priorityClassName")).and_then(Value::as_str)
        && class.starts_with("system-")
    {
        findings.forbid(&format!("{spec}/priorityClassName"), "the system priority classes are the platform's");
    }
    for field in ["serviceAccountName", "serviceAccount"] {
        let pointer = format!("{spec}/{field}");
        if let Some(account) = object.pointer(&pointer).and_then(Value::as_str)
            && !account.is_empty()
            && account != "default"
            && !scope.renders("ServiceAccount", account)
        {
            findings.forbid(&pointer, format!("service account `{account}` is not one the instance renders"));
        }
    }
    for (index, reference) in items(object, &format!("{spec}/imagePullSecrets")) {
        secret_reference(reference.get("name"), &format!("{spec}/imagePullSecrets/{index}/name"), scope, findings);
    }
    for (index, toleration) in items(object, &format!("{spec}/tolerations")) {
        let key = toleration.get("key").and_then(Value::as_str).unwrap_or_default();
        if key.is_empty() || CONTROL_PLANE_TAINTS.contains(&key) {
            findings.forbid(
                &format!("{spec}/tolerations/{index}"),
                "pods may not tolerate every taint or the control plane's",
            );
        }
    }
    security_context(object, &format!("{spec}/securityContext"), true, findings);
    volumes(object, &spec, scope, findings);
    for list in CONTAINER_LISTS {
        for (index, _) in items(object, &format!("{spec}/{list}")) {
            container(object, &format!("{spec}/{list}/{index}"), scope, findings);
        }
    }
}

/// Pod labels may not claim another instance; annotations may not unconfine the pod.
fn pod_metadata(object: &Value, metadata: &str, scope: &Scope<'_>, findings: &mut Findings<'_>) {
    let pointer = format!("{metadata}/labels/{}", pointer_token(labels::INSTANCE));
    if let Some(claimed) = object.pointer(&pointer).and_then(Value::as_str)
        && claimed != scope.instance
    {
        findings.forbid(&pointer, format!("pods of instance `{}` may not claim instance `{claimed}`", scope.instance));
    }
    let annotations = format!("{metadata}/annotations");
    for (key, value) in entries(object, &annotations) {
        let profile = key.starts_with("container.apparmor.security.beta.kubernetes.io/")
            || key.starts_with("seccomp.security.alpha.kubernetes.io/")
            || key.starts_with("container.seccomp.security.alpha.kubernetes.io/");
        if profile && value.as_str().is_none_or(|v| v.eq_ignore_ascii_case("unconfined")) {
            findings.forbid(&format!("{annotations}/{}", pointer_token(key)), "unconfined profiles are not allowed");
        }
    }
}

/// A pod's or a container's `securityContext`.
fn security_context(object: &Value, context: &str, pod: bool, findings: &mut Findings<'_>) {
    let at = |field: &str| format!("{context}/{field}");
    if object.pointer(&at("runAsUser")).and_then(Value::as_i64) == Some(0) {
        findings.forbid(&at("runAsUser"), "containers may not run as root (user 0)");
    }
    if object.pointer(&at("runAsNonRoot")).and_then(Value::as_bool) == Some(false) {
        findings.forbid(&at("runAsNonRoot"), "must not be false: containers run as non-root users");
    }
    for profile in ["seccompProfile", "appArmorProfile"] {
        if object.pointer(&at(&format!("{profile}/type"))).and_then(Value::as_str) == Some("Unconfined") {
            findings.forbid(&at(profile), "unconfined profiles are not allowed");
        }
    }
    if is_true(object, &at("windowsOptions/hostProcess")) {
        findings.forbid(&at("windowsOptions/hostProcess"), "host processes are not allowed");
    }
    for field in ["user", "role"] {
        if is_set(object, &at(&format!("seLinuxOptions/{field}"))) {
            findings.forbid(&at(&format!("seLinuxOptions/{field}")), "SELinux users and roles are the platform's");
        }
    }
    if let Some(kind) = object.pointer(&at("seLinuxOptions/type")).and_then(Value::as_str)
        && !SELINUX_TYPES.contains(&kind)
    {
        findings
            .forbid(&at("seLinuxOptions/type"), format!("SELinux type must be one of {}", SELINUX_TYPES.join(", ")));
    }
    if pod {
        for (index, sysctl) in items(object, &at("sysctls")) {
            let name = sysctl.get("name").and_then(Value::as_str).unwrap_or_default();
            if !SAFE_SYSCTLS.contains(&name) {
                findings.forbid(&at(&format!("sysctls/{index}")), format!("sysctl `{name}` is not a safe sysctl"));
            }
        }
        return;
    }
    if is_true(object, &at("privileged")) {
        findings.forbid(&at("privileged"), "privileged containers are not allowed");
    }
    if is_true(object, &at("allowPrivilegeEscalation")) {
        findings.forbid(&at("allowPrivilegeEscalation"), "privilege escalation is not allowed");
    }
    if object.pointer(&at("procMount")).and_then(Value::as_str).is_some_and(|m| m != "Default") {
        findings.forbid(&at("procMount"), "only the default /proc mount is allowed");
    }
    for (index, capability) in items(object, &at("capabilities/add")) {
        if capability.as_str() != Some(ADDABLE_CAPABILITY) {
            findings.forbid(
                &at(&format!("capabilities/add/{index}")),
                format!("containers may add {ADDABLE_CAPABILITY} only"),
            );
        }
    }
}

/// The pod's volumes: allowed sources only, the instance's own Secrets and claims.
fn volumes(object: &Value, spec: &str, scope: &Scope<'_>, findings: &mut Findings<'_>) {
    for (index, volume) in items(object, &format!("{spec}/volumes")) {
        let pointer = format!("{spec}/volumes/{index}");
        for (source, value) in volume.as_object().into_iter().flatten().filter(|(key, _)| *key != "name") {
            let at = format!("{pointer}/{}", pointer_token(source));
            match source.as_str() {
                "secret" => secret_reference(value.get("secretName"), &format!("{at}/secretName"), scope, findings),
                "persistentVolumeClaim" => {
                    let claim = value.get("claimName").and_then(Value::as_str).unwrap_or_default();
                    if !scope.renders("PersistentVolumeClaim", claim) {
                        findings.forbid(
                            &format!("{at}/claimName"),
                            format!("claim `{claim}` is not one the instance renders"),
                        );
                    }
                }
                "projected" => {
                    for (i, projection) in items(value, "/sources") {
                        for (kind, source) in projection.as_object().into_iter().flatten() {
                            let at = format!("{at}/sources/{i}/{}", pointer_token(kind));
                            if kind == "secret" {
                                secret_reference(source.get("name"), &format!("{at}/name"), scope, findings);
                            } else if !PROJECTED_SOURCES.contains(&kind.as_str()) {
                                findings.forbid(&at, format!("projected `{kind}` sources are not allowed"));
                            }
                        }
                    }
                }
                other if VOLUME_SOURCES.contains(&other) => {}
                other => findings
                    .forbid(&at, format!("`{other}` volumes are not allowed (allowed: {})", VOLUME_SOURCES.join(", "))),
            }
        }
    }
}

/// One container: its security context, host ports and the Secrets it reads.
fn container(object: &Value, pointer: &str, scope: &Scope<'_>, findings: &mut Findings<'_>) {
    security_context(object, &format!("{pointer}/securityContext"), false, findings);
    for (index, port) in items(object, &format!("{pointer}/ports")) {
        let host_port = port.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
        if host_port != 0 || port.get("hostIP").is_some_and(|ip| !ip.is_null()) {
            findings.forbid(&format!("{pointer}/ports/{index}"), "host ports are not allowed");
        }
    }
    for (index, source) in items(object, &format!("{pointer}/envFrom")) {
        if let Some(reference) = source.get("secretRef") {
            secret_reference(
                reference.get("name"),
                &format!("{pointer}/envFrom/{index}/secretRef/name"),
                scope,
                findings,
            );
        }
    }
    for (index, variable) in items(object, &format!("{pointer}/env")) {
        if let Some(reference) = variable.pointer("/valueFrom/secretKeyRef") {
            let at = format!("{pointer}/env/{index}/valueFrom/secretKeyRef/name");
            secret_reference(reference.get("name"), &at, scope, findings);
        }
    }
}
