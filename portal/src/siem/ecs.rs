//! An audit row as an Elastic Common Schema record, the SIEM's event schema: pure.
//!
//! The same row always gives the same bytes (keys in a fixed order), so that a row sent
//! twice is recognised by the SIEM as one. The agency the action concerned goes in
//! `organization.id`: the SIEM files every record of the portal under the platform's
//! LogSource, whatever a record says.

use serde_json::{Value, json};

use crate::store::audit::AuditRecord;

/// The ECS record of `record`.
pub fn record(record: &AuditRecord) -> Value {
    let event = &record.event;
    let at = jiff::Timestamp::from_millisecond(event.at).map(|t| t.to_string()).unwrap_or_default();
    let mut message = format!("{} {}", event.action, event.object);
    if !event.detail.is_empty() {
        message.push_str(": ");
        message.push_str(&event.detail);
    }
    let mut ecs = json!({
        "@timestamp": at,
        "event": {
            "kind": "event",
            "category": [category(&event.action)],
            "action": event.action,
            "outcome": outcome(&event.outcome),
            "id": record.id,
            "sequence": record.seq,
            "provider": "makonis-portal",
        },
        "user": {"name": event.actor},
        "network": {"protocol": "https"},
        "message": message,
        "labels": {"session": event.session_id, "portal_outcome": event.outcome},
    });
    if !event.source_ip.is_empty() {
        ecs["source"] = json!({"ip": event.source_ip});
    }
    if !event.user_agent.is_empty() {
        ecs["user_agent"] = json!({"original": event.user_agent});
    }
    if let Some(agency) = &event.agency {
        ecs["organization"] = json!({"id": agency});
    }
    if let Some(hash) = &record.hash {
        ecs["labels"]["chain_hash"] = json!(hash);
    }
    ecs
}

/// The ECS category of a portal action.
fn category(action: &str) -> &'static str {
    if action.starts_with("sign_") || action.contains("login") {
        "authentication"
    } else if action.contains("token") {
        "iam"
    } else {
        "configuration"
    }
}

/// The ECS outcome of a portal outcome: refusals are failures, intents not yet known.
fn outcome(outcome: &str) -> &'static str {
    match outcome {
        "success" => "success",
        "denied" | "failure" => "failure",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::audit::AuditEvent;

    fn sign_in(outcome: &str) -> AuditRecord {
        AuditRecord {
            seq: Some(7),
            id: "a-1".into(),
            event: AuditEvent {
                at: 1_796_552_400_123,
                actor: "anna@lm".into(),
                agency: Some("lm".into()),
                action: "sign_in".into(),
                object: "session".into(),
                outcome: outcome.into(),
                source_ip: "10.1.2.3".into(),
                session_id: "s-abc".into(),
                user_agent: "Firefox/140".into(),
                detail: String::new(),
            },
            hash: Some("9f".into()),
        }
    }

    #[test]
    fn a_sign_in_carries_what_regulation_442_asks_for() {
        let ecs = record(&sign_in("denied"));
        assert_eq!(ecs["@timestamp"], "2026-12-06T10:20:00.123Z");
        assert_eq!(ecs["event"]["category"], json!(["authentication"]));
        assert_eq!((&ecs["event"]["action"], &ecs["event"]["outcome"]), (&json!("sign_in"), &json!("failure")));
        assert_eq!(ecs["user"]["name"], "anna@lm");
        assert_eq!(ecs["source"]["ip"], "10.1.2.3");
        assert_eq!(ecs["user_agent"]["original"], "Firefox/140");
        assert_eq!(ecs["organization"]["id"], "lm");
        assert_eq!(ecs["labels"]["portal_outcome"], "denied");
        assert_eq!(ecs["event"]["sequence"], 7);
    }

    #[test]
    fn the_same_row_gives_the_same_bytes() {
        let once = serde_json::to_vec(&record(&sign_in("success"))).unwrap();
        let again = serde_json::to_vec(&record(&sign_in("success"))).unwrap();
        assert_eq!(once, again);
        assert!(record(&sign_in("started"))["event"]["outcome"] == "unknown");
    }
}
