//! Syslog messages: RFC 5424 and RFC 3164, told apart by the version after the priority.
//!
//! [`parse`] takes one frame (from [`crate::framing`] or one UDP datagram) and never
//! panics; what it cannot read comes back as a [`ParseError`] for the quarantine. RFC 3164
//! timestamps have no year and no zone: [`LegacyClock`] supplies both, from the receive
//! time and the LogSource's zone.

mod legacy_time;
mod rfc3164;
mod rfc5424;

#[cfg(test)]
mod tests;

use jiff::{Timestamp, tz::TimeZone};

pub use legacy_time::LegacyClock;

/// Which RFC a message was written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The IETF syslog protocol.
    Rfc5424,
    /// The BSD syslog format (and the variants real senders write).
    Rfc3164,
}

/// One structured-data element of an RFC 5424 message: `[id name="value" …]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdElement {
    /// The SD-ID, e.g. `timeQuality` or `origin`.
    pub id: String,
    /// The parameters in the order sent, values unescaped.
    pub params: Vec<(String, String)>,
}

/// A parsed syslog message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Which RFC it follows.
    pub format: Format,
    /// Facility (0–23).
    pub facility: u8,
    /// Severity (0 emergency … 7 debug).
    pub severity: u8,
    /// When it happened, if the message says; RFC 3164 times are completed by the clock.
    pub timestamp: Option<Timestamp>,
    /// The sender's host name or address.
    pub hostname: Option<String>,
    /// The program (RFC 3164's tag).
    pub app_name: Option<String>,
    /// The process id, as sent (not always numeric).
    pub proc_id: Option<String>,
    /// RFC 5424's message id.
    pub msg_id: Option<String>,
    /// RFC 5424's structured data.
    pub structured_data: Vec<SdElement>,
    /// The free-form text, decoded as UTF-8 (a byte-order mark dropped, invalid bytes
    /// replaced: the original bytes are kept separately).
    pub msg: String,
}

/// Why a frame is not a syslog message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing was received.
    #[error("empty message")]
    Empty,
    /// The message does not start with `<PRI>`, 0–191.
    #[error("no valid priority: a syslog message starts with <0> to <191>")]
    Priority,
    /// An RFC 5424 header field is missing or not what the RFC allows.
    #[error("RFC 5424 header: {field} {problem}")]
    Header {
        /// The field: `timestamp`, `hostname`, `app-name`, `procid`, `msgid`.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// RFC 5424 structured data that does not follow the grammar.
    #[error("RFC 5424 structured data: {0}")]
    StructuredData(&'static str),
    /// An RFC 5424 version other than 1.
    #[error("syslog protocol version {0} is not supported (only 1, RFC 5424)")]
    Version(u32),
}

impl ParseError {
    /// A bounded name for metric labels and the quarantine.
    pub fn category(&self) -> &'static str {
        match self {
            ParseError::Empty => "empty",
            ParseError::Priority => "priority",
            ParseError::Header { .. } => "header",
            ParseError::StructuredData(_) => "structured_data",
            ParseError::Version(_) => "version",
        }
    }
}

/// Parses one frame as RFC 5424 or RFC 3164.
pub fn parse(frame: &[u8], clock: &LegacyClock) -> Result<Message, ParseError> {
    if frame.is_empty() {
        return Err(ParseError::Empty);
    }
    let (pri, rest) = priority(frame)?;
    let (facility, severity) = (pri / 8, pri % 8);
    match version(rest) {
        Some((1, after)) => rfc5424::parse(facility, severity, after),
        Some((v, _)) => Err(ParseError::Version(v)),
        None => Ok(rfc3164::parse(facility, severity, rest, clock)),
    }
}

/// `<PRI>`: one to three digits, no leading zero except `<0>`, at most 191.
fn priority(frame: &[u8]) -> Result<(u8, &[u8]), ParseError> {
    let inner = frame.strip_prefix(b"<").ok_or(ParseError::Priority)?;
    let digits = inner.iter().take(4).take_while(|b| b.is_ascii_digit()).count();
    if !(1..=3).contains(&digits) || inner.get(digits) != Some(&b'>') || (digits > 1 && inner[0] == b'0') {
        return Err(ParseError::Priority);
    }
    let value = inner[..digits].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    let value = u8::try_from(value).ok().filter(|v| *v <= 191).ok_or(ParseError::Priority)?;
    Ok((value, &inner[digits + 1..]))
}

/// An RFC 5424 version (`1 `) right after the priority, as the number and what follows
/// its space; RFC 3164 has none (its timestamp starts with a letter or a 4-digit year).
fn version(rest: &[u8]) -> Option<(u32, &[u8])> {
    let digits = rest.iter().take(3).take_while(|b| b.is_ascii_digit()).count();
    if !(1..=2).contains(&digits) || rest.get(digits) != Some(&b' ') || rest[0] == b'0' {
        return None;
    }
    let v = rest[..digits].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    Some((v, &rest[digits + 1..]))
}

/// The text of a message: a UTF-8 byte-order mark dropped, invalid bytes replaced.
fn text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

/// The zone RFC 3164 times are read in when a LogSource names none.
pub fn default_zone() -> TimeZone {
    TimeZone::get("Europe/Riga").unwrap_or(TimeZone::UTC)
}
