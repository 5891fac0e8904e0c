//! The SIEM benchmarks' input: a fixed mix of the lines senders write (RFC 3164 sshd,
//! sudo, cron and kernel lines; RFC 5424 with structured data; Samba AD's JSON audit and
//! Windows Security events as JSON, carried in syslog), from a fixed xorshift generator so
//! that every run parses the same bytes. Shared by `benches/parse.rs` and
//! `monitoring/siem/benches/ingest.rs`: `#[path = "…/support/mix.rs"] mod mix;`.

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

/// `events` newline-framed lines of the mix.
pub fn generate(events: usize) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = String::with_capacity(events * 200);
    for _ in 0..events {
        let host = format!("srv{:02}.lm.gov.lv", rng.below(40));
        let user = USERS[rng.below(USERS.len() as u64) as usize];
        let ip = format!("10.{}.{}.{}", rng.below(256), rng.below(256), 1 + rng.below(254));
        let port = 1024 + rng.below(60000);
        let pid = 100 + rng.below(30000);
        let (month, day) = (MONTHS[rng.below(12) as usize], 1 + rng.below(28));
        let (h, m, s) = (rng.below(24), rng.below(60), rng.below(60));
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
                "<165>1 2026-{:02}-{day:02}T{h:02}:{m:02}:{s:02}.{:06}+02:00 {host} dvs {pid} AUDIT [origin ip=\"{ip}\"][meta sequenceId=\"{}\" sysUpTime=\"{}\"] user {user} opened document DVS-2026/{} from {ip}",
                1 + rng.below(12),
                rng.below(1_000_000),
                rng.next() % 100_000,
                rng.below(1_000_000),
                rng.below(99_999)
            ),
            80..90 => writeln!(
                out,
                "<29>{month} {day:>2} {h:02}:{m:02}:{s:02} dc1.lm.gov.lv samba[{pid}]:  {{\"timestamp\": \"2026-12-06T{h:02}:{m:02}:{s:02}.{:06}+0200\", \"type\": \"Authentication\", \"Authentication\": {{\"version\": {{\"major\": 1, \"minor\": 2}}, \"eventId\": {}, \"logonType\": 3, \"status\": \"{}\", \"localAddress\": \"ipv4:10.0.0.2:389\", \"remoteAddress\": \"ipv4:{ip}:{port}\", \"serviceDescription\": \"LDAP\", \"authDescription\": \"simple bind\", \"clientDomain\": \"LM\", \"clientAccount\": \"{user}\", \"workstation\": null, \"becameAccount\": null, \"passwordType\": \"Plaintext\", \"duration\": {}}}}}",
                rng.below(1_000_000),
                if pick.is_multiple_of(2) { 4624 } else { 4625 },
                if pick.is_multiple_of(2) { "NT_STATUS_OK" } else { "NT_STATUS_WRONG_PASSWORD" },
                rng.below(5000)
            ),
            _ => writeln!(
                out,
                "<110>1 2026-12-06T{h:02}:{m:02}:{s:02}Z dc{}.vdi.gov.lv nxlog {pid} - - {{\"EventTime\":\"2026-12-06 {h:02}:{m:02}:{s:02}+0200\",\"Hostname\":\"dc1.vdi.gov.lv\",\"EventID\":{},\"EventType\":\"{}\",\"SourceName\":\"Microsoft-Windows-Security-Auditing\",\"TargetUserName\":\"{user}\",\"TargetDomainName\":\"VDI\",\"IpAddress\":\"{ip}\",\"IpPort\":\"{port}\",\"LogonType\":\"3\",\"Message\":\"An account failed to log on.\"}}",
                rng.below(4),
                if pick.is_multiple_of(2) { 4624 } else { 4625 },
                if pick.is_multiple_of(2) { "AUDIT_SUCCESS" } else { "AUDIT_FAILURE" }
            ),
        };
    }
    out.into_bytes()
}
