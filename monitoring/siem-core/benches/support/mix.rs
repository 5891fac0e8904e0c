//! The SIEM benchmarks' input: a fixed mix of the lines senders write (RFC 3164 sshd,
//! sudo, cron and kernel lines; RFC 5424 with structured data; Samba AD's JSON audit and
//! Windows Security events as JSON, carried in syslog), from a fixed xorshift generator so
//! that every run parses the same bytes. Shared by `benches/parse.rs` (dated at random,
//! [`generate`]) and `monitoring/siem/benches/ingest.rs` (dated as live traffic,
//! [`generate_until`]): `#[path = "…/support/mix.rs"] mod mix;`.

#![allow(dead_code)] // each benchmark uses one of the two mixes

use std::fmt::Write as _;

/// A fixed xorshift generator, so every run parses the same lines.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const USERS: [&str; 6] = ["root", "admin", "jānis.bērziņš", "anna", "oracle", "svc-backup"];

/// When a line says it happened, in the forms the senders write it.
struct When {
    /// RFC 3164's month (`Dec`) and day, and the time of day, in the sender's zone.
    month: &'static str,
    day: u64,
    h: u64,
    m: u64,
    s: u64,
    /// RFC 5424's month number, if the clock gives one (else drawn, as the fixed mix does).
    month_number: Option<u64>,
    /// The local date of the JSON records, `YYYY-MM-DD`.
    date: String,
    /// The local offset, `+02:00`.
    offset: String,
    /// The UTC date and time of day of the Windows events' syslog header.
    utc_date: String,
    utc: (u64, u64, u64),
}

/// `events` newline-framed lines of the mix, dated at random through 2026 (the parse
/// benchmark's fixed input: the same bytes on every run).
pub fn generate(events: usize) -> Vec<u8> {
    lines(events, |rng, _| {
        let (month, day) = (MONTHS[rng.below(12) as usize], 1 + rng.below(28));
        let (h, m, s) = (rng.below(24), rng.below(60), rng.below(60));
        When {
            month,
            day,
            h,
            m,
            s,
            month_number: None,
            date: "2026-12-06".to_owned(),
            offset: "+02:00".to_owned(),
            utc_date: "2026-12-06".to_owned(),
            utc: (h, m, s),
        }
    })
}

/// `events` newline-framed lines of the mix as senders in Riga write them live: the
/// `n`th happened `(events - n) × 5 ms` before `end`, in order, as traffic arrives.
pub fn generate_until(events: usize, end: jiff::Timestamp) -> Vec<u8> {
    let riga = jiff::tz::TimeZone::get("Europe/Riga").expect("the zone Europe/Riga");
    lines(events, move |_, n| {
        let at = end - jiff::SignedDuration::from_millis(5 * (events - n) as i64);
        let local = at.to_zoned_datetime(riga.clone());
        let utc = at.to_zoned_datetime(jiff::tz::TimeZone::UTC);
        let seconds = local.offset().seconds();
        let offset = format!(
            "{}{:02}:{:02}",
            if seconds < 0 { '-' } else { '+' },
            seconds.abs() / 3600,
            seconds.abs() % 3600 / 60
        );
        let number = |v: i8| u64::try_from(v).unwrap_or(0);
        When {
            month: MONTHS[usize::try_from(local.month() - 1).unwrap_or(0)],
            day: number(local.day()),
            h: number(local.hour()),
            m: number(local.minute()),
            s: number(local.second()),
            month_number: Some(number(local.month())),
            date: local.date().to_string(),
            offset,
            utc_date: utc.date().to_string(),
            utc: (number(utc.hour()), number(utc.minute()), number(utc.second())),
        }
    })
}

/// The lines, each dated by `when` (given the generator and the line's number).
fn lines(events: usize, mut when: impl FnMut(&mut Rng, usize) -> When) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = String::with_capacity(events * 200);
    for n in 0..events {
        let host = format!("srv{:02}.lm.gov.lv", rng.below(40));
        let user = USERS[rng.below(USERS.len() as u64) as usize];
        let ip = format!("10.{}.{}.{}", rng.below(256), rng.below(256), 1 + rng.below(254));
        let port = 1024 + rng.below(60000);
        let pid = 100 + rng.below(30000);
        let When { month, day, h, m, s, month_number, date, offset, utc_date, utc } = when(&mut rng, n);
        let compact_offset = offset.replace(':', "");
        let pick = rng.below(100);
        let _ = match pick {
            0..30 => {
                let text = match rng.below(4) {
                    0 => {
                        format!("Accepted publickey for {user} from {ip} port {port} ssh2: ED25519 SHA256:q1w2e3r4t5y6")
                    }
                    1 => format!("Failed password for {user} from {ip} port {port} ssh2"),
                    2 => format!(
                        "Failed password for invalid user {user} from 2001:db8::{:x} port {port} ssh2",
                        rng.below(65535)
                    ),
                    _ => format!("Invalid user {user} from {ip} port {port}"),
                };
                writeln!(out, "<38>{month} {day:>2} {h:02}:{m:02}:{s:02} {host} sshd[{pid}]: {text}")
            }
            30..40 => match rng.below(3) {
                0 => writeln!(
                    out,
                    "<85>{month} {day:>2} {h:02}:{m:02}:{s:02} {host} sudo: {user} : TTY=pts/0 ; PWD=/home/{user} ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx"
                ),
                1 => writeln!(
                    out,
                    "<78>{month} {day:>2} {h:02}:{m:02}:{s:02} {host} CRON[{pid}]: ({user}) CMD (/usr/local/bin/backup --incremental)"
                ),
                _ => writeln!(
                    out,
                    "<4>{month} {day:>2} {h:02}:{m:02}:{s:02} {host} kernel: [UFW BLOCK] IN=eth0 OUT= SRC={ip} DST=10.0.0.1 PROTO=TCP SPT={port} DPT=22"
                ),
            },
            40..80 => writeln!(
                out,
                "<165>1 {}-{:02}-{day:02}T{h:02}:{m:02}:{s:02}.{:06}{offset} {host} dvs {pid} AUDIT [origin ip=\"{ip}\"][meta sequenceId=\"{}\" sysUpTime=\"{}\"] user {user} opened document DVS-2026/{} from {ip}",
                &date[..4],
                month_number.unwrap_or_else(|| 1 + rng.below(12)),
                rng.below(1_000_000),
                rng.next() % 100_000,
                rng.below(1_000_000),
                rng.below(99_999)
            ),
            80..90 => writeln!(
                out,
                "<29>{month} {day:>2} {h:02}:{m:02}:{s:02} dc1.lm.gov.lv samba[{pid}]:  {{\"timestamp\": \"{date}T{h:02}:{m:02}:{s:02}.{:06}{compact_offset}\", \"type\": \"Authentication\", \"Authentication\": {{\"version\": {{\"major\": 1, \"minor\": 2}}, \"eventId\": {}, \"logonType\": 3, \"status\": \"{}\", \"localAddress\": \"ipv4:10.0.0.2:389\", \"remoteAddress\": \"ipv4:{ip}:{port}\", \"serviceDescription\": \"LDAP\", \"authDescription\": \"simple bind\", \"clientDomain\": \"LM\", \"clientAccount\": \"{user}\", \"workstation\": null, \"becameAccount\": null, \"passwordType\": \"Plaintext\", \"duration\": {}}}}}",
                rng.below(1_000_000),
                if pick.is_multiple_of(2) { 4624 } else { 4625 },
                if pick.is_multiple_of(2) { "NT_STATUS_OK" } else { "NT_STATUS_WRONG_PASSWORD" },
                rng.below(5000)
            ),
            _ => writeln!(
                out,
                "<110>1 {utc_date}T{:02}:{:02}:{:02}Z dc{}.vdi.gov.lv nxlog {pid} - - {{\"EventTime\":\"{date} {h:02}:{m:02}:{s:02}{compact_offset}\",\"Hostname\":\"dc1.vdi.gov.lv\",\"EventID\":{},\"EventType\":\"{}\",\"SourceName\":\"Microsoft-Windows-Security-Auditing\",\"TargetUserName\":\"{user}\",\"TargetDomainName\":\"VDI\",\"IpAddress\":\"{ip}\",\"IpPort\":\"{port}\",\"LogonType\":\"3\",\"Message\":\"An account failed to log on.\"}}",
                utc.0,
                utc.1,
                utc.2,
                rng.below(4),
                if pick.is_multiple_of(2) { 4624 } else { 4625 },
                if pick.is_multiple_of(2) { "AUDIT_SUCCESS" } else { "AUDIT_FAILURE" }
            ),
        };
    }
    out.into_bytes()
}
