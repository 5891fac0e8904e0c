//! The `MailDomain` kind: an agency's domain the platform receives mail for.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::tenancy::DOMAIN_PATTERN;

/// One of the agency's DNS domains (e.g. `vsaa.gov.lv`) whose mail the platform receives.
///
/// The domain must be listed in the Agency's `spec.domains` (platform administrators set
/// those after checking that the agency holds the domain), and no other agency may have
/// declared it first. The operator generates the domain's DKIM key (a Secret in the mail
/// system's namespace, which agencies cannot read) and shows the DNS records the agency's DNS administrator publishes: MX,
/// SPF, DKIM and DMARC.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "mail.makonis.lv",
    version = "v1alpha1",
    kind = "MailDomain",
    plural = "maildomains",
    singular = "maildomain",
    shortname = "md",
    category = "makonis",
    namespaced,
    status = "MailDomainStatus",
    printcolumn(name = "Domain", type_ = "string", json_path = ".spec.domain"),
    printcolumn(name = "Mailboxes", type_ = "integer", json_path = ".status.mailboxes"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct MailDomainSpec {
    /// The domain, lower case, e.g. `vsaa.gov.lv`. Immutable.
    #[schemars(length(min = 3, max = 240), regex(pattern = DOMAIN_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("domain is immutable"))]
    pub domain: String,

    /// What receivers do with mail that fails SPF and DKIM (`none`, `quarantine`,
    /// `reject`); `quarantine` by default.
    #[serde(default)]
    pub dmarc: DmarcPolicy,

    /// Whether mailboxes of this domain may forward to addresses outside the agency's
    /// own domains; `Deny` by default (forwarding out is how data leaves unnoticed).
    #[serde(default)]
    pub external_forwarding: ExternalForwarding,
}

/// The DMARC policy published for the domain.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum DmarcPolicy {
    /// Report only.
    None,
    /// Deliver failing mail to spam.
    #[default]
    Quarantine,
    /// Refuse failing mail.
    Reject,
}

/// Whether forwarding out of the agency's domains is allowed.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExternalForwarding {
    /// Only to addresses in the agency's own mail domains.
    #[default]
    Deny,
    /// To any address.
    Allow,
}

/// The domain's state and the records to publish.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct MailDomainStatus {
    /// `Ready`: the platform receives mail for the domain.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The generation the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The DKIM selector (`<selector>._domainkey.<domain>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dkim_selector: Option<String>,
    /// The DNS records the agency's DNS administrator publishes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_records: Vec<DnsRecord>,
    /// How many mailboxes the domain serves.
    #[serde(default)]
    pub mailboxes: u32,
}

/// One DNS record to publish.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DnsRecord {
    /// `MX` or `TXT`.
    #[serde(rename = "type")]
    pub record_type: String,
    /// The fully qualified owner name, e.g. `makonis._domainkey.vsaa.gov.lv`.
    pub name: String,
    /// The record's value, as a zone file writes it (TXT values without quotes).
    pub value: String,
    /// What the record is for.
    pub purpose: String,
}
