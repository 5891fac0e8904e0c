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
