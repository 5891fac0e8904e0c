//! Records of every kind into [`Event`]s.
//!
//! [`from_syslog`] takes a parsed syslog message and asks the program's extractor for the
//! security fields (sshd's sign-ins; Samba's JSON audit lines, bare JSON objects or, from
//! older releases, after `JSON <type>: `). [`from_json`] takes one JSON record and
//! recognises its shape: Samba AD's audit, a Windows Security event as NXLog or Winlogbeat
//! send it, a Kubernetes audit event, or an event already in ECS (the portal's trail);
//! [`batch_records`] cuts an HTTPS request's body into records. Every extractor is total:
//! a record it does not recognise keeps its text, never fails.

mod ecs;
mod kubernetes;
mod samba;
mod sshd;
mod windows;

#[cfg(test)]
mod tests;

use std::net::IpAddr;

use jiff::Timestamp;
use serde_json::{Map, Value, value::RawValue};

use crate::{
    event::{Event, Outcome},
    syslog::Message,
};

/// Where and when a record was received, and which LogSource claimed it.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The LogSource (`namespace/name`), or `unknown`.
    pub source: String,
    /// The agency of the LogSource's namespace; none for the platform's own.
    pub agency: Option<String>,
    /// When the record was received.
    pub received: Timestamp,
}

/// Why a JSON record could not become an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    Syntax(String),
    /// JSON, but not an object.
    #[error("a record must be a JSON object, not {0}")]
    NotAnObject(&'static str),
}

impl JsonError {
    /// A bounded name for metric labels and the quarantine.
    pub fn category(&self) -> &'static str {
        match self {
            JsonError::Syntax(_) => "json_syntax",
            JsonError::NotAnObject(_) => "json_not_object",
        }
    }
}

/// An event from a syslog message; `original` is the frame as received. A message whose
/// text is a JSON object (Samba's audit, NXLog's and Winlogbeat's JSON over syslog) is
/// read as a JSON record, the syslog header filling what the record leaves out.
pub fn from_syslog(message: &Message, origin: &Origin, original: &[u8]) -> Event {
    let mut event = base(origin, original, message.timestamp);
    event.severity = Some(message.severity);
    event.message = message.msg.clone();
    let text = samba::without_prefix(message.msg.trim_start());
    if text.starts_with('{')
        && let Ok(Value::Object(record)) = serde_json::from_str::<Value>(text)
    {
        apply_json(&record, &mut event);
    } else if message.app_name.as_deref() == Some("sshd") {
        sshd::apply(&message.msg, &mut event);
    }
    if event.host_name.is_none() {
        event.host_name = message.hostname.clone();
    }
    if event.process_name.is_none() {
        event.process_name = message.app_name.clone();
        event.process_pid = message.proc_id.as_deref().and_then(|p| p.parse().ok());
    }
    event
}

/// An event from one JSON record (a line of a JSON-lines stream, or an item of a batch).
pub fn from_json(text: &[u8], origin: &Origin) -> Result<Event, JsonError> {
    let value: Value = serde_json::from_slice(text).map_err(|e| JsonError::Syntax(e.to_string()))?;
    let Value::Object(record) = value else {
        return Err(JsonError::NotAnObject(kind(&value)));
    };
    let mut event = base(origin, text, None);
    apply_json(&record, &mut event);
    Ok(event)
}

/// Fills an event from a JSON record of whichever shape it has.
fn apply_json(record: &Map<String, Value>, event: &mut Event) {
    if samba::recognises(record) {
        samba::apply(record, event);
    } else if kubernetes::recognises(record) {
        kubernetes::apply(record, event);
    } else if windows::recognises(record) {
        windows::apply(record, event);
    } else {
        ecs::apply(record, event);
    }
}

/// The records of a body the HTTPS intake receives, each as its exact bytes (kept as
/// `event.original`): a JSON array of records, a Kubernetes `EventList` (what the API
/// server's audit webhook posts), one record, or JSON lines (one record per line, as
/// log shippers send them). Records are not checked here: each becomes an event or is
/// quarantined on its own. Fails only when the body is none of these.
pub fn batch_records(body: &[u8]) -> Result<Vec<&[u8]>, JsonError> {
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        kind: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow)]
        items: Option<Vec<&'a RawValue>>,
    }
    fn raw<'a>(value: &&'a RawValue) -> &'a [u8] {
        value.get().as_bytes()
    }
    match serde_json::from_slice::<&RawValue>(body) {
        Ok(value) => {
            let text = value.get();
            if text.starts_with('[') {
                let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| JsonError::Syntax(e.to_string()))?;
                return Ok(items.iter().map(raw).collect());
            }
            if text.starts_with('{')
                && let Ok(Envelope { kind: Some(kind), items: Some(items) }) = serde_json::from_str(text)
                && kind == "EventList"
            {
                return Ok(items.iter().map(raw).collect());
            }
            Ok(vec![text.as_bytes()])
        }
        Err(_) if body.trim_ascii_start().starts_with(b"{") && body.trim_ascii().contains(&b'\n') => {
            Ok(body.split(|b| *b == b'\n').map(<[u8]>::trim_ascii).filter(|line| !line.is_empty()).collect())
        }
        Err(error) => Err(JsonError::Syntax(error.to_string())),
    }
}

fn base(origin: &Origin, original: &[u8], time: Option<Timestamp>) -> Event {
    Event {
        timestamp: time.unwrap_or(origin.received),
        created: origin.received,
        time_from_record: time.is_some(),
        original: original.to_vec(),
        agency: origin.agency.clone(),
        source: origin.source.clone(),
        outcome: Outcome::Unknown,
        ..Event::default()
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string field, trimmed; empty and `-` are none.
fn text_field(value: Option<&Value>) -> Option<String> {
    let s = match value? {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty() && s != "-").then_some(s)
}

/// An address as sources write it: `10.1.2.3`, `::ffff:10.1.2.3`, `[::1]`; `-` or
/// garbage is none.
fn ip_field(value: Option<&Value>) -> Option<IpAddr> {
    let text = text_field(value)?;
    let ip: IpAddr = text.trim_start_matches('[').trim_end_matches(']').parse().ok()?;
    Some(ip.to_canonical())
}

/// A port, as a number or a string.
fn port_field(value: Option<&Value>) -> Option<u16> {
    match value? {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A time in RFC 3339, or with a `+hhmm` offset as Samba and NXLog write it.
fn time_field(value: Option<&Value>) -> Option<Timestamp> {
    let text = text_field(value)?;
    if let Ok(t) = text.parse::<Timestamp>() {
        return Some(t);
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = jiff::fmt::strtime::parse(format, &text).and_then(|p| p.to_timestamp()) {
            return Some(t);
        }
    }
    None
}
