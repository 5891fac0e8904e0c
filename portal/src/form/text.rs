//! Values as the form writes them and reads them back: a number as written, a list one
//! value per line, and submitted text turned into JSON numbers.

use serde_json::{Number, Value};

/// A value as a field shows it: strings bare, numbers as written, lists one item per line,
/// anything else as compact JSON.
pub(super) fn show(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join("\n"),
        other => other.to_string(),
    }
}

/// Reads a number typed by a person: surrounding spaces are ignored and a decimal comma, as
/// Latvian writes it, is read as a point.
pub(super) fn number(text: &str) -> Option<Number> {
    let text = text.trim();
    let text = if text.contains('.') { text.to_owned() } else { text.replacen(',', ".", 1) };
    serde_json::from_str::<Number>(&text).ok().or_else(|| {
        text.parse::<f64>().ok().filter(|_| text.bytes().any(|b| b.is_ascii_digit())).and_then(Number::from_f64)
    })
}

/// Reads an integer: a number without a fractional part (`3.0` is `3`).
pub(super) fn integer(text: &str) -> Option<Number> {
    let number = number(text)?;
    if number.is_i64() || number.is_u64() {
        return Some(number);
    }
    let value = number.as_f64()?;
    if value.fract() != 0.0 {
        None
    } else if (-(2f64.powi(63))..2f64.powi(63)).contains(&value) {
        Some(Number::from(value as i64))
    } else if (0.0..2f64.powi(64)).contains(&value) {
        Some(Number::from(value as u64))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_are_shown_as_written() {
        assert_eq!(show(&json!("a b")), "a b");
        assert_eq!(show(&json!(1.5)), "1.5");
        assert_eq!(show(&json!(true)), "true");
        assert_eq!(show(&json!(["10.0.0.0/8", 2])), "10.0.0.0/8\n2");
        assert_eq!(show(&json!({"a": 1})), r#"{"a":1}"#);
        assert_eq!(show(&Value::Null), "");
    }

    #[test]
    fn numbers_are_read_leniently() {
        assert_eq!(number(" 12 "), Some(Number::from(12)));
        assert_eq!(number("1,5").and_then(|n| n.as_f64()), Some(1.5));
        assert_eq!(number(".5").and_then(|n| n.as_f64()), Some(0.5));
        assert_eq!(number("-2e3").and_then(|n| n.as_f64()), Some(-2000.0));
        for bad in ["", "abc", "1,5.2", "1 000", "NaN", "inf", "0x10", "1,2,3"] {
            assert_eq!(number(bad), None, "{bad}");
        }
    }

    #[test]
    fn integers_have_no_fraction() {
        assert_eq!(integer("3.0"), Some(Number::from(3)));
        assert_eq!(integer("18446744073709551615"), Some(Number::from(u64::MAX)));
        assert_eq!(integer("-7"), Some(Number::from(-7)));
        assert_eq!(integer("2.5"), None);
        assert_eq!(integer("1e300"), None);
    }
}
