//! Detection rules in the SIEM: what it makes of `DetectionRule`s and
//! `ClusterDetectionRule`s.
//!
//! - [`review`]: a rule's `spec.sigma` compiled as the SIEM will evaluate it (pure): the
//!   rules it holds, or each construct it cannot take with its line.
//! - [`engine`]: every stored event evaluated by the rule objects in force, alerts raised.
//! - [`metrics`]: what the engine counts.
//! - [`webhook`]: the admission webhook that refuses what cannot be evaluated.
//! - [`status`]: each rule object's status (compiled or why not, its rules, the mapping
//!   version), written by the SIEM's refresh loop.

pub mod engine;
pub mod metrics;
pub mod review;
pub mod status;
pub mod webhook;

use makonis_api::security::{ClusterDetectionRule, DetectionRule, DetectionRuleStatus};

/// What the SIEM reads of either detection rule kind.
pub trait RuleObject:
    kube::Resource<DynamicType = ()> + serde::Serialize + serde::de::DeserializeOwned + Clone + std::fmt::Debug
{
    /// The kind, for logs.
    const KIND: &'static str;
    /// `spec.sigma`.
    fn sigma(&self) -> &str;
    /// The status.
    fn rule_status(&self) -> Option<&DetectionRuleStatus>;
    /// How the engine files its matches: `Kind namespace/name` or `Kind name`.
    fn key(&self) -> String {
        match self.meta().namespace.as_deref() {
            Some(namespace) => {
                format!("{} {namespace}/{}", Self::KIND, self.meta().name.as_deref().unwrap_or_default())
            }
            None => format!("{} {}", Self::KIND, self.meta().name.as_deref().unwrap_or_default()),
        }
    }
}

impl RuleObject for DetectionRule {
    const KIND: &'static str = "DetectionRule";

    fn sigma(&self) -> &str {
        &self.spec.sigma
    }

    fn rule_status(&self) -> Option<&DetectionRuleStatus> {
        self.status.as_ref()
    }
}

impl RuleObject for ClusterDetectionRule {
    const KIND: &'static str = "ClusterDetectionRule";

    fn sigma(&self) -> &str {
        &self.spec.sigma
    }

    fn rule_status(&self) -> Option<&DetectionRuleStatus> {
        self.status.as_ref()
    }
}
