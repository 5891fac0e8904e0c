//! Samba AD's JSON audit: `{"timestamp": …, "type": T, T: {…}}` for the types
//! `Authentication` and `Authorization` (`auth_json_audit`), `dsdbChange` and
//! `dsdbTransaction` (`dsdb_json_audit`), `passwordChange` (`dsdb_password_json_audit`)
//! and `groupChange` (`dsdb_group_json_audit`).
//!
//! Samba 4.17 writes each record as one line, the object after two spaces and no debug
//! header; older releases put `JSON <type>: ` before it ([`without_prefix`] takes it off). Addresses come as `ipv4:10.1.2.3:52100` or `ipv6:…:port`; times as
//! `2026-12-06T10:20:30.123456+0200`. A sign-in names the account as the client gave it
//! (`clientAccount`: a DN for an LDAP simple bind) and as Samba found it
//! (`mappedAccount`, the sAMAccountName), which is the one kept. The initiator of a
//! directory change is named only by its SID (`userSid`, kept as `user.id`); the object
//! changed is `user.target.name`.

use serde_json::{Map, Value};

use super::{port_field, text_field, time_field};
use crate::event::{Event, EventCategory, Outcome};

/// The text after the `JSON <type>: ` that older Samba releases wrote before each record
/// (after a debug header line of their own); any other text unchanged.
pub(super) fn without_prefix(text: &str) -> &str {
    text.strip_prefix("JSON ")
        .and_then(|rest| rest.split_once(": "))
        .filter(|(kind, record)| {
            !kind.is_empty() && kind.chars().all(|c| c.is_ascii_alphanumeric()) && record.starts_with('{')
        })
        .map_or(text, |(_, record)| record)
}

/// Whether a JSON object is a Samba audit record.
pub(super) fn recognises(record: &Map<String, Value>) -> bool {
    record.contains_key("timestamp")
        && record.get("type").and_then(Value::as_str).is_some_and(|t| record.get(t).is_some_and(Value::is_object))
}

/// Fills the event from a Samba audit record.
pub(super) fn apply(record: &Map<String, Value>, event: &mut Event) {
    let kind = record.get("type").and_then(Value::as_str).unwrap_or_default();
    let Some(body) = record.get(kind).and_then(Value::as_object) else {
        return;
    };
    if let Some(at) = time_field(record.get("timestamp")) {
        event.timestamp = at;
        event.time_from_record = true;
    }
    event.code = text_field(body.get("eventId"));
    if let Some((ip, port)) = body.get("remoteAddress").and_then(Value::as_str).and_then(address) {
        event.source_ip = Some(ip);
        event.source_port = port;
    }
    if let Some((ip, port)) = body.get("localAddress").and_then(Value::as_str).and_then(address) {
        event.destination_ip = Some(ip);
        event.destination_port = port;
    }
    event.user_id = text_field(body.get("userSid"));
    match kind {
        "Authentication" => {
            event.category = Some(EventCategory::Authentication);
            event.action = Some("logon".to_owned());
            event.outcome = status_outcome(body.get("status"));
            event.user_name = text_field(body.get("mappedAccount")).or_else(|| text_field(body.get("clientAccount")));
            event.user_domain = text_field(body.get("mappedDomain")).or_else(|| text_field(body.get("clientDomain")));
            event.user_id = text_field(body.get("becameSid")).or(event.user_id.take());
            event.network_protocol = protocol(body.get("serviceDescription"));
            event.message = describe(&[
                ("authentication", body.get("authDescription")),
                ("service", body.get("serviceDescription")),
                ("account", body.get("clientAccount")),
                ("status", body.get("status")),
                ("password type", body.get("passwordType")),
            ]);
        }
        "Authorization" => {
            event.category = Some(EventCategory::Authentication);
            event.action = Some("authorization".to_owned());
            event.outcome = Outcome::Success;
            event.user_name = text_field(body.get("account"));
            event.user_domain = text_field(body.get("domain"));
            event.user_id = text_field(body.get("sid")).or(event.user_id.take());
            event.network_protocol = protocol(body.get("serviceDescription"));
            event.message = describe(&[
                ("authorization", body.get("authType")),
                ("service", body.get("serviceDescription")),
                ("account", body.get("account")),
            ]);
        }
        "passwordChange" => {
            event.category = Some(EventCategory::Iam);
            event.action = Some(format!("password-{}", word(body.get("action"), "change")));
            event.outcome = code_outcome(body);
            event.target_user = text_field(body.get("dn"));
            event.message =
                describe(&[("password", body.get("action")), ("of", body.get("dn")), ("status", body.get("status"))]);
        }
        "groupChange" => {
            event.category = Some(EventCategory::Iam);
            let action = text_field(body.get("action"));
            event.action = Some(match action.as_deref() {
                Some("PrimaryGroup") => "primary-group-change".to_owned(),
                // Samba could not tell what changed: the change failed, or the group could
                // no longer be read afterwards (as when the group itself was deleted).
                Some("Failure") => "group-member-change".to_owned(),
                _ => format!("group-member-{}", word(body.get("action"), "change")),
            });
            event.outcome = match (action.as_deref(), code_outcome(body)) {
                (Some("Failure"), Outcome::Success) => Outcome::Unknown,
                (_, outcome) => outcome,
            };
            event.target_user = text_field(body.get("user"));
            event.message = describe(&[
                ("group membership", body.get("action")),
                ("member", body.get("user")),
                ("group", body.get("group")),
                ("status", body.get("status")),
            ]);
        }
        "dsdbChange" => {
            event.category = Some(EventCategory::Configuration);
            event.action = Some(format!("directory-{}", word(body.get("operation"), "change")));
            event.outcome = code_outcome(body);
            event.target_user = text_field(body.get("dn"));
            event.message = describe(&[
                ("directory", body.get("operation")),
                ("object", body.get("dn")),
                ("status", body.get("status")),
            ]);
        }
        _ => {
            event.category = Some(EventCategory::Configuration);
            event.action = Some(format!("directory-{}", word(body.get("action"), "transaction")));
            event.outcome = code_outcome(body);
            event.message = describe(&[("directory transaction", body.get("action")), ("status", body.get("status"))]);
        }
    }
    event.network_transport.get_or_insert_with(|| "tcp".to_owned());
}

/// `ipv4:10.1.2.3:52100`, `ipv6:fd00::1:389` or `ipv6:[fd00::1]:389`.
fn address(text: &str) -> Option<(std::net::IpAddr, Option<u16>)> {
    let rest = text.strip_prefix("ipv4:").or_else(|| text.strip_prefix("ipv6:"))?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) && !port.is_empty() => {
            (host, port_field(Some(&Value::String(port.to_owned()))))
        }
        _ => (rest, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => Some((ip.to_canonical(), port)),
        Err(_) => rest.parse::<std::net::IpAddr>().ok().map(|ip| (ip.to_canonical(), None)),
    }
}

/// The protocol a `serviceDescription` names, lower-case: `LDAP`, `LDAP Password Change`
/// → `ldap`; `Kerberos KDC` → `kerberos`.
fn protocol(service: Option<&Value>) -> Option<String> {
    text_field(service).and_then(|s| s.split_whitespace().next().map(str::to_lowercase))
}

/// `NT_STATUS_OK` is success, any other NT status a failure.
fn status_outcome(status: Option<&Value>) -> Outcome {
    match status.and_then(Value::as_str) {
        Some("NT_STATUS_OK") => Outcome::Success,
        Some(_) => Outcome::Failure,
        None => Outcome::Unknown,
    }
}

/// `statusCode` 0 is success (LDB_SUCCESS), anything else a failure.
fn code_outcome(body: &Map<String, Value>) -> Outcome {
    match body.get("statusCode").and_then(Value::as_i64) {
        Some(0) => Outcome::Success,
        Some(_) => Outcome::Failure,
        None => status_outcome(body.get("status")),
    }
}

/// A lower-case word for an action (`Reset` → `reset`), or the default.
fn word(value: Option<&Value>, default: &str) -> String {
    text_field(value).map(|s| s.to_lowercase().replace(' ', "-")).unwrap_or_else(|| default.to_owned())
}

/// `label: value` pairs of the fields present, as the event's description.
fn describe(parts: &[(&str, Option<&Value>)]) -> String {
    parts
        .iter()
        .filter_map(|(label, value)| text_field(*value).map(|v| format!("{label}: {v}")))
        .collect::<Vec<_>>()
        .join(", ")
}
