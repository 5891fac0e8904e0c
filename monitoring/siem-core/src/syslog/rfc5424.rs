//! RFC 5424 after `<PRI>1 `: `TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]`.

use jiff::Timestamp;

use super::{Format, Message, ParseError, SdElement, text};

/// Parses what follows the version.
pub(super) fn parse(facility: u8, severity: u8, rest: &[u8]) -> Result<Message, ParseError> {
    let mut cursor = Cursor { rest };
    let timestamp = cursor.field("timestamp", 64)?;
    let timestamp =
        match timestamp {
            None => None,
            Some(t) => Some(t.parse::<Timestamp>().map_err(|_| ParseError::Header {
                field: "timestamp",
                problem: "is not an RFC 3339 time with a zone",
            })?),
        };
    let hostname = cursor.field("hostname", 255)?;
    let app_name = cursor.field("app-name", 48)?;
    let proc_id = cursor.field("procid", 128)?;
    let msg_id = cursor.field("msgid", 32)?;
    let (structured_data, rest) = structured_data(cursor.rest)?;
    let msg = match rest {
        [] => String::new(),
        [b' ', msg @ ..] => text(msg),
        _ => return Err(ParseError::StructuredData("is not followed by a space")),
    };
    Ok(Message {
        format: Format::Rfc5424,
        facility,
        severity,
        timestamp,
        hostname: hostname.map(str::to_owned),
        app_name: app_name.map(str::to_owned),
        proc_id: proc_id.map(str::to_owned),
        msg_id: msg_id.map(str::to_owned),
        structured_data,
        msg,
    })
}

struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// One header field and its space; `-` is none. Printable US-ASCII only.
    fn field(&mut self, field: &'static str, max: usize) -> Result<Option<&'a str>, ParseError> {
        let end =
            self.rest.iter().position(|&b| b == b' ').ok_or(ParseError::Header { field, problem: "is missing" })?;
        let value = &self.rest[..end];
        self.rest = &self.rest[end + 1..];
        if value.is_empty() {
            return Err(ParseError::Header { field, problem: "is empty (two spaces)" });
        }
        if value.len() > max {
            return Err(ParseError::Header { field, problem: "is longer than RFC 5424 allows" });
        }
        if !value.iter().all(|b| (33..=126).contains(b)) {
            return Err(ParseError::Header { field, problem: "holds a character other than printable ASCII" });
        }
        let value = std::str::from_utf8(value).expect("printable ASCII is UTF-8");
        Ok((value != "-").then_some(value))
    }
}

/// `-`, or one or more `[SD-ID *(SP NAME="VALUE")]`; returns the elements and the rest.
fn structured_data(rest: &[u8]) -> Result<(Vec<SdElement>, &[u8]), ParseError> {
    if let Some(after) = rest.strip_prefix(b"-") {
        return Ok((Vec::new(), after));
    }
    if rest.first() != Some(&b'[') {
        return Err(ParseError::StructuredData("is neither '-' nor an element in brackets"));
    }
    let mut elements = Vec::new();
    let mut rest = rest;
    while let Some(inner) = rest.strip_prefix(b"[") {
        let (id, mut after) = sd_name(inner).ok_or(ParseError::StructuredData("an element has no valid SD-ID"))?;
        let mut params = Vec::new();
        loop {
            match after {
                [b']', tail @ ..] => {
                    rest = tail;
                    break;
                }
                [b' ', tail @ ..] => {
                    let (name, tail) =
                        sd_name(tail).ok_or(ParseError::StructuredData("a parameter has no valid name"))?;
                    let tail = tail
                        .strip_prefix(b"=\"")
                        .ok_or(ParseError::StructuredData("a parameter name is not followed by =\""))?;
                    let (value, tail) = sd_value(tail)?;
                    params.push((name, value));
                    after = tail;
                }
                _ => return Err(ParseError::StructuredData("an element is not closed by ']'")),
            }
        }
        elements.push(SdElement { id, params });
    }
    Ok((elements, rest))
}

/// An SD-NAME: 1–32 printable ASCII characters except `=`, space, `]` and `"`.
fn sd_name(bytes: &[u8]) -> Option<(String, &[u8])> {
    let len = bytes.iter().take_while(|&&b| (33..=126).contains(&b) && !matches!(b, b'=' | b']' | b'"')).count();
    if !(1..=32).contains(&len) {
        return None;
    }
    Some((String::from_utf8_lossy(&bytes[..len]).into_owned(), &bytes[len..]))
}

/// A PARAM-VALUE up to its closing quote, with `\"`, `\\` and `\]` unescaped (any other
/// backslash is kept, as RFC 5424 says).
fn sd_value(bytes: &[u8]) -> Result<(String, &[u8]), ParseError> {
    let mut value = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Ok((String::from_utf8_lossy(&value).into_owned(), &bytes[i + 1..])),
            b'\\' if matches!(bytes.get(i + 1), Some(b'"' | b'\\' | b']')) => {
                value.push(bytes[i + 1]);
                i += 2;
            }
            b => {
                value.push(b);
                i += 1;
            }
        }
    }
    Err(ParseError::StructuredData("a parameter value is not closed by '\"'"))
}
