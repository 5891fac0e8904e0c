//! RFC 3164 after `<PRI>`: `TIMESTAMP HOSTNAME TAG[PID]: MSG`, and what senders write
//! instead.
//!
//! Read as relays read it (RFC 3164 §4.3): whatever follows the priority is a message.
//! The timestamp may be the classic `Mmm dd hh:mm:ss` (day space-padded or not, with or
//! without fractional seconds), `Mmm dd yyyy hh:mm:ss` (network devices), or RFC 3339
//! (rsyslog's `RSYSLOG_ForwardFormat`); without one, the event has no time of its own.
//! The host name is absent in messages from the local socket (`<13>Dec  6 10:00:00
//! sshd[1]: …`): a word that ends in `:` or holds `[` is the tag, not a host.

use jiff::{Timestamp, civil::Time};

use super::{Format, LegacyClock, Message, text};

const MONTHS: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// The longest tag taken (RFC 3164 says 32; programs' names are longer in practice).
const MAX_TAG: usize = 64;

/// Parses what follows the priority; every input is a message.
pub(super) fn parse(facility: u8, severity: u8, rest: &[u8], clock: &LegacyClock) -> Message {
    let (timestamp, rest) = match timestamp(rest, clock) {
        Some((t, after)) => (Some(t), after),
        None => (None, rest),
    };
    let (hostname, rest) = if timestamp.is_some() { hostname(rest) } else { (None, rest) };
    let (app_name, proc_id, rest) = tag(rest);
    Message {
        format: Format::Rfc3164,
        facility,
        severity,
        timestamp,
        hostname,
        app_name,
        proc_id,
        msg_id: None,
        structured_data: Vec::new(),
        msg: text(rest),
    }
}

/// A timestamp and the rest after its space.
fn timestamp<'a>(rest: &'a [u8], clock: &LegacyClock) -> Option<(Timestamp, &'a [u8])> {
    if rest.first().is_some_and(u8::is_ascii_digit) {
        let end = rest.iter().position(|&b| b == b' ')?;
        let t = std::str::from_utf8(&rest[..end]).ok()?.parse::<Timestamp>().ok()?;
        return Some((t, &rest[end + 1..]));
    }
    let month = MONTHS.iter().position(|m| rest.starts_with(*m))?;
    let rest = rest.get(3..)?.strip_prefix(b" ")?;
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    let (day, rest) = number(rest, 1, 2)?;
    let rest = rest.strip_prefix(b" ")?;
    let (year, rest) = match number(rest, 4, 4) {
        Some((year, after)) if after.first() == Some(&b' ') => (Some(year), &after[1..]),
        _ => (None, rest),
    };
    let (time, rest) = clock_time(rest)?;
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    let year = year.map(|y| i16::try_from(y).ok()).unwrap_or(None);
    let at = clock.complete(year, month as i8 + 1, i8::try_from(day).ok()?, time)?;
    Some((at, rest))
}

/// `hh:mm:ss` with an optional fraction of up to nine digits.
fn clock_time(rest: &[u8]) -> Option<(Time, &[u8])> {
    let (hour, rest) = number(rest, 2, 2)?;
    let (minute, rest) = number(rest.strip_prefix(b":")?, 2, 2)?;
    let (second, mut rest) = number(rest.strip_prefix(b":")?, 2, 2)?;
    let mut nanos = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take(10).take_while(|b| b.is_ascii_digit()).count();
        if !(1..=9).contains(&digits) {
            return None;
        }
        let value = fraction[..digits].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        nanos = value * 10u32.pow(9 - digits as u32);
        rest = &fraction[digits..];
    }
    if rest.first().is_some_and(|b| *b != b' ') {
        return None;
    }
    let time = Time::new(hour as i8, minute as i8, second.min(59) as i8, nanos as i32).ok()?;
    Some((time, rest))
}

/// `min..=max` ASCII digits.
fn number(rest: &[u8], min: usize, max: usize) -> Option<(u32, &[u8])> {
    let digits = rest.iter().take(max).take_while(|b| b.is_ascii_digit()).count();
    if digits < min {
        return None;
    }
    let value = rest[..digits].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    Some((value, &rest[digits..]))
}

/// The host name, unless the next word is already the tag.
fn hostname(rest: &[u8]) -> (Option<String>, &[u8]) {
    let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
    let word = &rest[..end];
    if word.is_empty() || word.ends_with(b":") || word.contains(&b'[') || end == rest.len() {
        return (None, rest);
    }
    (Some(String::from_utf8_lossy(word).into_owned()), &rest[end + 1..])
}

/// `TAG[PID]: ` or `TAG: `: the program, its process id and the content; without a
/// well-formed tag, the whole rest is content.
fn tag(rest: &[u8]) -> (Option<String>, Option<String>, &[u8]) {
    let len = rest
        .iter()
        .take(MAX_TAG + 1)
        .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b'@' | b'(' | b')'))
        .count();
    if len == 0 || len > MAX_TAG {
        return (None, None, rest);
    }
    let name = String::from_utf8_lossy(&rest[..len]).into_owned();
    let after = &rest[len..];
    let (pid, after) = match after.strip_prefix(b"[") {
        Some(inner) => match inner.iter().take(32).position(|&b| b == b']') {
            Some(close) => (Some(String::from_utf8_lossy(&inner[..close]).into_owned()), &inner[close + 1..]),
            None => return (None, None, rest),
        },
        None => (None, after),
    };
    match after.strip_prefix(b":") {
        Some(content) => (Some(name), pid, content.strip_prefix(b" ").unwrap_or(content)),
        None => (None, None, rest),
    }
}
