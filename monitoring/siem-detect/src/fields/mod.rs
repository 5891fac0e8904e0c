//! The fields Sigma rules match against: one flat or nested JSON object per event, named
//! as `docs/siem-fields.md` documents (the field contract), and the logsource attributes
//! the event carries.
//!
//! - [`syslog`]: RFC 5424 and RFC 3164 lines, with what sshd, PAM and sudo write in their
//!   text taken out as fields of their own.
//! - [`windows`]: Windows events as JSON, in the shapes collectors write (flat, Winlogbeat's,
//!   and the `Event.System`/`Event.EventData` of an EVTX export), as Sigma's flat names.
//! - [`kubernetes`]: Kubernetes audit events, kept as they are (dotted paths).
//! - [`ecs`]: records already in Elastic Common Schema (the portal's audit trail).
//! - [`samba`]: Samba AD's JSON audit as the Windows Security events it stands for.

pub mod ecs;
pub mod kubernetes;
pub mod samba;
pub mod syslog;
pub mod windows;

use jiff::Timestamp;
use serde_json::{Map, Value};

/// An event as rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The event's own time (UTC): windows and alerts run on it.
    pub time: Timestamp,
    /// The fields, a JSON object.
    pub fields: Value,
    /// The logsource attributes the event carries.
    pub logsource: Logsource,
}

/// The logsource attributes an event carries: a rule applies only to events that carry
/// every attribute its own `logsource` names. Values are kept lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Logsource {
    /// `product` (`linux`, `windows`, `kubernetes`).
    pub product: Vec<String>,
    /// `service` (`sshd`, `security`, `audit`, …).
    pub service: Vec<String>,
    /// `category` (`process_creation`, …), from the logsource mapping.
    pub category: Vec<String>,
}

impl Logsource {
    /// Adds a value of an attribute (lower-cased), once.
    pub fn insert(&mut self, key: LogsourceKey, value: &str) {
        let values = self.values_mut(key);
        let value = value.to_lowercase();
        if !values.contains(&value) {
            values.push(value);
        }
    }

    /// Adds every value of another set of attributes.
    pub fn merge(&mut self, other: &Logsource) {
        for key in [LogsourceKey::Product, LogsourceKey::Service, LogsourceKey::Category] {
            for value in other.values(key) {
                self.insert(key, value);
            }
        }
    }

    /// Whether the event carries this value of the attribute (case-insensitive).
    pub fn carries(&self, key: LogsourceKey, value: &str) -> bool {
        self.values(key).iter().any(|v| v.eq_ignore_ascii_case(value))
    }

    /// The values of an attribute.
    pub fn values(&self, key: LogsourceKey) -> &[String] {
        match key {
            LogsourceKey::Product => &self.product,
            LogsourceKey::Service => &self.service,
            LogsourceKey::Category => &self.category,
        }
    }

    fn values_mut(&mut self, key: LogsourceKey) -> &mut Vec<String> {
        match key {
            LogsourceKey::Product => &mut self.product,
            LogsourceKey::Service => &mut self.service,
            LogsourceKey::Category => &mut self.category,
        }
    }
}

/// One of the logsource attributes rules name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogsourceKey {
    /// `product`.
    Product,
    /// `service`.
    Service,
    /// `category`.
    Category,
}

impl LogsourceKey {
    /// The attribute a name stands for.
    pub fn parse(name: &str) -> Result<Self, UnknownAttribute> {
        match name {
            "product" => Ok(LogsourceKey::Product),
            "service" => Ok(LogsourceKey::Service),
            "category" => Ok(LogsourceKey::Category),
            _ => Err(UnknownAttribute(name.to_owned())),
        }
    }
}

/// A logsource attribute other than `product`, `service` and `category`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown logsource attribute {0:?}: give product, service or category")]
pub struct UnknownAttribute(pub String);

/// The RFC 3339 form (UTC) times take among the fields and in alerts.
pub fn rfc3339(at: Timestamp) -> String {
    at.to_string()
}

/// Inserts a text field unless the text is empty.
fn put(fields: &mut Map<String, Value>, name: &str, value: &str) {
    if !value.is_empty() {
        fields.insert(name.to_owned(), Value::String(value.to_owned()));
    }
}
