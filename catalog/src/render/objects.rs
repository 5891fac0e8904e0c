//! From rendered template text to checked Kubernetes objects.

use serde::Deserialize;
use serde_json::Value;

use super::kinds::{AllowedKind, allowed_kind, allowed_kinds_list};

/// One object an instance creates, as rendered by one template.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedObject {
    /// Name of the template that rendered it.
    pub template: String,
    /// Its kind, one of [`ALLOWED_KINDS`](super::ALLOWED_KINDS).
    pub kind: &'static AllowedKind,
    /// Its name.
    pub name: String,
    /// The object, with the controller's labels and the instance's namespace set.
    pub object: Value,
}

/// The YAML documents of a rendered template, empty ones skipped. Errors are messages
/// without a path (the caller knows which template it rendered).
pub fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    let mut documents = Vec::new();
    for (index, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(document)
            .map_err(|e| format!("document {} is not valid YAML after rendering: {e}", index + 1))?;
        if !value.is_null() {
            documents.push(value);
        }
    }
    Ok(documents)
}

/// Checks the objects of a template: an allowed kind, a name that is the instance's or
/// starts with `<instance>-`, and no namespace other than the instance's. Errors are
/// messages without a path (the caller knows which template it rendered).
pub fn check_objects(
    template: &str,
    documents: Vec<Value>,
    instance: &str,
    namespace: &str,
    labels: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<RenderedObject>, String> {
    documents
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            check_object(template, value, instance, namespace, labels)
                .map_err(|message| format!("document {}: {message}", index + 1))
        })
        .collect()
}

fn check_object(
    template: &str,
    mut object: Value,
    instance: &str,
    namespace: &str,
    labels: &std::collections::BTreeMap<String, String>,
) -> Result<RenderedObject, String> {
    let text = |field: &str| object.get(field).and_then(Value::as_str).map(str::to_owned);
    let (Some(api_version), Some(kind_name)) = (text("apiVersion"), text("kind")) else {
        return Err("every object needs apiVersion and kind".into());
    };
    let kind = allowed_kind(&api_version, &kind_name).ok_or_else(|| {
        format!("{api_version} {kind_name} is not a kind catalog items may create (allowed: {})", allowed_kinds_list())
    })?;
    let metadata = object
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| format!("{kind_name} has no metadata"))?;
    let name = metadata.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
    if name != instance && !name.starts_with(&format!("{instance}-")) {
        return Err(format!(
            "{kind_name} `{name}`: names must be the instance's name or start with `{instance}-` (use {{{{ instance.name }}}})"
        ));
    }
    match metadata.get("namespace").and_then(Value::as_str) {
        Some(other) if other != namespace => {
            return Err(format!(
                "{kind_name} `{name}` sets namespace `{other}`: resources go in the instance's namespace"
            ));
        }
        _ => {}
    }
    metadata.insert("namespace".into(), Value::String(namespace.into()));
    let object_labels = metadata.entry("labels").or_insert_with(|| Value::Object(Default::default()));
    let Some(object_labels) = object_labels.as_object_mut() else {
        return Err(format!("{kind_name} `{name}`: metadata.labels must be a map"));
    };
    for (key, value) in labels {
        object_labels.insert(key.clone(), Value::String(value.clone()));
    }
    Ok(RenderedObject { template: template.to_string(), kind, name, object })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn labels() -> BTreeMap<String, String> {
        BTreeMap::from([("makonis.lv/instance".to_string(), "web".to_string())])
    }

    #[test]
    fn documents_become_labelled_objects_in_the_namespace() {
        let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n---\n\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n  labels: {a: b}\n";
        let objects = check_objects("svc", parse_documents(text).unwrap(), "web", "agency-vdi", &labels()).unwrap();
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[1].name, "web-config");
        assert_eq!(objects[1].object["metadata"]["namespace"], "agency-vdi");
        assert_eq!(objects[1].object["metadata"]["labels"]["a"], "b");
        assert_eq!(objects[1].object["metadata"]["labels"]["makonis.lv/instance"], "web");
    }

    #[test]
    fn foreign_kinds_names_and_namespaces_are_refused() {
        let refuse = |text: &str| {
            parse_documents(text).and_then(|d| check_objects("t", d, "web", "agency-vdi", &labels())).unwrap_err()
        };
        assert!(refuse("apiVersion: v1\nkind: Secret\nmetadata: {name: web}").contains("v1 Secret is not a kind"));
        assert!(refuse("apiVersion: v1\nkind: Service\nmetadata: {name: other}").contains("start with `web-`"));
        assert!(
            refuse("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: kube-system}")
                .contains("sets namespace `kube-system`")
        );
        assert!(refuse("kind: Service").contains("needs apiVersion and kind"));
        assert!(refuse("a: [").contains("document 1 is not valid YAML"));
    }
}
