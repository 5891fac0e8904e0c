use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::{
    event::EventCategory,
    syslog::{LegacyClock, default_zone, parse},
};

fn origin() -> Origin {
    Origin {
        source: "agency-lm/servers".into(),
        agency: Some("lm".into()),
        received: "2026-12-06T08:20:31Z".parse().unwrap(),
    }
}

fn syslog(line: &str) -> Event {
    let clock = LegacyClock::new(origin().received, default_zone());
    let message = parse(line.as_bytes(), &clock).unwrap();
    from_syslog(&message, &origin(), line.as_bytes())
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

#[test]
fn sshd_failed_password_carries_all_five_fields() {
    let line =
        "<38>Dec  6 10:20:30 web1 sshd[812]: Failed password for invalid user admin from 203.0.113.9 port 52100 ssh2";
    let e = syslog(line);
    assert_eq!(e.action.as_deref(), Some("ssh_login"));
    assert_eq!(e.outcome, Outcome::Failure);
    assert_eq!(e.category, Some(EventCategory::Authentication));
    assert_eq!((e.user_name.as_deref(), e.source_ip, e.source_port), (Some("admin"), ip("203.0.113.9"), Some(52100)));
    assert_eq!((e.host_name.as_deref(), e.process_pid), (Some("web1"), Some(812)));
    assert_eq!(e.original, line.as_bytes());
    assert_eq!((e.agency.as_deref(), e.source.as_str()), (Some("lm"), "agency-lm/servers"));
    assert!(e.mandatory().complete(), "{:?}", e.mandatory().missing());
}

#[test]
fn sshd_lines_of_every_kind() {
    let cases = [
        (
            "Accepted publickey for jānis from ::ffff:10.0.0.7 port 40000 ssh2: ED25519 SHA256:abc",
            "ssh_login",
            Outcome::Success,
            Some("jānis"),
            ip("10.0.0.7"),
        ),
        (
            "Invalid user oracle from 198.51.100.4 port 3333",
            "ssh_login",
            Outcome::Failure,
            Some("oracle"),
            ip("198.51.100.4"),
        ),
        (
            "error: maximum authentication attempts exceeded for root from 2001:db8::5 port 22022 ssh2 [preauth]",
            "ssh_login",
            Outcome::Failure,
            Some("root"),
            ip("2001:db8::5"),
        ),
        (
            "Connection closed by authenticating user root 10.9.8.7 port 5555 [preauth]",
            "ssh_disconnect",
            Outcome::Unknown,
            Some("root"),
            ip("10.9.8.7"),
        ),
        (
            "Disconnected from user anna 10.9.8.7 port 5556",
            "ssh_disconnect",
            Outcome::Unknown,
            Some("anna"),
            ip("10.9.8.7"),
        ),
        (
            "pam_unix(sshd:session): session opened for user anna(uid=1000) by (uid=0)",
            "session_opened",
            Outcome::Success,
            Some("anna"),
            None,
        ),
    ];
    for (text, action, outcome, user, source) in cases {
        let e = syslog(&format!("<38>Dec  6 10:20:30 web1 sshd[1]: {text}"));
        assert_eq!(e.action.as_deref(), Some(action), "{text}");
        assert_eq!(e.outcome, outcome, "{text}");
        assert_eq!(e.user_name.as_deref(), user, "{text}");
        assert_eq!(e.source_ip, source, "{text}");
    }
    // A user name is the client's to choose: it cannot put its address in the record.
    let forged = syslog(
        "<38>Dec  6 10:20:30 web1 sshd[1]: Connection closed by authenticating user a 6.6.6.6 port 22 10.9.8.7 port 5555 [preauth]",
    );
    assert_eq!(
        (forged.user_name.as_deref(), forged.source_ip, forged.source_port),
        (Some("a 6.6.6.6 port 22"), ip("10.9.8.7"), Some(5555))
    );
    let forged = syslog(
        "<38>Dec  6 10:20:30 web1 sshd[1]: Failed password for invalid user b from 6.6.6.6 port 1 ssh2 from 10.9.8.7 port 5556 ssh2",
    );
    assert_eq!((forged.source_ip, forged.source_port), (ip("10.9.8.7"), Some(5556)));
    let other = syslog("<38>Dec  6 10:20:30 web1 sshd[1]: Server listening on 0.0.0.0 port 22.");
    assert_eq!((other.process_name.as_deref(), other.process_pid), (Some("sshd"), Some(1)));
    assert_eq!((other.action, other.message.as_str()), (None, "Server listening on 0.0.0.0 port 22."));
}

#[test]
fn samba_authentication_through_syslog() {
    let record = json!({
        "timestamp": "2026-12-06T10:20:30.264779+0200",
        "type": "Authentication",
        "Authentication": {
            "version": {"major": 1, "minor": 2}, "eventId": 4625, "logonType": 3,
            "status": "NT_STATUS_WRONG_PASSWORD", "localAddress": "ipv4:127.0.0.1:389",
            "remoteAddress": "ipv4:10.20.30.40:51234", "serviceDescription": "LDAP",
            "authDescription": "simple bind", "clientDomain": "LM", "clientAccount": "CN=Anna Bērziņa,OU=People,DC=lm,DC=lv",
            "passwordType": "Plaintext"
        }
    });
    let e = syslog(&format!("<29>Dec  6 10:20:30 dc1 samba[77]:  {record}"));
    assert_eq!(e.timestamp, "2026-12-06T08:20:30.264779Z".parse().unwrap());
    assert_eq!((e.action.as_deref(), e.outcome, e.code.as_deref()), (Some("logon"), Outcome::Failure, Some("4625")));
    assert_eq!((e.source_ip, e.source_port), (ip("10.20.30.40"), Some(51234)));
    assert_eq!((e.destination_ip, e.destination_port), (ip("127.0.0.1"), Some(389)));
    assert_eq!(e.user_name.as_deref(), Some("CN=Anna Bērziņa,OU=People,DC=lm,DC=lv"));
    assert_eq!(e.network_protocol.as_deref(), Some("ldap"));
    assert!(e.mandatory().complete(), "{:?}", e.mandatory().missing());
}

#[test]
fn samba_directory_changes() {
    let password = json!({"timestamp": "2026-12-06T10:00:00.000000+0200", "type": "passwordChange", "passwordChange": {
        "eventId": 4724, "statusCode": 0, "status": "Success", "action": "Reset", "remoteAddress": "ipv6:fd00::7:49152",
        "userSid": "S-1-5-21-1-2-3-500", "dn": "CN=Anna,OU=People,DC=lm,DC=lv"}});
    let e = from_json(password.to_string().as_bytes(), &origin()).unwrap();
    assert_eq!((e.action.as_deref(), e.outcome), (Some("password-reset"), Outcome::Success));
    assert_eq!((e.source_ip, e.source_port), (ip("fd00::7"), Some(49152)));
    assert_eq!(e.user_id.as_deref(), Some("S-1-5-21-1-2-3-500"));
    assert_eq!(e.target_user.as_deref(), Some("CN=Anna,OU=People,DC=lm,DC=lv"));
    assert_eq!(e.category, Some(EventCategory::Iam));

    let group = json!({"timestamp": "2026-12-06T10:00:00.000000+0200", "type": "groupChange", "groupChange": {
        "eventId": 4728, "statusCode": 0, "status": "Success", "action": "Added", "remoteAddress": "ipv4:10.0.0.1:50000",
        "userSid": "S-1-5-21-1-2-3-500", "group": "CN=Domain Admins,CN=Users,DC=lm,DC=lv", "user": "CN=Mallory,DC=lm,DC=lv"}});
    let e = from_json(group.to_string().as_bytes(), &origin()).unwrap();
    assert_eq!(e.action.as_deref(), Some("group-member-added"));
    assert!(e.message.contains("CN=Domain Admins"), "{}", e.message);

    let change = json!({"timestamp": "2026-12-06T10:00:00.000000+0200", "type": "dsdbChange", "dsdbChange": {
        "statusCode": 50, "status": "Insufficient access rights", "operation": "Modify", "remoteAddress": "ipv4:10.0.0.1:50000",
        "userSid": "S-1-5-21-1-2-3-1105", "dn": "CN=AdminSDHolder,CN=System,DC=lm,DC=lv"}});
    let e = from_json(change.to_string().as_bytes(), &origin()).unwrap();
    assert_eq!((e.action.as_deref(), e.outcome), (Some("directory-modify"), Outcome::Failure));
}

/// Samba 4.17's JSON audit exactly as it wrote it (the domain controller of
/// `tests/directory/samba.sh`, as the `intake_samba` test drives it, and a user changing
/// its own password too soon), one record per line.
const SAMBA_AUDIT: &str = include_str!("testdata/samba-4.17-audit.log");

/// Line `n` of [`SAMBA_AUDIT`] as rsyslog forwards it (`imfile`, RFC 5424, the LF kept).
fn samba_line(n: usize) -> Event {
    let line = SAMBA_AUDIT.lines().nth(n).unwrap();
    syslog(&format!("<133>1 2026-12-07T00:02:42.818+00:00 dc1 samba - - - {line}\n"))
}

/// The user of [`SAMBA_AUDIT`], and the SID of the administrator who created it.
const SAMBA_USER: &str = "CN=siem-22944-1762,CN=Users,DC=lm,DC=test";
const SAMBA_ADMIN: &str = "S-1-5-21-1691526349-360124734-838615825-500";

#[test]
fn samba_4_17_sign_ins() {
    // An LDAP simple bind as a DN that does not exist: only the DN names the account.
    let e = samba_line(0);
    assert_eq!(e.timestamp, "2026-12-07T00:02:42.549218Z".parse().unwrap());
    assert_eq!(
        (e.category, e.action.as_deref(), e.outcome),
        (Some(EventCategory::Authentication), Some("logon"), Outcome::Failure)
    );
    assert_eq!(
        (e.user_name.as_deref(), e.user_domain.as_deref(), e.code.as_deref()),
        (Some(SAMBA_USER), None, Some("4625"))
    );
    assert_eq!((e.source_ip, e.source_port), (ip("127.0.0.1"), Some(33888)));
    assert_eq!((e.destination_ip, e.destination_port), (ip("127.0.0.1"), Some(636)));
    assert_eq!(e.network_protocol.as_deref(), Some("ldap"));
    assert!(e.message.contains("NT_STATUS_NO_SUCH_USER"), "{}", e.message);
    assert!(e.mandatory().complete(), "{:?}", e.mandatory().missing());
    assert_eq!((e.host_name.as_deref(), e.process_name.as_deref()), (Some("dc1"), Some("samba")));

    // A wrong password: Samba found the account, which is the name kept.
    let e = samba_line(5);
    assert_eq!(
        (e.outcome, e.user_name.as_deref(), e.user_domain.as_deref()),
        (Outcome::Failure, Some("siem-22944-1762"), Some("LM"))
    );
    assert!(e.message.contains("NT_STATUS_WRONG_PASSWORD") && e.message.contains(SAMBA_USER), "{}", e.message);
    assert_eq!(e.user_id, None);

    let e = samba_line(7);
    assert_eq!(
        (e.outcome, e.code.as_deref(), e.user_name.as_deref()),
        (Outcome::Success, Some("4624"), Some("siem-22944-1762"))
    );
    assert_eq!(e.user_id.as_deref(), Some("S-1-5-21-1691526349-360124734-838615825-1121"));
    assert!(e.mandatory().complete(), "{:?}", e.mandatory().missing());

    // The sign-in inside an LDAP password change: no local address, the service in words.
    let e = samba_line(12);
    assert_eq!(
        (e.action.as_deref(), e.outcome, e.user_name.as_deref()),
        (Some("logon"), Outcome::Failure, Some("siem-user"))
    );
    assert_eq!((e.network_protocol.as_deref(), e.destination_ip, e.source_ip), (Some("ldap"), None, ip("127.0.0.1")));
    assert!(e.message.contains("NT_STATUS_PASSWORD_RESTRICTION"), "{}", e.message);
}

#[test]
fn samba_4_17_password_changes() {
    // Set when the administrator created the user, and a reset alike: the initiator by SID.
    let e = samba_line(4);
    assert_eq!(
        (e.category, e.action.as_deref(), e.outcome),
        (Some(EventCategory::Iam), Some("password-reset"), Outcome::Success)
    );
    assert_eq!(
        (e.user_id.as_deref(), e.target_user.as_deref(), e.code.as_deref()),
        (Some(SAMBA_ADMIN), Some(SAMBA_USER), Some("4724"))
    );
    assert_eq!((e.source_ip, e.source_port), (ip("127.0.0.1"), Some(33902)));
    assert!(e.mandatory().complete(), "{:?}", e.mandatory().missing());

    // A user's own change, refused (the password is too young to change).
    let e = samba_line(14);
    assert_eq!(
        (e.action.as_deref(), e.outcome, e.code.as_deref()),
        (Some("password-change"), Outcome::Failure, Some("4723"))
    );
    assert_eq!(e.target_user.as_deref(), Some("CN=siem-user,CN=Users,DC=lm,DC=test"));
    assert!(e.message.contains("Constraint violation"), "{}", e.message);
}

#[test]
fn samba_4_17_group_changes() {
    let added = samba_line(8);
    assert_eq!(
        (added.category, added.action.as_deref(), added.outcome),
        (Some(EventCategory::Iam), Some("group-member-added"), Outcome::Success)
    );
    assert_eq!(
        (added.target_user.as_deref(), added.user_id.as_deref(), added.code.as_deref()),
        (Some(SAMBA_USER), Some(SAMBA_ADMIN), Some("4728"))
    );
    assert!(added.message.contains("group: CN=siem-22944-1762-g,CN=Users,DC=lm,DC=test"), "{}", added.message);
    assert!(added.mandatory().complete(), "{:?}", added.mandatory().missing());
    let removed = samba_line(9);
    assert_eq!((removed.action.as_deref(), removed.code.as_deref()), (Some("group-member-removed"), Some("4729")));

    // A new user joins its primary group (Domain Users), with no event id; Samba then also
    // writes an `Added` whose group is the user itself.
    let primary = samba_line(1);
    assert_eq!(
        (primary.action.as_deref(), primary.outcome, primary.code),
        (Some("primary-group-change"), Outcome::Success, None)
    );
    assert!(primary.message.contains("group: CN=Domain Users,CN=Users,DC=lm,DC=test"), "{}", primary.message);
    assert_eq!(samba_line(2).action.as_deref(), Some("group-member-added"));

    // Deleting a group: Samba cannot read its members afterwards and says `Failure` with
    // status Success and no member: what changed is unknown, not failed.
    let deleted = samba_line(10);
    assert_eq!(
        (deleted.action.as_deref(), deleted.outcome, deleted.target_user),
        (Some("group-member-change"), Outcome::Unknown, None)
    );
    assert!(deleted.message.contains("CN=Deleted Objects"), "{}", deleted.message);
}

#[test]
fn samba_4_17_directory_changes() {
    let e = samba_line(3);
    assert_eq!(
        (e.category, e.action.as_deref(), e.outcome),
        (Some(EventCategory::Configuration), Some("directory-add"), Outcome::Success)
    );
    assert_eq!(
        (e.target_user.as_deref(), e.user_id.as_deref(), e.source_ip),
        (Some(SAMBA_USER), Some(SAMBA_ADMIN), ip("127.0.0.1"))
    );
    assert!(e.mandatory().complete(), "{:?}", e.mandatory().missing());
    assert_eq!(samba_line(11).action.as_deref(), Some("directory-delete"));
    // The DC's own bookkeeping after a sign-in (lastLogonTimestamp), as SYSTEM from nowhere.
    let e = samba_line(6);
    assert_eq!(
        (e.action.as_deref(), e.user_id.as_deref(), e.source_ip),
        (Some("directory-modify"), Some("S-1-5-18"), None)
    );
    assert_eq!(e.mandatory().missing(), ["source_ip"]);
    let e = samba_line(13);
    assert_eq!((e.action.as_deref(), e.outcome), (Some("directory-modify"), Outcome::Failure));
}

#[test]
fn samba_records_after_the_prefix_of_older_releases() {
    let record = SAMBA_AUDIT.lines().nth(5).unwrap().trim_start();
    let e = syslog(&format!("<29>Dec  7 00:02:42 dc1 samba[77]:   JSON Authentication: {record}"));
    assert_eq!(
        (e.action.as_deref(), e.outcome, e.user_name.as_deref()),
        (Some("logon"), Outcome::Failure, Some("siem-22944-1762"))
    );
    let e = syslog("<29>Dec  7 00:02:42 dc1 samba[77]: JSON Authentication: not a record");
    assert_eq!((e.action, e.message.as_str()), (None, "JSON Authentication: not a record"));
}

#[test]
fn windows_events_from_nxlog_and_winlogbeat() {
    let nxlog = json!({"EventTime": "2026-12-06 10:20:30+0200", "Hostname": "dc1.vdi.lv", "EventID": 4625,
        "EventType": "AUDIT_FAILURE", "TargetUserName": "jdoe", "TargetDomainName": "VDI", "IpAddress": "10.5.6.7",
        "IpPort": "50123", "LogonType": "3", "Message": "An account failed to log on."});
    let e = from_json(nxlog.to_string().as_bytes(), &origin()).unwrap();
    assert_eq!(
        (e.code.as_deref(), e.action.as_deref(), e.outcome),
        (Some("4625"), Some("logon-failed"), Outcome::Failure)
    );
    assert_eq!((e.user_name.as_deref(), e.source_ip, e.source_port), (Some("jdoe"), ip("10.5.6.7"), Some(50123)));
    assert_eq!(e.timestamp, "2026-12-06T08:20:30Z".parse().unwrap());
    assert!(e.mandatory().complete());

    let beat = json!({"@timestamp": "2026-12-06T08:20:30.5Z", "winlog": {"event_id": "4728", "computer_name": "dc2",
        "keywords": ["Audit Success"], "event_data": {"SubjectUserName": "admin", "TargetUserName": "Domain Admins",
        "IpAddress": "-"}}});
    let e = from_json(beat.to_string().as_bytes(), &origin()).unwrap();
    assert_eq!((e.action.as_deref(), e.outcome), (Some("added-member-to-group"), Outcome::Success));
    assert_eq!((e.user_name.as_deref(), e.target_user.as_deref()), (Some("admin"), Some("Domain Admins")));
    assert_eq!((e.source_ip, e.host_name.as_deref()), (None, Some("dc2")));
    assert_eq!(e.mandatory().missing(), ["source_ip", "connection"]);
}

#[test]
fn json_over_syslog_keeps_the_header_for_what_the_record_leaves_out() {
    let record = json!({"EventID": 4624, "TargetUserName": "anna", "IpAddress": "10.0.0.3", "LogonType": "10"});
    let e = syslog(&format!("<14>1 2026-12-06T08:20:30Z dc3.vdi.lv nxlog 991 - - {record}"));
    assert_eq!((e.code.as_deref(), e.user_name.as_deref()), (Some("4624"), Some("anna")));
    assert_eq!((e.host_name.as_deref(), e.process_name.as_deref()), (Some("dc3.vdi.lv"), Some("nxlog")));
    assert_eq!(e.timestamp, "2026-12-06T08:20:30Z".parse().unwrap(), "the header's time when the record has none");
    assert!(e.time_from_record);
    let e = syslog("<14>1 2026-12-06T08:20:30Z app1 portal - - - {\"note\": 1}");
    assert_eq!(e.message, "{\"note\": 1}", "a record with no message keeps its text");
}

#[test]
fn the_api_servers_webhook_items_carry_no_kind_and_are_still_audit_events() {
    // Captured from kube-apiserver v1.37's audit webhook backend: the EventList has kind
    // and apiVersion, its items do not.
    let body = br#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[{"level":"Metadata","auditID":"3cb552c9-ad51-43a7-a860-214f242be7a0","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/configmaps?","verb":"create","user":{"username":"makonis-admin","groups":["system:masters","system:authenticated"]},"sourceIPs":["127.0.0.1"],"objectRef":{"resource":"configmaps","namespace":"default","name":"audited-e47a80","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestReceivedTimestamp":"2026-12-06T21:52:17.288373Z","stageTimestamp":"2026-12-06T21:52:17.291930Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}]}"#;
    let items = batch_records(body).unwrap();
    let e = from_json(items[0], &origin()).unwrap();
    assert_eq!((e.action.as_deref(), e.outcome), (Some("create"), Outcome::Success));
    assert_eq!((e.user_name.as_deref(), e.source_ip), (Some("makonis-admin"), ip("127.0.0.1")));
    assert!(e.mandatory().complete(), "{:?}", e.mandatory());
}

#[test]
fn kubernetes_audit_events_in_an_event_list() {
    let list = json!({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [{
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": "5b0a",
        "stage": "ResponseComplete", "requestURI": "/api/v1/namespaces/agency-lm/secrets/db", "verb": "get",
        "user": {"username": "anna@lm", "groups": ["lm-admins"]}, "sourceIPs": ["6.6.6.6", "10.1.1.1"], "userAgent": "kubectl/v1.37",
        "objectRef": {"resource": "secrets", "namespace": "agency-lm", "name": "db", "apiVersion": "v1"},
        "responseStatus": {"code": 403}, "requestReceivedTimestamp": "2026-12-06T08:20:30.000001Z"}]});
    let body = serde_json::to_vec(&list).unwrap();
    let items = batch_records(&body).unwrap();
    assert_eq!(items.len(), 1);
    let e = from_json(items[0], &origin()).unwrap();
    assert_eq!((e.action.as_deref(), e.outcome), (Some("get"), Outcome::Failure));
    assert_eq!((e.user_name.as_deref(), e.source_ip), (Some("anna@lm"), ip("10.1.1.1")));
    assert_eq!(e.message, "get secrets agency-lm/db → 403");
    assert!(e.mandatory().complete());
}

#[test]
fn a_request_body_is_cut_into_its_records_byte_for_byte() {
    let records = |body: &str| {
        batch_records(body.as_bytes())
            .map(|r| r.iter().map(|b| std::str::from_utf8(b).unwrap().to_owned()).collect::<Vec<_>>())
    };
    assert_eq!(records(r#"[ {"a": 1}, 2 ]"#), Ok(vec![r#"{"a": 1}"#.into(), "2".into()]));
    assert_eq!(
        records(r#"{"kind":"EventList","items":[{"auditID":"x",  "verb":"get"}]}"#),
        Ok(vec![r#"{"auditID":"x",  "verb":"get"}"#.into()])
    );
    assert_eq!(records(r#"{"kind": "Event", "items": 3}"#), Ok(vec![r#"{"kind": "Event", "items": 3}"#.into()]));
    assert_eq!(
        records("{\"EventID\": 4625}\r\n\n{\"EventID\": 4624, \"x\": \"é\"}\n{broken\n"),
        Ok(vec![r#"{"EventID": 4625}"#.into(), r#"{"EventID": 4624, "x": "é"}"#.into(), "{broken".into()])
    );
    assert_eq!(records("{broken\n{\"a\": 1}"), Ok(vec!["{broken".into(), r#"{"a": 1}"#.into()]));
    assert!(matches!(batch_records(b"not json"), Err(JsonError::Syntax(_))));
    assert!(matches!(batch_records(b"[1, 2"), Err(JsonError::Syntax(_))));
}

#[test]
fn ecs_records_nested_or_dotted_and_never_choose_their_source() {
    let record = json!({"@timestamp": "2026-12-06T08:00:00Z", "event": {"category": ["iam"], "action": "grant-role",
        "outcome": "success"}, "user.name": "anna", "source": {"ip": "10.0.0.9", "port": 443},
        "message": "granted approver", "makonis": {"agency": "other", "source": "forged"}});
    let e = from_json(record.to_string().as_bytes(), &origin()).unwrap();
    assert_eq!(
        (e.category, e.action.as_deref(), e.outcome),
        (Some(EventCategory::Iam), Some("grant-role"), Outcome::Success)
    );
    assert_eq!((e.user_name.as_deref(), e.source_ip, e.source_port), (Some("anna"), ip("10.0.0.9"), Some(443)));
    assert_eq!(
        (e.agency.as_deref(), e.source.as_str()),
        (Some("lm"), "agency-lm/servers"),
        "the LogSource decides, not the record"
    );
}

#[test]
fn json_errors_say_what_is_wrong() {
    assert_eq!(from_json(b"[1]", &origin()).unwrap_err(), JsonError::NotAnObject("an array"));
    assert_eq!(from_json(b"{\"a\":", &origin()).unwrap_err().category(), "json_syntax");
}

proptest! {
    #[test]
    fn any_json_object_never_panics(
        keys in proptest::collection::vec(
            prop_oneof![Just("type"), Just("Authentication"), Just("timestamp"), Just("EventID"), Just("winlog"),
                Just("apiVersion"), Just("kind"), Just("remoteAddress"), Just("IpAddress"), Just("sourceIPs"),
                Just("event"), Just("source.ip"), Just("@timestamp"), Just("objectRef"), Just("user")],
            0..8),
        values in proptest::collection::vec(
            prop_oneof![Just(json!("Authentication")), Just(json!({"remoteAddress": "ipv4:1.2.3.4:x"})),
                Just(json!("ipv6:::1")), Just(json!(["x"])), Just(json!(null)), Just(json!(99999999999i64)),
                Just(json!("audit.k8s.io/v1")), Just(json!("Event")), Just(json!({"event_data": 1})),
                Just(json!("2026-13-99T99:00:00+9999")), ".*".prop_map(|s| json!(s))],
            0..8),
    ) {
        let record: serde_json::Map<String, Value> =
            keys.iter().zip(values.iter()).map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        let _ = from_json(Value::Object(record).to_string().as_bytes(), &origin());
    }

    #[test]
    fn any_sshd_or_samba_text_never_panics(text in ".{0,200}") {
        let line = format!("<38>Dec  6 10:20:30 web1 sshd[1]: {text}");
        let _ = syslog(&line);
        let line = format!("<38>Dec  6 10:20:30 dc1 samba: {{\"timestamp\":\"x\",\"type\":\"groupChange\",\"groupChange\":{{\"remoteAddress\":\"{}\"}}}}", text.replace(['"', '\\'], ""));
        let _ = syslog(&line);
    }
}
