//! The `Probe` kind: how the platform checks that a service answers.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::PROBE_DURATION_PATTERN;
use crate::compute::OBJECT_NAME_PATTERN;

/// A check of one service address on an interval: an HTTP(S) request with an expected
/// answer, or a TCP connect.
///
/// The SLO engine (`makonis slo`) runs every probe. A failure must repeat
/// `failureThreshold` times before it opens an outage in the SLA ledger, which then
/// starts at the first failure; `successThreshold` successes close it again. Raw results
/// go to Prometheus metrics only.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "slo.makonis.lv",
    version = "v1alpha1",
    kind = "Probe",
    plural = "probes",
    singular = "probe",
    shortname = "prb",
    category = "makonis",
    namespaced,
    status = "ProbeStatus",
    printcolumn(name = "URL", type_ = "string", json_path = ".spec.http.url"),
    printcolumn(name = "Host", type_ = "string", json_path = ".spec.tcp.host", priority = 1),
    printcolumn(name = "Interval", type_ = "string", json_path = ".spec.interval"),
    printcolumn(name = "State", type_ = "string", json_path = ".status.state"),
    printcolumn(name = "Since", type_ = "date", json_path = ".status.since"),
    printcolumn(name = "Cause", type_ = "string", json_path = ".status.cause", priority = 1),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[x_kube(validation = Rule::new("has(self.http) != has(self.tcp)")
    .message("set exactly one of http and tcp"))]
#[x_kube(validation = Rule::new("duration(self.timeout) <= duration(self.interval)")
    .message("timeout must not be longer than interval")
    .field_path(".timeout"))]
#[serde(rename_all = "camelCase")]
pub struct ProbeSpec {
    /// The `ServiceInstance` (same namespace) whose service this probe checks, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63), regex(pattern = OBJECT_NAME_PATTERN))]
    pub instance: Option<String>,
    /// An HTTP(S) request and what its answer must be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpProbe>,
    /// A TCP connect to a host and port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpProbe>,
    /// How often to check, e.g. `30s` (at least `1s`).
    #[serde(default = "default_interval")]
    #[schemars(regex(pattern = PROBE_DURATION_PATTERN))]
    #[x_kube(validation = Rule::new("duration(self) >= duration('1s')").message("interval must be at least 1s"))]
    pub interval: String,
    /// How long one check may take before it fails, e.g. `5s`.
    #[serde(default = "default_timeout")]
    #[schemars(regex(pattern = PROBE_DURATION_PATTERN))]
    #[x_kube(validation = Rule::new("duration(self) >= duration('1s')").message("timeout must be at least 1s"))]
    pub timeout: String,
    /// Consecutive failures that open an outage (1–10). The outage starts at the first.
    #[serde(default = "default_failure_threshold")]
    #[schemars(range(min = 1, max = 10))]
    pub failure_threshold: i32,
    /// Consecutive successes that close an outage (1–10). It ends at the first.
    #[serde(default = "default_success_threshold")]
    #[schemars(range(min = 1, max = 10))]
    pub success_threshold: i32,
}

fn default_interval() -> String {
    "30s".into()
}

fn default_timeout() -> String {
    "5s".into()
}

fn default_failure_threshold() -> i32 {
    3
}

fn default_success_threshold() -> i32 {
    2
}

/// An HTTP(S) check.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HttpProbe {
    /// The address, `http://` or `https://`, e.g. `https://dms.vdi.apps.makonis.lv/healthz`.
    #[schemars(length(min = 8, max = 2048), regex(pattern = r"^https?://[^\s/]+(/\S*)?$"))]
    pub url: String,
    /// The status codes that count as up. Empty: any of 200–399.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20), inner(range(min = 100, max = 599)))]
    pub expected_status: Vec<i32>,
    /// A regular expression the first 64 KiB of the body must match, e.g. `"status":"ok"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub body_match: Option<String>,
    /// An answer slower than this counts as a failure, e.g. `2s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = PROBE_DURATION_PATTERN))]
    pub latency_threshold: Option<String>,
    /// Warn (status condition, metric) when the server's TLS certificate expires within
    /// this many days. An expired or untrusted certificate is a failure.
    #[serde(default = "default_certificate_warning_days")]
    #[schemars(range(min = 1, max = 365))]
    pub certificate_expiry_warning_days: i32,
}

fn default_certificate_warning_days() -> i32 {
    14
}

/// A TCP connect check.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TcpProbe {
    /// Host name or IP address, e.g. `db.vdi.apps.makonis.lv`.
    #[schemars(length(min = 1, max = 253))]
    pub host: String,
    /// Port, 1–65535.
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
}

/// What the SLO engine last confirmed about a probe's target.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ProbeStatus {
    /// `Up`, `Down` or `Unknown` (not confirmed either way yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ProbeState>,
    /// When the target went into this state (the first result of the confirming streak).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Why the target is down, as the probe saw it, e.g. `HTTP 503 (expected 200–399)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// When the server's TLS certificate expires (HTTPS only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_expires: Option<String>,
    /// `Ready` (the probe runs; False with the reason when its spec cannot be run),
    /// `TargetUp` (the target answers as expected) and `CertificateExpiring`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// A probe target's confirmed state.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeState {
    /// Not confirmed either way yet.
    Unknown,
    /// Answers as expected.
    Up,
    /// Does not; an outage is open in the ledger.
    Down,
}
