use jiff::{Timestamp, tz::TimeZone};
use proptest::prelude::*;

use super::*;

fn clock(received: &str) -> LegacyClock {
    LegacyClock::new(received.parse().unwrap(), default_zone())
}

fn ts(s: &str) -> Option<Timestamp> {
    Some(s.parse().unwrap())
}

#[test]
fn rfc5424_with_structured_data_and_bom() {
    let frame = "<165>1 2026-12-06T10:20:30.123456+02:00 dc1.lm.gov.lv sshd 4123 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"App\\\"li\\]cation\"][origin ip=\"10.0.0.5\"] \u{feff}Sveiki, pasaule";
    let m = parse(frame.as_bytes(), &clock("2026-12-06T08:20:31Z")).unwrap();
    assert_eq!(m.format, Format::Rfc5424);
    assert_eq!((m.facility, m.severity), (20, 5));
    assert_eq!(m.timestamp, ts("2026-12-06T08:20:30.123456Z"));
    assert_eq!(m.hostname.as_deref(), Some("dc1.lm.gov.lv"));
    assert_eq!(m.app_name.as_deref(), Some("sshd"));
    assert_eq!(m.proc_id.as_deref(), Some("4123"));
    assert_eq!(m.msg_id.as_deref(), Some("ID47"));
    assert_eq!(m.structured_data.len(), 2);
    assert_eq!(m.structured_data[0].params[1], ("eventSource".to_owned(), "App\"li]cation".to_owned()));
    assert_eq!(m.structured_data[1].id, "origin");
    assert_eq!(m.msg, "Sveiki, pasaule");
}

#[test]
fn rfc5424_nil_values_and_no_message() {
    let m = parse(b"<14>1 - - - - - -", &clock("2026-12-06T08:00:00Z")).unwrap();
    assert_eq!((m.timestamp, m.hostname, m.app_name, m.msg.as_str()), (None, None, None, ""));
}

#[test]
fn rfc5424_errors_name_the_field() {
    let c = clock("2026-12-06T08:00:00Z");
    let cases: [(&[u8], &str); 6] = [
        (b"<14>1 2026-12-06T10:00:00 host app - - -", "RFC 5424 header: timestamp is not an RFC 3339 time with a zone"),
        (b"<14>1 2026-12-06T10:00:00Z host", "RFC 5424 header: hostname is missing"),
        (b"<14>1 - host  - - -", "RFC 5424 header: app-name is empty (two spaces)"),
        (b"<14>1 - host app - - [x a=\"1\"", "RFC 5424 structured data: an element is not closed by ']'"),
        (b"<14>1 - host app - - [x a=1]", "RFC 5424 structured data: a parameter name is not followed by =\""),
        (b"<14>2 - host app - - -", "syslog protocol version 2 is not supported (only 1, RFC 5424)"),
    ];
    for (frame, want) in cases {
        let err = parse(frame, &c).unwrap_err();
        assert_eq!(err.to_string(), want, "{}", String::from_utf8_lossy(frame));
    }
}

#[test]
fn priority_is_checked() {
    let c = clock("2026-12-06T08:00:00Z");
    for bad in [&b"no pri"[..], b"<192>x", b"<01>x", b"<>x", b"<1234>x", b"<13", b""] {
        assert!(parse(bad, &c).is_err(), "{}", String::from_utf8_lossy(bad));
    }
    assert_eq!(parse(b"<0>x", &c).unwrap().severity, 0);
}

#[test]
fn rfc3164_classic_in_riga_time() {
    let m =
        parse(b"<38>Dec  6 10:20:30 web1 sshd[812]: Failed password for root", &clock("2026-12-06T08:20:31Z")).unwrap();
    assert_eq!(m.format, Format::Rfc3164);
    // Riga is UTC+2 in winter.
    assert_eq!(m.timestamp, ts("2026-12-06T08:20:30Z"));
    assert_eq!(m.hostname.as_deref(), Some("web1"));
    assert_eq!(m.app_name.as_deref(), Some("sshd"));
    assert_eq!(m.proc_id.as_deref(), Some("812"));
    assert_eq!(m.msg, "Failed password for root");
}

#[test]
fn rfc3164_summer_time_and_zone_of_the_source() {
    let m = parse(b"<38>Jul 15 12:00:00 host app: x", &clock("2026-07-15T09:00:05Z")).unwrap();
    assert_eq!(m.timestamp, ts("2026-07-15T09:00:00Z"));
    let utc = LegacyClock::new("2026-07-15T12:00:05Z".parse().unwrap(), TimeZone::UTC);
    assert_eq!(parse(b"<38>Jul 15 12:00:00 host app: x", &utc).unwrap().timestamp, ts("2026-07-15T12:00:00Z"));
}

#[test]
fn rfc3164_across_the_new_year() {
    // Sent a second before midnight in Riga, received after it.
    let m = parse(b"<38>Dec 31 23:59:59 h a: x", &clock("2026-12-31T22:00:01Z")).unwrap();
    assert_eq!(m.timestamp, ts("2026-12-31T21:59:59Z"));
    let m = parse(b"<38>Dec 31 23:59:59 h a: x", &clock("2027-01-01T00:00:30Z")).unwrap();
    assert_eq!(m.timestamp, ts("2026-12-31T21:59:59Z"));
    // A sender's clock slightly ahead: January seen while it is still December here.
    let m = parse(b"<38>Jan  1 00:00:02 h a: x", &clock("2026-12-31T21:59:58Z")).unwrap();
    assert_eq!(m.timestamp, ts("2026-12-31T22:00:02Z"));
}

#[test]
fn rfc3164_leap_day_only_in_a_leap_year() {
    let m = parse(b"<38>Feb 29 12:00:00 h a: x", &clock("2028-02-29T10:00:01Z")).unwrap();
    assert_eq!(m.timestamp, ts("2028-02-29T10:00:00Z"));
}

#[test]
fn rfc3164_variants_senders_write() {
    let c = clock("2026-12-06T08:20:31Z");
    let m = parse(b"<38>2026-12-06T10:20:30.5+02:00 web1 sudo: pam_unix", &c).unwrap();
    assert_eq!(
        (m.timestamp, m.hostname.as_deref(), m.app_name.as_deref()),
        (ts("2026-12-06T08:20:30.5Z"), Some("web1"), Some("sudo"))
    );
    let m = parse(b"<38>Dec 06 2026 10:20:30 switch7 %SEC-6-IPACCESSLOGP: list 101 denied", &c).unwrap();
    assert_eq!((m.timestamp, m.hostname.as_deref()), (ts("2026-12-06T08:20:30Z"), Some("switch7")));
    assert_eq!(m.app_name, None);
    assert_eq!(m.msg, "%SEC-6-IPACCESSLOGP: list 101 denied");
    let m = parse(b"<38>Dec  6 10:20:30.123 sshd[9]: local, no host", &c).unwrap();
    assert_eq!((m.hostname, m.app_name.as_deref(), m.msg.as_str()), (None, Some("sshd"), "local, no host"));
    assert_eq!(m.timestamp, ts("2026-12-06T08:20:30.123Z"));
    let m = parse(b"<13>just text without a time", &c).unwrap();
    assert_eq!((m.timestamp, m.hostname, m.app_name, m.msg.as_str()), (None, None, None, "just text without a time"));
    let m = parse(b"<13>Dec 32 10:00:00 h a: x", &c).unwrap();
    assert_eq!(m.timestamp, None, "an impossible date is no timestamp");
}

proptest! {
    #[test]
    fn any_bytes_after_a_priority_never_panic(
        pri in 0u8..=191,
        rest in proptest::collection::vec(any::<u8>(), 0..400),
        five in any::<bool>(),
    ) {
        let mut frame = format!("<{pri}>").into_bytes();
        if five {
            frame.extend_from_slice(b"1 ");
        }
        frame.extend_from_slice(&rest);
        let _ = parse(&frame, &clock("2026-12-06T08:00:00Z"));
    }

    #[test]
    fn headers_made_of_syslog_like_pieces_never_panic(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("<13>"), Just("1 "), Just("Dec "), Just(" 6 "), Just("10:20:30"), Just(".123"),
                Just(" "), Just("-"), Just("["), Just("]"), Just("a=\""), Just("\\\""), Just("\""),
                Just("host"), Just("sshd["), Just("12]"), Just(": "), Just("2026-12-06T10:00:00Z"),
            ],
            0..24,
        ),
    ) {
        let frame = parts.concat();
        let _ = parse(frame.as_bytes(), &clock("2026-12-06T08:00:00Z"));
    }
}
