//! Log files cut into records, each with the 1-based line it starts on.
//!
//! A file may hold syslog lines (with or without `<PRI>`), JSON objects one per line or
//! spread over several lines, JSON arrays of objects, or a mix of them (`auto`). JSON
//! objects are Windows events, Samba AD audit records (read as the Windows Security
//! events they stand for), Kubernetes audit events or ECS records. What
//! cannot be read is returned with its line and the reason, never dropped silently.

use jiff::{Timestamp, tz::TimeZone};
use makonis_siem_core::syslog::{self, LegacyClock};
use serde_json::{Map, Value, value::RawValue};

use crate::fields::{Logsource, Record, ecs, kubernetes, samba, syslog as syslog_fields, windows};

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Each record by its look: JSON objects as Windows or Kubernetes audit events, other
    /// lines as syslog.
    #[default]
    Auto,
    /// Syslog lines, RFC 5424 or RFC 3164, with or without `<PRI>`.
    Syslog,
    /// Windows events as JSON.
    WindowsJson,
    /// Kubernetes audit events (`audit.k8s.io/v1`).
    KubernetesAudit,
}

/// How records are read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// What the file holds.
    pub format: Format,
    /// The year of RFC 3164 timestamps, which have none.
    pub year: Option<i16>,
    /// What RFC 3164's missing year is inferred from when `year` is not given, and the
    /// time of a file's first records if they carry none (a record without a time takes
    /// the time of the record before it, so that it stays where it is in the file's
    /// order of time).
    pub received: Timestamp,
    /// Logsource attributes every record carries besides its own (a LogSource's).
    pub logsource: Logsource,
}

/// One record of a file, or why the text at that line is not one.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    /// The 1-based line the record starts on.
    pub line: usize,
    /// The record, or why it could not be read.
    pub outcome: Result<Record, Unreadable>,
}

/// Why text is not a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    /// Not a syslog message.
    #[error("not a syslog message: {0}")]
    Syslog(#[from] syslog::ParseError),
    /// JSON that does not parse.
    #[error("not JSON: {0}")]
    Json(String),
    /// JSON, but not an event of a kind this reads.
    #[error("a JSON {0} is not a Windows event, a Samba audit record, a Kubernetes audit event or an ECS record")]
    Kind(&'static str),
    /// A line of text where the format asks for JSON.
    #[error("a line of text where the format asks for JSON")]
    Text,
}

/// Cuts a file's text into records.
pub fn read(text: &str, options: &ReadOptions) -> Vec<Read> {
    let lines = LineIndex::new(text);
    let mut clock = LegacyClock::new(options.received, TimeZone::UTC);
    if let Some(year) = options.year {
        clock = clock.with_year(year);
    }
    let mut reads = Vec::new();
    let mut previous: Option<Timestamp> = None;
    let mut pos = 0;
    while pos < text.len() {
        let rest = &text[pos..];
        let skipped = rest.len() - rest.trim_start().len();
        pos += skipped;
        if pos >= text.len() {
            break;
        }
        let wants_json = options.format != Format::Syslog;
        if wants_json && matches!(text.as_bytes()[pos], b'{' | b'[') {
            match json_value(&text[pos..]) {
                Ok((raw, length)) => {
                    let received = previous.unwrap_or(options.received);
                    let first = reads.len();
                    json_records(text, raw, options, received, &lines, &mut reads);
                    previous =
                        reads[first..].iter().rev().find_map(|r| r.outcome.as_ref().ok()).map(|r| r.time).or(previous);
                    pos += length;
                    continue;
                }
                Err(error) if options.format != Format::Auto => {
                    reads.push(Read { line: lines.line_of(pos), outcome: Err(Unreadable::Json(error)) });
                    pos = end_of_line(text, pos);
                    continue;
                }
                Err(_) => {}
            }
        }
        let end = end_of_line(text, pos);
        let line = text[pos..end].trim_end_matches(['\r', '\n']);
        let outcome = match options.format {
            Format::WindowsJson | Format::KubernetesAudit => Err(Unreadable::Text),
            Format::Auto | Format::Syslog => syslog_record(line, &clock, previous.unwrap_or(options.received)),
        };
        if let Ok(record) = &outcome {
            previous = Some(record.time);
        }
        reads.push(Read { line: lines.line_of(pos), outcome: outcome.map(|r| with_logsource(r, &options.logsource)) });
        pos = end;
    }
    reads
}

/// The record of an event the SIEM stored: its original bytes read as `auto` does, at the
/// time the store keeps it by (`time`, which already holds RFC 3164's year and the
/// LogSource's zone), received at `received`.
pub fn stored_record(original: &[u8], time: Timestamp, received: Timestamp) -> Result<Record, Unreadable> {
    let text = String::from_utf8_lossy(original);
    let text = text.trim();
    let mut record = if text.starts_with('{') {
        let value: Value = serde_json::from_str(text).map_err(|e| Unreadable::Json(e.to_string()))?;
        let Value::Object(object) = value else {
            return Err(Unreadable::Kind(kind_of(&value)));
        };
        json_kind(&object, time).ok_or(Unreadable::Kind("object"))?
    } else {
        syslog_record(text, &LegacyClock::new(received, TimeZone::UTC), received)?
    };
    record.time = time;
    if let Value::Object(fields) = &mut record.fields
        && fields.contains_key("timestamp")
    {
        fields.insert("timestamp".to_owned(), Value::String(crate::fields::rfc3339(time)));
    }
    Ok(record)
}

/// One syslog line as a record; a line without `<PRI>` is read as if it had `<13>`
/// (user.notice) and carries no facility and severity. A message whose text is a JSON
/// event (Samba's audit through rsyslog, Windows events through a syslog forwarder) is
/// that event, with the sender's `hostname`.
fn syslog_record(line: &str, clock: &LegacyClock, received: Timestamp) -> Result<Record, Unreadable> {
    let had_priority = line.starts_with('<');
    let message = if had_priority {
        syslog::parse(line.as_bytes(), clock)?
    } else {
        syslog::parse(format!("<13>{line}").as_bytes(), clock)?
    };
    let text = samba::without_prefix(message.msg.trim());
    if text.starts_with('{')
        && let Ok(Value::Object(object)) = serde_json::from_str::<Value>(text)
        && let Some(mut record) = json_kind(&object, message.timestamp.unwrap_or(received))
    {
        if let (Some(host), Value::Object(fields)) = (&message.hostname, &mut record.fields) {
            fields.entry("hostname").or_insert_with(|| Value::String(host.clone()));
        }
        return Ok(record);
    }
    Ok(syslog_fields::record(&message, had_priority, received))
}

/// The first JSON value of `text` and the bytes it takes.
fn json_value(text: &str) -> Result<(&RawValue, usize), String> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    match stream.next() {
        Some(Ok(raw)) => Ok((raw, stream.byte_offset())),
        Some(Err(error)) => Err(error.to_string()),
        None => Err("no JSON value".to_owned()),
    }
}

/// The records of one JSON value: an object, or an array of them.
fn json_records(
    text: &str,
    raw: &RawValue,
    options: &ReadOptions,
    received: Timestamp,
    lines: &LineIndex,
    reads: &mut Vec<Read>,
) {
    let offset = |part: &str| part.as_ptr() as usize - text.as_ptr() as usize;
    if raw.get().starts_with('[') {
        match serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
            Ok(items) => {
                for item in items {
                    let line = lines.line_of(offset(item.get()));
                    reads.push(Read { line, outcome: json_record(item.get(), options, received) });
                }
            }
            Err(error) => reads.push(Read {
                line: lines.line_of(offset(raw.get())),
                outcome: Err(Unreadable::Json(error.to_string())),
            }),
        }
        return;
    }
    reads.push(Read { line: lines.line_of(offset(raw.get())), outcome: json_record(raw.get(), options, received) });
}

/// One JSON object as a record of the kind it is (or the format says).
fn json_record(json: &str, options: &ReadOptions, received: Timestamp) -> Result<Record, Unreadable> {
    let value: Value = serde_json::from_str(json).map_err(|e| Unreadable::Json(e.to_string()))?;
    let Value::Object(object) = value else {
        return Err(Unreadable::Kind(kind_of(&value)));
    };
    let record = match options.format {
        Format::WindowsJson if samba::recognises(&object) => samba::record(&object, received),
        Format::WindowsJson => windows::record(&object, received),
        Format::KubernetesAudit => kubernetes::record(&object, received),
        Format::Auto | Format::Syslog => json_kind(&object, received).ok_or(Unreadable::Kind("object"))?,
    };
    Ok(with_logsource(record, &options.logsource))
}

/// A JSON object told apart by its look: a Kubernetes audit event, a Samba audit record,
/// a Windows event or an ECS record.
fn json_kind(object: &Map<String, Value>, received: Timestamp) -> Option<Record> {
    if kubernetes::recognises(object) {
        Some(kubernetes::record(object, received))
    } else if samba::recognises(object) {
        Some(samba::record(object, received))
    } else if windows::recognises(object) {
        Some(windows::record(object, received))
    } else if ecs::recognises(object) {
        Some(ecs::record(object, received))
    } else {
        None
    }
}

/// The record with the attributes every record of the file carries added.
fn with_logsource(mut record: Record, extra: &Logsource) -> Record {
    record.logsource.merge(extra);
    record
}

/// The name of a JSON value's kind, for messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Where the line that `pos` is on ends (after its newline).
fn end_of_line(text: &str, pos: usize) -> usize {
    text[pos..].find('\n').map_or(text.len(), |n| pos + n + 1)
}

/// Line numbers of byte offsets.
struct LineIndex {
    /// Offsets of every newline.
    newlines: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        Self { newlines: text.match_indices('\n').map(|(i, _)| i).collect() }
    }

    /// The 1-based line of an offset.
    fn line_of(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&n| n < offset) + 1
    }
}

#[cfg(test)]
mod tests;
