//! The `DetectionRule` and `ClusterDetectionRule` kinds: Sigma rules the SIEM evaluates on
//! every event it stores.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::tenancy::CODE_PATTERN;

/// An agency's own detection rule: Sigma YAML evaluated on its agency's events only.
///
/// `spec.sigma` holds the rule verbatim: one detection rule, or a correlation (Sigma
/// specification v2: `event_count`, `value_count`, `temporal`, `temporal_ordered`) with
/// the detection rules it refers to, as several YAML documents. The admission webhook
/// compiles it and refuses what cannot be evaluated, naming the line and the construct.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "security.makonis.lv",
    version = "v1alpha1",
    kind = "DetectionRule",
    plural = "detectionrules",
    singular = "detectionrule",
    shortname = "drule",
    category = "makonis",
    namespaced,
    status = "DetectionRuleStatus",
    printcolumn(name = "Enabled", type_ = "boolean", json_path = ".spec.enabled"),
    printcolumn(name = "Compiled", type_ = "string", json_path = ".status.conditions[?(@.type=='Compiled')].status"),
    printcolumn(name = "Matches", type_ = "integer", json_path = ".status.matches"),
    printcolumn(name = "Last match", type_ = "date", json_path = ".status.lastMatchTime"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct DetectionRuleSpec {
    /// The rule, and whether and how it is evaluated.
    #[serde(flatten)]
    pub rule: RuleSpec,
}

/// What every detection rule object holds: the Sigma YAML, whether it is evaluated, and
/// the level its alerts take.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RuleSpec {
    /// The rule's Sigma YAML, verbatim (at most 256 KiB).
    #[schemars(length(min = 1, max = 262_144))]
    pub sigma: String,
    /// Whether the SIEM evaluates it.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// The level its alerts take instead of the rule's own `level`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// A platform detection rule: Sigma YAML evaluated on the events of every agency, or of
/// the agencies it names, and on the platform's own.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "security.makonis.lv",
    version = "v1alpha1",
    kind = "ClusterDetectionRule",
    plural = "clusterdetectionrules",
    singular = "clusterdetectionrule",
    shortname = "cdrule",
    category = "makonis",
    status = "DetectionRuleStatus",
    printcolumn(name = "Enabled", type_ = "boolean", json_path = ".spec.enabled"),
    printcolumn(name = "Compiled", type_ = "string", json_path = ".status.conditions[?(@.type=='Compiled')].status"),
    printcolumn(name = "Matches", type_ = "integer", json_path = ".status.matches"),
    printcolumn(name = "Last match", type_ = "date", json_path = ".status.lastMatchTime"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterDetectionRuleSpec {
    /// The rule, and whether and how it is evaluated.
    #[serde(flatten)]
    pub rule: RuleSpec,
    /// The agencies (by code) whose events it sees; empty: every agency's and the
    /// platform's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64), inner(length(min = 1, max = 20), regex(pattern = CODE_PATTERN)), extend("x-kubernetes-list-type" = "set"))]
    pub agencies: Vec<String>,
}

fn enabled() -> bool {
    true
}

/// A Sigma level: the level the rule's alerts take instead of the rule's own `level`.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For the record.
    Informational,
    /// Worth a look.
    Low,
    /// Worth a look today.
    Medium,
    /// Opens a security incident.
    High,
    /// Opens a security incident and pages.
    Critical,
}

/// What the SIEM made of a rule.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DetectionRuleStatus {
    /// The Sigma rules it holds: id (or name) and title.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<CompiledRule>,
    /// Alerts raised.
    #[serde(default)]
    pub matches: i64,
    /// Event time of the newest alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_match_time: Option<String>,
    /// The logsource mapping version it was compiled under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping_version: Option<i64>,
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Compiled`: False with the line and the construct that could not be taken.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// One Sigma rule of a `DetectionRule`.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CompiledRule {
    /// The Sigma id, or its name when it has no id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The title.
    pub title: String,
    /// `detection`, or the correlation's type.
    pub kind: String,
}
