//! Fields a field manager owns but no longer wants.
//!
//! Server-side apply removes a field from an object when the manager that set it applies
//! again without it. Comparing values alone ([`crate::apply::object_covers`]) cannot see
//! that: a label dropped from a template is still on the live object, and the live object
//! still "has everything wanted". The manager's own entry of `metadata.managedFields`
//! (operation `Apply`, no subresource) says which fields it set last time; any of them
//! missing from the desired object means an apply is needed.
//!
//! The entry's `fieldsV1` is a tree of path elements: `f:<name>` (a field), `k:<json>` (the
//! list element whose key fields have these values), `v:<json>` (a set element), `i:<n>`
//! (a list index) and `.` (the element itself).

use serde_json::{Map, Value};

/// The first field that `manager` owns on `live` by server-side apply and that `want`
/// does not set any more, as a readable path (`metadata.labels.tier`). `None` when the
/// manager wants everything it owns, or has no entry (an object cached without its
/// `managedFields` reveals nothing).
pub fn unwanted_field(live: &Value, want: &Value, manager: &str) -> Option<String> {
    let entries = live.pointer("/metadata/managedFields")?.as_array()?;
    entries
        .iter()
        .filter(|entry| is_applied_by(entry, manager))
        .filter_map(|entry| entry.get("fieldsV1"))
        .find_map(|fields| first_unwanted(fields, want, ""))
}

/// Whether `entry` records the fields `manager` set with server-side apply on the main
/// resource (not a status apply, not an ordinary update).
fn is_applied_by(entry: &Value, manager: &str) -> bool {
    entry.get("manager").and_then(Value::as_str) == Some(manager)
        && entry.get("operation").and_then(Value::as_str) == Some("Apply")
        && entry.get("subresource").and_then(Value::as_str).is_none_or(str::is_empty)
}

/// The first member of the field set `fields` that `want` lacks. A `null` in `want`
/// counts as set: it is what was asked for, and it never makes an apply loop.
fn first_unwanted(fields: &Value, want: &Value, path: &str) -> Option<String> {
    if want.is_null() {
        return None;
    }
    let fields = fields.as_object()?;
    fields.iter().find_map(|(element, children)| {
        let (child, shown) = if let Some(name) = element.strip_prefix("f:") {
            (want.as_object().and_then(|object| object.get(name)), join(path, name))
        } else if let Some(key) = element.strip_prefix("k:") {
            let key: Map<String, Value> = serde_json::from_str(key).ok()?;
            (list(want).find(|item| matches_key(item, &key)), format!("{path}[{}]", describe_key(&key)))
        } else if let Some(value) = element.strip_prefix("v:") {
            let value: Value = serde_json::from_str(value).ok()?;
            (list(want).find(|item| same_scalar(item, &value)), format!("{path}[{value}]"))
        } else if let Some(index) = element.strip_prefix("i:") {
            let index: usize = index.parse().ok()?;
            (want.as_array().and_then(|items| items.get(index)), format!("{path}[{index}]"))
        } else {
            // `.` (the element itself, present if we got here) or a form this code does
            // not know: either way nothing to remove.
            return None;
        };
        match child {
            None => Some(shown),
            Some(child) => first_unwanted(children, child, &shown),
        }
    })
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_string() } else { format!("{path}.{name}") }
}

fn list(want: &Value) -> impl Iterator<Item = &Value> {
    want.as_array().into_iter().flatten()
}

/// Whether the list element `item` is the one keyed by `key`. A key field the element
/// leaves out matches: the API server fills defaults into keys (a Service port's
/// `protocol: TCP`) before recording them.
fn matches_key(item: &Value, key: &Map<String, Value>) -> bool {
    key.iter().all(|(field, value)| match item.get(field) {
        None | Some(Value::Null) => true,
        Some(have) => same_scalar(have, value),
    })
}

/// Scalars compare by their text, so that a port given as `"80"` matches `80`.
fn same_scalar(have: &Value, want: &Value) -> bool {
    have == want || scalar_text(have).is_some_and(|text| Some(text) == scalar_text(want))
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn describe_key(key: &Map<String, Value>) -> String {
    key.iter()
        .map(|(field, value)| format!("{field}={}", scalar_text(value).unwrap_or_else(|| value.to_string())))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ME: &str = "makonis-test";

    fn live(entries: Value) -> Value {
        json!({"metadata": {"name": "x", "managedFields": entries}})
    }

    fn applied(manager: &str, fields: Value) -> Value {
        json!({"manager": manager, "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": fields})
    }

    #[test]
    fn a_label_annotation_or_map_key_no_longer_wanted_is_found() {
        let owned = live(json!([applied(
            ME,
            json!({
                "f:metadata": {"f:labels": {"f:a": {}, "f:b": {}}, "f:annotations": {"f:note": {}}},
                "f:spec": {"f:hard": {"f:requests.cpu": {}, "f:pods": {}}}
            })
        )]));
        let everything = json!({
            "metadata": {"labels": {"a": "1", "b": "2"}, "annotations": {"note": "n"}},
            "spec": {"hard": {"requests.cpu": "1", "pods": "3"}}
        });
        assert_eq!(unwanted_field(&owned, &everything, ME), None);

        let mut no_label = everything.clone();
        no_label["metadata"]["labels"].as_object_mut().unwrap().remove("b");
        assert_eq!(unwanted_field(&owned, &no_label, ME).as_deref(), Some("metadata.labels.b"));

        let mut no_annotations = everything.clone();
        no_annotations["metadata"].as_object_mut().unwrap().remove("annotations");
        assert_eq!(unwanted_field(&owned, &no_annotations, ME).as_deref(), Some("metadata.annotations"));

        let mut no_pods = everything.clone();
        no_pods["spec"]["hard"].as_object_mut().unwrap().remove("pods");
        assert_eq!(unwanted_field(&owned, &no_pods, ME).as_deref(), Some("spec.hard.pods"));
    }

    #[test]
    fn fields_of_other_managers_updates_and_status_applies_are_not_ours_to_remove() {
        let fields = json!({"f:metadata": {"f:labels": {"f:extra": {}}}});
        let want = json!({"metadata": {"labels": {"a": "1"}}});
        let others = live(json!([
            applied("kubectl", fields.clone()),
            {"manager": ME, "operation": "Update", "fieldsV1": fields.clone()},
            {"manager": ME, "operation": "Apply", "subresource": "status", "fieldsV1": {"f:status": {"f:x": {}}}},
        ]));
        assert_eq!(unwanted_field(&others, &want, ME), None);
        assert_eq!(unwanted_field(&json!({"metadata": {}}), &want, ME), None, "no managedFields, nothing known");
    }

    #[test]
    fn keyed_list_elements_match_with_keys_defaulted_by_the_server() {
        let owned = live(json!([applied(
            ME,
            json!({"f:spec": {"f:ports": {
                "k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}, "f:targetPort": {}},
                "k:{\"port\":443,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}}
            }}})
        )]));
        let both = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": "443"}]}});
        assert_eq!(unwanted_field(&owned, &both, ME), None);
        let one = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}]}});
        assert_eq!(unwanted_field(&owned, &one, ME).as_deref(), Some("spec.ports[port=443,protocol=TCP]"));
        let no_target = json!({"spec": {"ports": [{"port": 80}, {"port": 443}]}});
        assert_eq!(
            unwanted_field(&owned, &no_target, ME).as_deref(),
            Some("spec.ports[port=80,protocol=TCP].targetPort")
        );
        let udp = json!({"spec": {"ports": [{"port": 80, "targetPort": 1, "protocol": "UDP"}, {"port": 443}]}});
        assert!(unwanted_field(&owned, &udp, ME).is_some(), "a key field given with another value is another element");
    }

    #[test]
    fn set_elements_indices_and_owner_references() {
        let owned = live(json!([applied(
            ME,
            json!({
                "f:metadata": {"f:finalizers": {"v:\"a\"": {}, "v:\"b\"": {}},
                               "f:ownerReferences": {"k:{\"uid\":\"u1\"}": {}}},
                "f:spec": {"f:args": {"i:1": {}}}
            })
        )]));
        let want = json!({
            "metadata": {"finalizers": ["b", "a"], "ownerReferences": [{"uid": "u1", "kind": "Agency"}]},
            "spec": {"args": ["x", "y"]}
        });
        assert_eq!(unwanted_field(&owned, &want, ME), None);
        let mut fewer = want.clone();
        fewer["metadata"]["finalizers"] = json!(["a"]);
        assert_eq!(unwanted_field(&owned, &fewer, ME).as_deref(), Some("metadata.finalizers[\"b\"]"));
        let mut other_owner = want.clone();
        other_owner["metadata"]["ownerReferences"] = json!([{"uid": "u2"}]);
        assert_eq!(unwanted_field(&owned, &other_owner, ME).as_deref(), Some("metadata.ownerReferences[uid=u1]"));
        let mut shorter = want.clone();
        shorter["spec"]["args"] = json!(["x"]);
        assert_eq!(unwanted_field(&owned, &shorter, ME).as_deref(), Some("spec.args[1]"));
    }

    #[test]
    fn atomic_fields_and_nulls_are_wanted_when_present() {
        let owned = live(json!([applied(ME, json!({"f:spec": {"f:selector": {}, "f:template": {"f:x": {}}}}))]));
        assert_eq!(unwanted_field(&owned, &json!({"spec": {"selector": {"a": "b"}, "template": null}}), ME), None);
        assert_eq!(
            unwanted_field(&owned, &json!({"spec": {"template": {"x": 1}}}), ME).as_deref(),
            Some("spec.selector")
        );
    }
}
