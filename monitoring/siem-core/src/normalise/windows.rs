//! Windows Security events as JSON lines, in the shapes NXLog (`im_msvistalog`, flat:
//! `EventID`, `TargetUserName`, `IpAddress`, …) and Winlogbeat (`winlog.event_id`,
//! `winlog.event_data.*`) send.
//!
//! For sign-in events the account signing in (`TargetUserName`) is the initiator; for
//! account and group management the acting account (`SubjectUserName`) is, and
//! `TargetUserName` is whom it was done to.

use serde_json::{Map, Value};

use super::{ip_field, port_field, text_field, time_field};
use crate::event::{Event, EventCategory, Outcome};

/// Whether a JSON object is a Windows event.
pub(super) fn recognises(record: &Map<String, Value>) -> bool {
    record.contains_key("EventID") || record.get("winlog").is_some_and(Value::is_object)
}

/// Fills the event from a Windows event.
pub(super) fn apply(record: &Map<String, Value>, event: &mut Event) {
    let winlog = record.get("winlog").and_then(Value::as_object);
    let data = winlog.and_then(|w| w.get("event_data")).and_then(Value::as_object).unwrap_or(record);
    let id = text_field(record.get("EventID")).or_else(|| text_field(winlog.and_then(|w| w.get("event_id"))));
    let number = id.as_deref().and_then(|id| id.parse::<u32>().ok()).unwrap_or(0);
    let time = time_field(record.get("@timestamp"))
        .or_else(|| time_field(record.get("EventTime")))
        .or_else(|| time_field(record.get("TimeCreated")));
    if let Some(at) = time {
        event.timestamp = at;
        event.time_from_record = true;
    }
    event.code = id;
    event.host_name = text_field(record.get("Hostname"))
        .or_else(|| text_field(record.get("Computer")))
        .or_else(|| text_field(winlog.and_then(|w| w.get("computer_name"))));
    event.source_ip = ip_field(data.get("IpAddress"));
    event.source_port = port_field(data.get("IpPort")).filter(|p| *p != 0);
    event.process_name = text_field(data.get("ProcessName"));
    let (category, action, signs_in) = meaning(number);
    event.category = Some(category);
    event.action = Some(action.to_owned());
    let subject = text_field(data.get("SubjectUserName"));
    let target = text_field(data.get("TargetUserName"));
    if signs_in {
        event.user_name = target;
        event.user_domain = text_field(data.get("TargetDomainName"));
    } else {
        event.user_name = subject;
        event.user_domain = text_field(data.get("SubjectDomainName"));
        event.target_user = target;
    }
    event.user_id = text_field(data.get(if signs_in { "TargetUserSid" } else { "SubjectUserSid" }));
    event.outcome = outcome(record, winlog, number);
    if let Some(logon_type) = text_field(data.get("LogonType")) {
        event.network_protocol = Some(
            match logon_type.as_str() {
                "3" => "network",
                "10" => "rdp",
                "2" => "interactive",
                _ => "windows-logon",
            }
            .to_owned(),
        );
    }
    event.message = text_field(record.get("Message"))
        .or_else(|| text_field(record.get("message")))
        .unwrap_or_else(|| format!("Windows event {number}: {action}"));
}

/// ECS category, action and whether the target account is the one signing in.
fn meaning(id: u32) -> (EventCategory, &'static str, bool) {
    match id {
        4624 => (EventCategory::Authentication, "logged-in", true),
        4625 => (EventCategory::Authentication, "logon-failed", true),
        4634 | 4647 => (EventCategory::Session, "logged-out", true),
        4648 => (EventCategory::Authentication, "logged-in-explicit", false),
        4740 => (EventCategory::Iam, "locked-out", false),
        4767 => (EventCategory::Iam, "unlocked", false),
        4768 => (EventCategory::Authentication, "kerberos-ticket-requested", true),
        4769 => (EventCategory::Authentication, "kerberos-service-ticket-requested", true),
        4771 => (EventCategory::Authentication, "kerberos-preauth-failed", true),
        4776 => (EventCategory::Authentication, "credential-validated", true),
        4720 => (EventCategory::Iam, "added-user-account", false),
        4722 => (EventCategory::Iam, "enabled-user-account", false),
        4723 => (EventCategory::Iam, "changed-password", false),
        4724 => (EventCategory::Iam, "reset-password", false),
        4725 => (EventCategory::Iam, "disabled-user-account", false),
        4726 => (EventCategory::Iam, "deleted-user-account", false),
        4728 | 4732 | 4756 => (EventCategory::Iam, "added-member-to-group", false),
        4729 | 4733 | 4757 => (EventCategory::Iam, "removed-member-from-group", false),
        4719 => (EventCategory::Configuration, "changed-audit-policy", false),
        1102 => (EventCategory::Configuration, "audit-log-cleared", false),
        _ => (EventCategory::Host, "windows-event", false),
    }
}

/// Audit failure (NXLog's `EventType`, Winlogbeat's `keywords`), or a failing event id.
fn outcome(record: &Map<String, Value>, winlog: Option<&Map<String, Value>>, id: u32) -> Outcome {
    let keywords = winlog.and_then(|w| w.get("keywords")).and_then(Value::as_array);
    let says = |needle: &str| {
        record.get("EventType").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(needle))
            || keywords.is_some_and(|k| k.iter().any(|k| k.as_str().is_some_and(|k| k.eq_ignore_ascii_case(needle))))
    };
    if says("AUDIT_FAILURE") || says("Audit Failure") || matches!(id, 4625 | 4771) {
        Outcome::Failure
    } else if says("AUDIT_SUCCESS") || says("Audit Success") {
        Outcome::Success
    } else {
        Outcome::Unknown
    }
}
