use super::*;
use jiff::tz::TimeZone;
use makonis_siem_core::syslog::{LegacyClock, parse};

fn fields_of(line: &str) -> Map<String, Value> {
    let clock = LegacyClock::new("2026-12-07T00:00:00Z".parse().unwrap(), TimeZone::UTC).with_year(2026);
    let message = parse(line.as_bytes(), &clock).unwrap();
    match record(&message, true, Timestamp::UNIX_EPOCH).fields {
        Value::Object(fields) => fields,
        _ => unreachable!(),
    }
}

#[test]
fn the_header_of_a_5424_message_is_its_fields() {
    let f = fields_of(
        "<38>1 2026-12-06T10:00:00.5+02:00 dc1 sshd 4711 AUTH - Failed password for root from 10.0.0.9 port 50000 ssh2",
    );
    assert_eq!(f["timestamp"], "2026-12-06T08:00:00.5Z");
    assert_eq!(f["hostname"], "dc1");
    assert_eq!(f["appname"], "sshd");
    assert_eq!(f["procid"], "4711");
    assert_eq!(f["msgid"], "AUTH");
    assert_eq!(f["facility"], 4);
    assert_eq!(f["severity"], 6);
    assert_eq!(f["user.name"], "root");
    assert_eq!(f["source.ip"], "10.0.0.9");
    assert_eq!(f["source.port"], "50000");
    assert_eq!(f["event.outcome"], "failure");
}

#[test]
fn a_3164_tag_loses_its_pid_and_users_may_hold_spaces() {
    let f = fields_of(
        "<86>Dec  6 10:00:00 web1 sshd[123]: Failed password for invalid user John Smith from 2001:db8::1 port 22 ssh2",
    );
    assert_eq!(f["appname"], "sshd");
    assert_eq!(f["procid"], "123");
    assert_eq!(f["timestamp"], "2026-12-06T10:00:00Z");
    assert_eq!(f["user.name"], "John Smith");
    assert_eq!(f["source.ip"], "2001:db8::1");
    let accepted = fields_of(
        "<86>Dec  6 10:00:00 web1 sshd[1]: Accepted publickey for deploy from 10.1.1.1 port 4242 ssh2: ED25519 SHA256:x",
    );
    assert_eq!(accepted["event.outcome"], "success");
    assert_eq!(accepted["user.name"], "deploy");
}

#[test]
fn invalid_users_are_failures_with_their_address() {
    let f = fields_of("<86>Dec  6 10:00:00 web1 sshd[1]: Invalid user admin from 192.0.2.7 port 3333");
    assert_eq!(f["user.name"], "admin");
    assert_eq!(f["source.ip"], "192.0.2.7");
    assert_eq!(f["source.port"], "3333");
    assert_eq!(f["event.outcome"], "failure");
    let old = fields_of("<86>Dec  6 10:00:00 web1 sshd[1]: Invalid user oracle from 192.0.2.8");
    assert_eq!(old["source.ip"], "192.0.2.8");
    assert!(!old.contains_key("source.port"));
}

#[test]
fn pam_lines_give_their_service_type_text_and_non_empty_pairs() {
    let f = fields_of(
        "<86>Dec  6 10:00:00 web1 sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.5  user=root",
    );
    assert_eq!(f["pam_service"], "sshd");
    assert_eq!(f["pam_type"], "auth");
    assert_eq!(f["pam_message"], "authentication failure");
    assert_eq!(f["pam_rhost"], "203.0.113.5");
    assert_eq!(f["pam_user"], "root");
    assert_eq!(f["pam_tty"], "ssh");
    assert_eq!(f["pam_uid"], "0");
    assert!(!f.contains_key("pam_ruser") && !f.contains_key("pam_logname"));
    let session = fields_of(
        "<86>Dec  6 10:00:00 web1 su[1]: pam_unix(su:session): session opened for user root(uid=0) by alice(uid=1000)",
    );
    assert_eq!(session["pam_message"], "session opened for user root(uid=0) by alice(uid=1000)");
    assert!(!session.contains_key("user.name"));
}

#[test]
fn sudo_lines_give_the_user_the_error_and_each_item() {
    let f = fields_of(
        "<85>Dec  6 10:00:00 web1 sudo: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/cat /etc/shadow ; echo",
    );
    assert_eq!(f["user.name"], "alice");
    assert_eq!(f["TTY"], "pts/0");
    assert_eq!(f["PWD"], "/home/alice");
    assert_eq!(f["USER"], "root");
    assert_eq!(f["COMMAND"], "/usr/bin/cat /etc/shadow ; echo");
    assert!(!f.contains_key("sudo.error") && !f.contains_key("GROUP"));
    let refused = fields_of(
        "<85>Dec  6 10:00:00 web1 sudo:      bob : user NOT in sudoers ; TTY=pts/1 ; PWD=/tmp ; USER=root ; GROUP=wheel ; COMMAND=/bin/sh",
    );
    assert_eq!(refused["user.name"], "bob");
    assert_eq!(refused["sudo.error"], "user NOT in sudoers");
    assert_eq!(refused["GROUP"], "wheel");
}

#[test]
fn text_that_matches_no_pattern_keeps_only_the_header_and_message() {
    let f = fields_of("<13>Dec  6 10:00:00 web1 cron[5]: (root) CMD (run-parts /etc/cron.hourly)");
    assert!(!f.contains_key("user.name") && !f.contains_key("COMMAND") && !f.contains_key("pam_message"));
    assert_eq!(f["message"], "(root) CMD (run-parts /etc/cron.hourly)");
}

#[test]
fn the_service_is_the_lower_cased_application_without_a_suffix() {
    assert_eq!(service_of("CRON"), "cron");
    assert_eq!(service_of("sshd(pam_unix)"), "sshd");
    assert_eq!(service_of("systemd-logind"), "systemd-logind");
    let clock = LegacyClock::new(Timestamp::UNIX_EPOCH, TimeZone::UTC);
    let message = parse(b"<86>Dec  6 10:00:00 web1 sshd(pam_unix)[77]: x", &clock).unwrap();
    assert_eq!(record(&message, true, Timestamp::UNIX_EPOCH).logsource.service, ["sshd"]);
}
