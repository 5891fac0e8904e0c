//! API group `security.makonis.lv`: security monitoring (the SIEM) as declarations.
//!
//! A [`LogSource`] says who sends security logs for an agency (or for the platform), in
//! which format and category, and when its silence means it is down; the SIEM reports in
//! its status what it received. A [`RetentionPolicy`] (cluster-scoped) sets how many months
//! each category is kept, 6 to 18 as Cabinet Regulation No. 442 requires, and holds
//! events under legal holds. A [`DetectionRule`] (an agency's) or a [`ClusterDetectionRule`]
//! (the platform's) is a Sigma rule the SIEM evaluates on every event it stores.

mod detection_rule;
mod log_source;
mod retention_policy;

pub use detection_rule::{
    ClusterDetectionRule, ClusterDetectionRuleSpec, CompiledRule, DetectionRule, DetectionRuleSpec,
    DetectionRuleStatus, RuleSpec, Severity,
};
pub use log_source::{LogFormat, LogSource, LogSourceSpec, LogSourceState, LogSourceStatus, PlatformSender, Sender};
pub use retention_policy::{CategoryMonths, LegalHold, RetentionPolicy, RetentionPolicySpec, RetentionPolicyStatus};

/// The API group.
pub const GROUP: &str = "security.makonis.lv";

/// A LogSource's category, which decides how long its events are kept.
#[derive(
    schemars::JsonSchema, serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "kebab-case")]
pub enum LogCategory {
    /// Sign-ins and credential checks.
    Authentication,
    /// Directory changes: users, groups, passwords.
    Directory,
    /// The platform's own audit: the API server, the portal.
    PlatformAudit,
    /// Operating systems and their services.
    System,
    /// Firewalls, routers, VPNs.
    Network,
    /// Applications of the catalog.
    Application,
}
