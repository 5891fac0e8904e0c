//! JSON values as JSON Schema sees them: numbers compared by value (`1` equals `1.0`),
//! exact decimal multiples, and a canonical text for equality of whole values.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt::Write;

use serde_json::{Number, Value};

/// Compares two numbers by value: exactly when both are integers, as `f64` otherwise.
pub(super) fn compare(a: &Number, b: &Number) -> Ordering {
    match (exact(a), exact(b)) {
        (Some(a), Some(b)) => a.cmp(&b),
        _ => {
            let (a, b) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN));
            a.partial_cmp(&b).unwrap_or(Ordering::Equal)
        }
    }
}

fn exact(n: &Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

/// The number as a JSON integer if it has no fractional part (`3.0` becomes `3`).
pub(super) fn integral(n: &Number) -> Option<Number> {
    if n.is_i64() || n.is_u64() {
        return Some(n.clone());
    }
    let f = n.as_f64()?;
    if f.fract() != 0.0 {
        None
    } else if (-(2f64.powi(63))..2f64.powi(63)).contains(&f) {
        Some(Number::from(f as i64))
    } else if (0.0..2f64.powi(64)).contains(&f) {
        Some(Number::from(f as u64))
    } else {
        None
    }
}

/// Whether `value` is an integer multiple of `step` (> 0), computed in decimal so that
/// `0.3` is a multiple of `0.1`; falls back to `f64` for numbers beyond 128-bit precision.
pub(super) fn is_multiple_of(value: &Number, step: &Number) -> bool {
    let (Some((a, a_exponent)), Some((b, b_exponent))) = (decimal(value), decimal(step)) else {
        return float_multiple(value, step);
    };
    let exponent = a_exponent.min(b_exponent);
    let scale = |digits: u128, from: i32| 10u128.checked_pow((from - exponent).unsigned_abs())?.checked_mul(digits);
    match (scale(a, a_exponent), scale(b, b_exponent)) {
        (Some(a), Some(b)) if b != 0 => a % b == 0,
        _ => float_multiple(value, step),
    }
}

fn float_multiple(value: &Number, step: &Number) -> bool {
    match (value.as_f64(), step.as_f64()) {
        (Some(value), Some(step)) => (value / step).fract() == 0.0,
        _ => false,
    }
}

/// The magnitude of `n` as `digits × 10^exponent`, read from its shortest decimal text.
fn decimal(n: &Number) -> Option<(u128, i32)> {
    let text = n.to_string();
    let text = text.trim_start_matches('-');
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}").parse::<u128>().ok()?;
    Some((digits, exponent.checked_sub(i32::try_from(fraction.len()).ok()?)?))
}

/// Whether two values are equal as JSON Schema defines it (numbers by value).
pub(super) fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => compare(a, b) == Ordering::Equal,
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b)),
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(key, a)| b.get(key).is_some_and(|b| same(a, b)))
        }
        _ => a == b,
    }
}

/// Every value equal to an earlier one, as `(earlier, later)` indices, in linear time.
pub(super) fn duplicates(items: &[Value]) -> Vec<(usize, usize)> {
    let mut seen = HashMap::new();
    let mut found = Vec::new();
    for (later, item) in items.iter().enumerate() {
        match seen.entry(canonical(item)) {
            Entry::Occupied(earlier) => found.push((*earlier.get(), later)),
            Entry::Vacant(slot) => {
                slot.insert(later);
            }
        }
    }
    found
}

/// A text that two values share exactly when they are equal: keys sorted, integral numbers
/// written as integers.
fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Number(n) => {
            let _ = write!(out, "{}", integral(n).unwrap_or_else(|| n.clone()));
        }
        Value::Array(items) => {
            out.push('[');
            for item in items {
                write_canonical(item, out);
                out.push(',');
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for key in keys {
                let _ = write!(out, "{}:", Value::String(key.clone()));
                write_canonical(&map[key], out);
                out.push(',');
            }
            out.push('}');
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// A value as a message shows it: strings bare, everything else as JSON.
pub(super) fn display(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn number(value: Value) -> Number {
        value.as_number().cloned().expect("a number")
    }

    #[test]
    fn numbers_compare_by_value() {
        assert_eq!(compare(&number(json!(1)), &number(json!(1.0))), Ordering::Equal);
        assert_eq!(compare(&number(json!(-1)), &number(json!(u64::MAX))), Ordering::Less);
        assert_eq!(compare(&number(json!(2.5)), &number(json!(2))), Ordering::Greater);
        assert_eq!(compare(&number(json!(i64::MAX)), &number(json!(i64::MAX - 1))), Ordering::Greater);
    }

    #[test]
    fn integral_numbers() {
        assert_eq!(integral(&number(json!(3.0))), Some(Number::from(3)));
        assert_eq!(integral(&number(json!(-3.0))), Some(Number::from(-3)));
        assert_eq!(integral(&number(json!(1e19))), Some(Number::from(10_000_000_000_000_000_000u64)));
        assert_eq!(integral(&number(json!(3.5))), None);
        assert_eq!(integral(&number(json!(1e300))), None);
    }

    #[test]
    fn multiples_are_exact() {
        let multiple = |a: Value, b: Value| is_multiple_of(&number(a), &number(b));
        assert!(multiple(json!(0.3), json!(0.1)));
        assert!(multiple(json!(10), json!(5)));
        assert!(multiple(json!(-10), json!(2.5)));
        assert!(multiple(json!(1e-7), json!(1e-8)));
        assert!(!multiple(json!(0.35), json!(0.1)));
        assert!(!multiple(json!(7), json!(5)));
        assert!(multiple(json!(1e300), json!(1)));
        assert!(!multiple(json!(1e-300), json!(1)));
    }

    #[test]
    fn equality_by_value() {
        assert!(same(&json!({"a": [1, 2.0], "b": "x"}), &json!({"b": "x", "a": [1.0, 2]})));
        assert!(!same(&json!([1, 2]), &json!([2, 1])));
        assert!(!same(&json!("1"), &json!(1)));
        assert!(!same(&json!({"a": 1}), &json!({"a": 1, "b": null})));
        assert!(!same(&json!({"a": 1}), &json!({"b": 1})));
    }

    #[test]
    fn duplicates_are_found_by_value() {
        let items = [json!(1), json!("a"), json!(1.0), json!({"x": [2]}), json!({"x": [2.0]}), json!(1)];
        assert_eq!(duplicates(&items), [(0, 2), (3, 4), (0, 5)]);
        assert_eq!(duplicates(&[json!(1), json!("1"), json!([1])]), []);
    }

    #[test]
    fn display_shows_strings_bare() {
        assert_eq!(display(&json!("small")), "small");
        assert_eq!(display(&json!(1)), "1");
        assert_eq!(display(&json!({"a": true})), r#"{"a":true}"#);
    }
}
