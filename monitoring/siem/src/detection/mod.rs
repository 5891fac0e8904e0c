//! Detection rules in the SIEM: what it makes of `DetectionRule`s and
//! `ClusterDetectionRule`s.
//!
//! - [`review`]: a rule's `spec.sigma` compiled as the SIEM will evaluate it (pure): the
//!   rules it holds, or each construct it cannot take with its line.
//! - [`alert`]: an alert as raised, and where its events are.
//! - [`alertmanager`]: alerts sent to Alertmanager's v2 API.
//! - [`engine`]: the rule objects in force, and one stored event evaluated by them.
//! - [`stream`]: every stored event through the engine as it is stored, and after a
//!   start what was stored while detection was down; alerts recorded with the progress.
//! - [`metrics`]: what the engine counts.
//! - [`webhook`]: the admission webhook that refuses what cannot be evaluated.
//! - [`status`]: each rule object's status (compiled or why not, its rules, the mapping
//!   version), written by the SIEM's refresh loop.

pub mod alert;
pub mod alertmanager;
pub mod engine;
pub mod metrics;
pub mod review;
pub mod status;
pub mod stream;
pub mod webhook;

use kube::ResourceExt as _;
use makonis_api::{
    security::{ClusterDetectionRule, DetectionRule, DetectionRuleStatus, RuleSpec},
    tenancy::code_of_namespace,
};

use self::engine::{RuleObjectSource, Scope};

/// What the SIEM reads of either detection rule kind.
pub trait RuleObject:
    kube::Resource<DynamicType = ()> + serde::Serialize + serde::de::DeserializeOwned + Clone + std::fmt::Debug
{
    /// The kind, for logs.
    const KIND: &'static str;
    /// The rule: `spec.sigma`, `spec.enabled`, `spec.severity`.
    fn rule(&self) -> &RuleSpec;
    /// Whose events it sees.
    fn scope(&self) -> Scope;
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
    /// The object as the engine takes it.
    fn source(&self) -> RuleObjectSource {
        let rule = self.rule();
        RuleObjectSource {
            key: self.key(),
            version: (self.uid().unwrap_or_default(), self.meta().generation.unwrap_or_default()),
            scope: self.scope(),
            enabled: rule.enabled,
            severity: rule.severity,
            sigma: rule.sigma.clone(),
        }
    }
}

impl RuleObject for DetectionRule {
    const KIND: &'static str = "DetectionRule";

    fn rule(&self) -> &RuleSpec {
        &self.spec.rule
    }

    /// Its agency's events; a rule outside an agency namespace sees nothing.
    fn scope(&self) -> Scope {
        self.namespace()
            .as_deref()
            .and_then(code_of_namespace)
            .map_or(Scope::Nothing, |code| Scope::Agency(code.to_owned()))
    }

    fn rule_status(&self) -> Option<&DetectionRuleStatus> {
        self.status.as_ref()
    }
}

impl RuleObject for ClusterDetectionRule {
    const KIND: &'static str = "ClusterDetectionRule";

    fn rule(&self) -> &RuleSpec {
        &self.spec.rule
    }

    fn scope(&self) -> Scope {
        Scope::Agencies(self.spec.agencies.clone())
    }

    fn rule_status(&self) -> Option<&DetectionRuleStatus> {
        self.status.as_ref()
    }
}
