//! The `LogSource` kind: who sends security logs, in which format and category.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::LogCategory;

/// A sender of security logs the SIEM accepts for this namespace's agency (or, in the
/// platform namespace, for the platform).
///
/// Events are claimed by where they come from, never by what they say: a syslog
/// sender's address, a TLS client certificate's name, or one of the platform's own
/// senders. Events no LogSource claims are kept in quarantine as `unknown source`. An
/// address claimed by two LogSources is claimed by neither (both report the conflict),
/// so that one agency cannot take another's logs by claiming its senders.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "security.makonis.lv",
    version = "v1alpha1",
    kind = "LogSource",
    plural = "logsources",
    singular = "logsource",
    shortname = "lsrc",
    category = "makonis",
    namespaced,
    status = "LogSourceStatus",
    printcolumn(name = "Category", type_ = "string", json_path = ".spec.category"),
    printcolumn(name = "Format", type_ = "string", json_path = ".spec.format"),
    printcolumn(name = "State", type_ = "string", json_path = ".status.state"),
    printcolumn(name = "Last event", type_ = "date", json_path = ".status.lastEventTime"),
    printcolumn(name = "Events", type_ = "integer", json_path = ".status.eventsReceived", priority = 1),
    printcolumn(name = "Complete %", type_ = "number", json_path = ".status.mandatoryFieldsPercent", priority = 1),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct LogSourceSpec {
    /// Who sends: at least one sender.
    #[schemars(length(min = 1, max = 64))]
    pub senders: Vec<Sender>,
    /// How its records are written.
    pub format: LogFormat,
    /// What kind of events it sends; decides how long they are kept.
    pub category: LogCategory,
    /// The IANA time zone of its RFC 3164 timestamps, which carry none.
    #[serde(default = "default_time_zone")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$"))]
    pub time_zone: String,
    /// How long a silence may last before the source counts as down, e.g. `15m`.
    #[serde(default = "default_silence")]
    #[schemars(regex(pattern = r"^[0-9]{1,4}(m|h)$"))]
    #[x_kube(validation = Rule::new("duration(self) >= duration('1m') && duration(self) <= duration('168h')")
        .message("silenceAfter must be between 1m and 168h"))]
    pub silence_after: String,
}

impl LogSource {
    /// Its identity, `namespace/name`: how the SIEM files its events (`makonis.source`)
    /// and how the portal names it to the SIEM.
    pub fn id(&self) -> String {
        use kube::ResourceExt as _;
        format!("{}/{}", self.namespace().unwrap_or_default(), self.name_any())
    }
}

fn default_time_zone() -> String {
    "Europe/Riga".into()
}

fn default_silence() -> String {
    "15m".into()
}

/// One sender: exactly one of an address range, a certificate name or a platform sender.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("[has(self.address), has(self.certificateName), has(self.platform)].filter(x, x).size() == 1")
    .message("set exactly one of address, certificateName and platform"))]
pub struct Sender {
    /// A syslog sender's IP address or network (UDP, TCP, RELP), at most a /24 (IPv4)
    /// or a /120 (IPv6): a source claims its hosts, never the world.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 43))]
    #[x_kube(validation = Rule::new("isCIDR(self) ? (cidr(self).ip().family() == 4 ? cidr(self).prefixLength() >= 24 : cidr(self).prefixLength() >= 120) : isIP(self)")
        .message("address must be an IP address or a network of at most /24 (IPv4) or /120 (IPv6)"))]
    pub address: Option<String>,
    /// The DNS name in a TLS client certificate issued by the platform CA (syslog over
    /// TLS on port 6514, the HTTPS JSON intake). Honoured only when the certificate's
    /// subject organisation (`O=`) is this LogSource's namespace: the platform team
    /// issues each certificate for the namespace whose sources may claim it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
    )]
    pub certificate_name: Option<String>,
    /// One of the platform's own senders (`kubernetes-api-server`, `portal`); honoured
    /// only in the platform namespace. Each posts to the HTTPS intake with a platform-CA
    /// client certificate named `kube-apiserver` or `portal`, issued for the platform
    /// namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformSender>,
}

/// The platform's own senders.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum PlatformSender {
    /// The Kubernetes API server's audit webhook.
    KubernetesApiServer,
    /// The portal's audit trail.
    Portal,
}

/// How a source writes its records.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// Syslog, RFC 5424 or RFC 3164 (told apart per message); JSON carried in it (Samba's
    /// audit, NXLog) is read as JSON.
    Syslog,
    /// JSON records: one per line, or batches over HTTPS (Windows events, ECS).
    Json,
    /// Kubernetes audit events (`audit.k8s.io/v1`).
    KubernetesAudit,
}

/// What the SIEM last saw of a source.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct LogSourceStatus {
    /// `Receiving`, `Silent` (nothing for longer than `silenceAfter`) or `Waiting` (nothing yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<LogSourceState>,
    /// Event time of the newest event received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_time: Option<String>,
    /// When anything (an event or a quarantined record) was last received: what
    /// `Receiving` and `Silent` are judged by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_received_time: Option<String>,
    /// Events stored.
    #[serde(default)]
    pub events_received: i64,
    /// Bytes received.
    #[serde(default)]
    pub bytes_received: i64,
    /// Events per minute over the last five minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_minute: Option<f64>,
    /// Frames and records that could not be read, kept in quarantine with the reason.
    #[serde(default)]
    pub quarantined: i64,
    /// Records received again (a RELP or HTTPS resend) and stored once.
    #[serde(default)]
    pub duplicates: i64,
    /// Share of its events that carry all five fields Regulation No. 442 requires (time,
    /// source IP, initiator, description, connection), in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandatory_fields_percent: Option<f64>,
    /// `Ready` (the SIEM accepts it; False with the reason, e.g. a sender another source
    /// claims too) and `Receiving`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// Whether a source is sending.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogSourceState {
    /// Events arrived within `silenceAfter`.
    Receiving,
    /// Nothing for longer than `silenceAfter`: down, or its forwarding is broken.
    Silent,
    /// Nothing received yet.
    Waiting,
}
