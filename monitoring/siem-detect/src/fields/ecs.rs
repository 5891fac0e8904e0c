//! Records already in Elastic Common Schema (the portal's audit trail, shippers that write
//! ECS), read by dotted paths (`event.action`, `user.name`, `source.ip`) whether nested or
//! dotted in the record.
//!
//! Logsource: the portal's records (`event.provider: makonis-portal`) are `product:
//! makonis`, `service: portal`; the SIEM's own (`makonis-siem`) `product: makonis`,
//! `service: siem`; others `product: ecs` and `service` their `event.provider`.

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::{Logsource, Record};

/// Whether a JSON object is an ECS record: `@timestamp` and an `event` object.
pub fn recognises(object: &Map<String, Value>) -> bool {
    object.contains_key("@timestamp") && object.get("event").is_some_and(Value::is_object)
}

/// Builds the record of an ECS record; one without a readable time takes `received`.
pub fn record(object: &Map<String, Value>, received: Timestamp) -> Record {
    let time = object.get("@timestamp").and_then(Value::as_str).and_then(|t| t.parse().ok()).unwrap_or(received);
    let provider = object.get("event").and_then(|e| e.get("provider")).and_then(Value::as_str).unwrap_or_default();
    let (product, service) = match provider.strip_prefix("makonis-") {
        Some(component) => ("makonis", component.to_lowercase()),
        None => ("ecs", provider.to_lowercase()),
    };
    let mut logsource = Logsource { product: vec![product.to_owned()], ..Logsource::default() };
    if !service.is_empty() {
        logsource.service.push(service);
    }
    Record { time, fields: Value::Object(object.clone()), logsource }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_portals_records_are_makonis_portal_and_others_ecs() {
        let portal =
            json!({"@timestamp": "2026-12-06T08:00:00Z", "event": {"provider": "makonis-portal", "action": "sign_in"}});
        let record = record(portal.as_object().unwrap(), Timestamp::UNIX_EPOCH);
        assert_eq!(
            (record.logsource.product.as_slice(), record.logsource.service.as_slice()),
            (&["makonis".to_owned()][..], &["portal".to_owned()][..])
        );
        assert_eq!(record.time.to_string(), "2026-12-06T08:00:00Z");
        let other = json!({"@timestamp": "x", "event": {}});
        assert!(recognises(other.as_object().unwrap()));
        assert_eq!(super::record(other.as_object().unwrap(), Timestamp::UNIX_EPOCH).logsource.product, ["ecs"]);
    }
}
