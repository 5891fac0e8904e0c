//! Records already in Elastic Common Schema (the portal's audit trail, or any shipper
//! that writes ECS), nested (`{"source": {"ip": …}}`) or dotted (`{"source.ip": …}`).
//! A JSON object of no known shape keeps its `message` (or the text it came in) and its
//! original.

use serde_json::{Map, Value};

use super::{ip_field, port_field, text_field, time_field};
use crate::event::{Event, EventCategory, Outcome};

/// Fills the event from the ECS fields a record has.
pub(super) fn apply(record: &Map<String, Value>, event: &mut Event) {
    let get = |path: &str| -> Option<&Value> {
        record.get(path).or_else(|| {
            let mut parts = path.split('.');
            let mut value = record.get(parts.next()?)?;
            for part in parts {
                value = value.get(part)?;
            }
            Some(value)
        })
    };
    if let Some(at) = time_field(get("@timestamp")) {
        event.timestamp = at;
        event.time_from_record = true;
    }
    event.category = match get("event.category") {
        Some(Value::Array(values)) => values.iter().filter_map(Value::as_str).find_map(EventCategory::parse),
        Some(Value::String(value)) => EventCategory::parse(value),
        _ => None,
    };
    event.action = text_field(get("event.action"));
    event.outcome = text_field(get("event.outcome")).map(|o| Outcome::parse(&o)).unwrap_or_default();
    event.code = text_field(get("event.code"));
    event.source_ip = ip_field(get("source.ip"));
    event.source_port = port_field(get("source.port"));
    event.destination_ip = ip_field(get("destination.ip"));
    event.destination_port = port_field(get("destination.port"));
    event.network_transport = text_field(get("network.transport"));
    event.network_protocol = text_field(get("network.protocol"));
    event.url_path = text_field(get("url.path"));
    event.user_agent = text_field(get("user_agent.original"));
    event.user_name = text_field(get("user.name"));
    event.user_id = text_field(get("user.id"));
    event.user_domain = text_field(get("user.domain"));
    event.target_user = text_field(get("user.target.name"));
    event.host_name = text_field(get("host.name"));
    event.process_name = text_field(get("process.name"));
    event.process_pid = get("process.pid").and_then(Value::as_u64).and_then(|p| u32::try_from(p).ok());
    if let Some(message) = text_field(get("message")) {
        event.message = message;
    }
}
