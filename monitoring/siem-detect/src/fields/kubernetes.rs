//! Kubernetes audit events (`audit.k8s.io/v1` `Event`) as fields: the event itself, read
//! by dotted paths (`verb`, `objectRef.resource`, `user.username`,
//! `responseStatus.code`); an array matches when any of its elements does.
//!
//! Logsource: `product: kubernetes`, `service: audit`; the event's time is
//! `requestReceivedTimestamp`.

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::{Logsource, Record};

/// Whether a JSON object is a Kubernetes audit event.
pub fn recognises(object: &Map<String, Value>) -> bool {
    object.get("kind").and_then(Value::as_str) == Some("Event")
        && object.get("apiVersion").and_then(Value::as_str).is_some_and(|v| v.starts_with("audit.k8s.io/"))
}

/// Builds the record of an audit event; one without a readable time takes `received`.
pub fn record(object: &Map<String, Value>, received: Timestamp) -> Record {
    let time = ["requestReceivedTimestamp", "stageTimestamp"]
        .iter()
        .find_map(|name| object.get(*name).and_then(Value::as_str).and_then(|t| t.parse::<Timestamp>().ok()))
        .unwrap_or(received);
    let logsource =
        Logsource { product: vec!["kubernetes".to_owned()], service: vec!["audit".to_owned()], category: Vec::new() };
    Record { time, fields: Value::Object(object.clone()), logsource }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn audit_events_keep_their_shape_and_time() {
        let event = json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "verb": "get",
                           "requestReceivedTimestamp": "2026-12-06T08:00:00.000001Z",
                           "objectRef": {"resource": "secrets"}});
        let object = event.as_object().unwrap();
        assert!(recognises(object));
        let record = record(object, Timestamp::UNIX_EPOCH);
        assert_eq!(record.time.to_string(), "2026-12-06T08:00:00.000001Z");
        assert_eq!(record.fields, event);
        assert!(!recognises(json!({"kind": "Event", "apiVersion": "v1"}).as_object().unwrap()));
    }
}
