//! Kubernetes audit events (`audit.k8s.io/v1`, `kind: Event`), as the API server's audit
//! webhook backend posts them (inside an `EventList`).

use serde_json::{Map, Value};

use super::{ip_field, text_field, time_field};
use crate::event::{Event, EventCategory, Outcome};

/// Whether a JSON object is a Kubernetes audit event.
///
/// By `kind` and `apiVersion` when it has them; the items of the `EventList` the API
/// server's audit webhook posts carry neither, so also by the fields only an audit event
/// has together (`auditID`, `stage`, `verb`, `requestURI`).
pub(super) fn recognises(record: &Map<String, Value>) -> bool {
    let text = |key: &str| record.get(key).and_then(Value::as_str);
    let declared = text("apiVersion").is_some_and(|v| v.starts_with("audit.k8s.io/")) && text("kind") == Some("Event");
    declared || ["auditID", "stage", "verb", "requestURI"].iter().all(|key| text(key).is_some())
}

/// Fills the event from an audit event.
pub(super) fn apply(record: &Map<String, Value>, event: &mut Event) {
    let time = time_field(record.get("requestReceivedTimestamp")).or_else(|| time_field(record.get("stageTimestamp")));
    if let Some(at) = time {
        event.timestamp = at;
        event.time_from_record = true;
    }
    let verb = text_field(record.get("verb")).unwrap_or_else(|| "request".to_owned());
    let object = record.get("objectRef").and_then(Value::as_object);
    let field = |name: &str| text_field(object.and_then(|o| o.get(name)));
    let resource = match (field("resource"), field("subresource")) {
        (Some(r), Some(s)) => Some(format!("{r}/{s}")),
        (r, _) => r,
    };
    event.action = Some(verb.clone());
    event.category = Some(match (verb.as_str(), resource.as_deref()) {
        (_, Some(r)) if r.starts_with("tokenreviews") || r.starts_with("subjectaccessreviews") => {
            EventCategory::Authentication
        }
        (_, Some(r)) if r.starts_with("roles") || r.starts_with("rolebindings") || r.starts_with("clusterrole") => {
            EventCategory::Iam
        }
        ("get" | "list" | "watch", _) => EventCategory::Web,
        _ => EventCategory::Configuration,
    });
    let user = record.get("user").and_then(Value::as_object);
    event.user_name = text_field(user.and_then(|u| u.get("username")));
    event.user_id = text_field(user.and_then(|u| u.get("uid")));
    let impersonated = record.get("impersonatedUser").and_then(Value::as_object);
    event.target_user = text_field(impersonated.and_then(|u| u.get("username")));
    // sourceIPs lists X-Forwarded-For, then X-Real-Ip, then the connection's address:
    // only the last is not the client's to write.
    event.source_ip = ip_field(record.get("sourceIPs").and_then(Value::as_array).and_then(|ips| ips.last()));
    event.url_path = text_field(record.get("requestURI"));
    event.user_agent = text_field(record.get("userAgent"));
    event.network_protocol = Some("https".to_owned());
    event.network_transport = Some("tcp".to_owned());
    event.code = text_field(record.get("auditID"));
    let code = record.get("responseStatus").and_then(|s| s.get("code")).and_then(Value::as_u64);
    event.outcome = match code {
        Some(c) if c < 400 => Outcome::Success,
        Some(_) => Outcome::Failure,
        None => Outcome::Unknown,
    };
    let target = [field("namespace"), field("name")].into_iter().flatten().collect::<Vec<_>>().join("/");
    event.message = format!(
        "{verb} {}{}{}",
        resource.as_deref().unwrap_or_else(|| event.url_path.as_deref().unwrap_or("")),
        if target.is_empty() { String::new() } else { format!(" {target}") },
        code.map(|c| format!(" → {c}")).unwrap_or_default(),
    );
}
