//! Checking a value against a parsed schema: every violation collected with its JSON pointer,
//! absent properties given their defaults, integers written as integers.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use super::format::Format;
use super::node::{ArrayRules, Kind, NumberRules, ObjectRules, SchemaNode, StringRules};
use super::{characters, values};
use crate::error::{FieldError, pointer_token};

/// Checks `value` (found at `path`) against `node`, appending violations to `errors`, and
/// returns the value with defaults filled in.
pub(super) fn check(node: &SchemaNode, value: &Value, path: &str, errors: &mut Vec<FieldError>) -> Value {
    let checked = match &node.kind {
        Kind::Object(rules) => object(rules, value, path, errors),
        Kind::String(rules) => string(rules, value, path, errors),
        Kind::Integer(rules) => number(rules, value, true, path, errors),
        Kind::Number(rules) => number(rules, value, false, path, errors),
        Kind::Boolean => value.is_boolean().then(|| value.clone()),
        Kind::Array(rules) => array(rules, value, path, errors),
    };
    let Some(checked) = checked else {
        let article = if matches!(node.kind, Kind::Object(_) | Kind::Integer(_) | Kind::Array(_)) { "an" } else { "a" };
        errors.push(FieldError::new(path, format!("must be {article} {}", node.kind.type_name())));
        return value.clone();
    };
    if let Some(allowed) = &node.enum_values
        && !allowed.iter().any(|allowed| values::same(allowed, value))
    {
        let allowed: Vec<String> = allowed.iter().map(values::display).collect();
        errors.push(FieldError::new(path, format!("must be one of: {}", allowed.join(", "))));
    }
    if let Some(constant) = &node.const_value
        && !values::same(constant, value)
    {
        errors.push(FieldError::new(path, format!("must be {}", values::display(constant))));
    }
    checked
}

fn object(rules: &ObjectRules, value: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<Value> {
    let given = value.as_object()?;
    let mut names: Vec<&String> = given.keys().chain(rules.properties.keys()).collect();
    names.sort();
    names.dedup();
    let mut checked = Map::new();
    let mut known = None;
    for name in names {
        let name_path = format!("{path}/{}", pointer_token(name));
        let Some(schema) = rules.properties.get(name) else {
            let known = known.get_or_insert_with(|| known_names(rules));
            errors.push(FieldError::new(name_path, format!("is not a known parameter ({known})")));
            continue;
        };
        match given.get(name).or(schema.default.as_ref()) {
            Some(child) => {
                checked.insert(name.clone(), check(schema, child, &name_path, errors));
            }
            None if rules.is_required(name) => errors.push(FieldError::new(name_path, "is required")),
            None => {}
        }
    }
    Some(Value::Object(checked))
}

/// The declared property names, for the message on an unknown parameter.
fn known_names(rules: &ObjectRules) -> String {
    if rules.properties.is_empty() {
        "none are defined".to_owned()
    } else {
        format!("known: {}", rules.properties.keys().map(String::as_str).collect::<Vec<_>>().join(", "))
    }
}

fn string(rules: &StringRules, value: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<Value> {
    let text = value.as_str()?;
    let mut fail = |message: String| errors.push(FieldError::new(path, message));
    if let Some(reason) = text.chars().find_map(|c| characters::forbidden(c, rules.multiline)) {
        fail(reason);
    }
    let length = u64::try_from(text.chars().count()).unwrap_or(u64::MAX);
    if let Some(min) = rules.min_length
        && length < min
    {
        fail(format!("must be at least {min} {} long", plural(min, "character")));
    }
    if let Some(max) = rules.max_length
        && length > max
    {
        fail(format!("must be at most {max} {} long", plural(max, "character")));
    }
    if let Some(pattern) = &rules.pattern
        && !pattern.is_match(text)
    {
        fail(format!("must match the pattern {}", pattern.as_str()));
    }
    if let Some(format) = rules.format
        && !format.accepts(text)
    {
        fail(format.message().to_owned());
    }
    if rules.instance && !Format::DnsLabel.accepts(text) {
        fail("must name an instance of the agency (a DNS label)".to_owned());
    }
    Some(value.clone())
}

fn number(
    rules: &NumberRules,
    value: &Value,
    integer: bool,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Value> {
    let given = value.as_number()?;
    let number = if integer { values::integral(given)? } else { given.clone() };
    let bounds: [(&Option<Number>, &[Ordering], &str); 4] = [
        (&rules.minimum, &[Ordering::Less], "must be at least"),
        (&rules.maximum, &[Ordering::Greater], "must be at most"),
        (&rules.exclusive_minimum, &[Ordering::Less, Ordering::Equal], "must be greater than"),
        (&rules.exclusive_maximum, &[Ordering::Greater, Ordering::Equal], "must be less than"),
    ];
    for (bound, refused, rule) in bounds {
        if let Some(bound) = bound
            && refused.contains(&values::compare(&number, bound))
        {
            errors.push(FieldError::new(path, format!("{rule} {bound}")));
        }
    }
    if let Some(step) = &rules.multiple_of
        && !values::is_multiple_of(&number, step)
    {
        errors.push(FieldError::new(path, format!("must be a multiple of {step}")));
    }
    Some(Value::Number(number))
}

fn array(rules: &ArrayRules, value: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<Value> {
    let items = value.as_array()?;
    let count = u64::try_from(items.len()).unwrap_or(u64::MAX);
    if let Some(min) = rules.min_items
        && count < min
    {
        errors.push(FieldError::new(path, format!("must have at least {min} {}", plural(min, "item"))));
    }
    if let Some(max) = rules.max_items
        && count > max
    {
        errors.push(FieldError::new(path, format!("must have at most {max} {}", plural(max, "item"))));
    }
    if rules.unique_items {
        for (earlier, later) in values::duplicates(items) {
            errors.push(FieldError::new(path, format!("items must be unique (items {earlier} and {later} are equal)")));
        }
    }
    let checked =
        items.iter().enumerate().map(|(index, item)| check(&rules.items, item, &format!("{path}/{index}"), errors));
    Some(Value::Array(checked.collect()))
}

fn plural(count: u64, word: &str) -> String {
    if count == 1 { word.to_owned() } else { format!("{word}s") }
}
