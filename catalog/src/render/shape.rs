//! Whether a rendering holds exactly what its template's own text declares.
//!
//! The skeleton of a template is what it renders, for the same context and so the same
//! branches and loops, with every value replaced by [`PLACEHOLDER`]. Its documents, kinds
//! and keys are the template author's alone. A real rendering must match it node for
//! node: the same number of documents, the same keys and list lengths and the same
//! literal text, with a value (of any shape) only where the skeleton holds the
//! placeholder and a scalar only where the skeleton holds text around it. A value that
//! became syntax would show up as a document, key, item or kind the skeleton lacks.

use serde_json::Value;

use super::engine::PLACEHOLDER;

/// Compares the documents of a rendering with those of its skeleton; the error says what
/// differs and where (document number and JSON pointer).
pub fn matches_skeleton(real: &[Value], skeleton: &[Value]) -> Result<(), String> {
    if real.len() != skeleton.len() {
        return Err(format!(
            "renders {} objects where its text declares {}: a value became YAML syntax",
            real.len(),
            skeleton.len()
        ));
    }
    for (index, (real, skeleton)) in real.iter().zip(skeleton).enumerate() {
        if let Some(kind) = skeleton.get("kind").and_then(Value::as_str).filter(|k| k.contains(PLACEHOLDER)) {
            return Err(format!(
                "document {}: the kind must be written in the template, not taken from a value ({kind})",
                index + 1
            ));
        }
        compare(real, skeleton, "")
            .map_err(|at| format!("document {}: {at} is not what the template declares there", index + 1))?;
    }
    Ok(())
}

/// The JSON pointer of the first node where `real` departs from `skeleton`.
fn compare(real: &Value, skeleton: &Value, path: &str) -> Result<(), String> {
    let here = || if path.is_empty() { "/".to_string() } else { path.to_string() };
    match skeleton {
        Value::String(text) if text == PLACEHOLDER => Ok(()),
        Value::String(text) if text.contains(PLACEHOLDER) => {
            if real.is_array() || real.is_object() {
                Err(here())
            } else {
                Ok(())
            }
        }
        Value::Object(declared) => {
            let Value::Object(rendered) = real else { return Err(here()) };
            if declared.keys().any(|key| key.contains(PLACEHOLDER)) {
                return Err(format!("{} (keys must be written in the template)", here()));
            }
            if let Some(extra) = rendered.keys().find(|key| !declared.contains_key(*key)) {
                return Err(format!("{path}/{}", crate::error::pointer_token(extra)));
            }
            for (key, value) in declared {
                let child = format!("{path}/{}", crate::error::pointer_token(key));
                compare(rendered.get(key).ok_or_else(|| child.clone())?, value, &child)?;
            }
            Ok(())
        }
        Value::Array(declared) => {
            let Value::Array(rendered) = real else { return Err(here()) };
            if rendered.len() != declared.len() {
                return Err(here());
            }
            for (index, (real, skeleton)) in rendered.iter().zip(declared).enumerate() {
                compare(real, skeleton, &format!("{path}/{index}"))?;
            }
            Ok(())
        }
        literal => {
            if real == literal {
                Ok(())
            } else {
                Err(here())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const P: &str = PLACEHOLDER;

    #[test]
    fn values_may_differ_only_where_the_template_put_them() {
        let skeleton = [json!({"kind": "Service", "metadata": {"name": format!("{P}-db")}, "spec": {"ports": P}})];
        let real = [json!({"kind": "Service", "metadata": {"name": "web-db"}, "spec": {"ports": [{"port": 80}]}})];
        assert_eq!(matches_skeleton(&real, &skeleton), Ok(()));
    }

    #[test]
    fn extra_documents_keys_items_and_kinds_are_named() {
        let skeleton = [json!({"kind": "Service", "spec": {"selector": {"app": P}, "ports": [P]}})];
        let two = [skeleton[0].clone(), json!({"kind": "Service"})];
        assert!(
            matches_skeleton(&two, &skeleton).unwrap_err().starts_with("renders 2 objects where its text declares 1")
        );
        let key =
            [json!({"kind": "Service", "spec": {"selector": {"app": "x"}, "ports": [1], "externalIPs": ["1.2.3.4"]}})];
        assert_eq!(
            matches_skeleton(&key, &skeleton).unwrap_err(),
            "document 1: /spec/externalIPs is not what the template declares there"
        );
        let item = [json!({"kind": "Service", "spec": {"selector": {"app": "x"}, "ports": [1, 2]}})];
        assert!(matches_skeleton(&item, &skeleton).unwrap_err().contains("/spec/ports is not"));
        let kind = [json!({"kind": "Pod", "spec": {"selector": {"app": "x"}, "ports": [1]}})];
        assert!(matches_skeleton(&kind, &skeleton).unwrap_err().contains("/kind is not"));
        let interpolated = [json!({"kind": P})];
        assert!(
            matches_skeleton(&interpolated, &interpolated).unwrap_err().contains("must be written in the template")
        );
    }

    #[test]
    fn text_around_a_value_holds_a_scalar_only() {
        let skeleton = [json!({"name": format!("{P}-x")})];
        assert!(matches_skeleton(&[json!({"name": "a-x"})], &skeleton).is_ok());
        assert!(matches_skeleton(&[json!({"name": {"a": 1}})], &skeleton).is_err());
    }
}
