//! Kubernetes audit events (`audit.k8s.io/v1` `Event`) as fields: the event itself, read
//! by dotted paths (`verb`, `objectRef.resource`, `user.username`,
//! `responseStatus.code`); an array matches when any of its elements does.
//!
//! Logsource: `product: kubernetes`, `service: audit`; the event's time is
//! `requestReceivedTimestamp`.

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::{Logsource, Record};

/// Whether a JSON object is a Kubernetes audit event: one with its type (as the log
/// backend writes each event), or one of an `EventList`'s items, which the API server's
/// audit webhook posts without a type of their own and which the SIEM stores as received.
pub fn recognises(object: &Map<String, Value>) -> bool {
    let typed = object.get("kind").and_then(Value::as_str) == Some("Event")
        && object.get("apiVersion").and_then(Value::as_str).is_some_and(|v| v.starts_with("audit.k8s.io/"));
    let item = !object.contains_key("kind")
        && ["auditID", "stage", "verb", "requestURI"].iter().all(|key| object.get(*key).is_some_and(Value::is_string));
    typed || item
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
    fn an_event_lists_items_are_audit_events_without_a_type_of_their_own() {
        let item = json!({"level": "Metadata", "auditID": "f0015b92", "stage": "ResponseComplete",
                          "requestURI": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", "verb": "create"});
        assert!(recognises(item.as_object().unwrap()));
        let other = json!({"kind": "Pod", "auditID": "x", "stage": "y", "requestURI": "/", "verb": "get"});
        assert!(!recognises(other.as_object().unwrap()), "a typed object of another kind");
        let partial = json!({"auditID": "x", "verb": "get"});
        assert!(!recognises(partial.as_object().unwrap()));
    }

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
