//! The HTML constraints and the hints of a field, from its schema rules. Every attribute is
//! at most as strict as the schema, so a browser never refuses a value the server accepts,
//! with one exception: `maxlength` counts a character beyond the Basic Multilingual Plane
//! (an emoji) as two where the schema counts one.

use makonis_catalog::schema::{ArrayRules, Kind, NumberRules, SchemaNode, StringRules};
use serde_json::Number;

use super::field::Constraints;
use super::pattern::html_pattern;
use super::text;
use super::texts::{self, Bound, Unit};
use crate::i18n::Lang;

/// The constraints of a single-line or long text field.
pub(super) fn string(rules: &StringRules, lang: Lang) -> Constraints {
    Constraints {
        minlength: rules.min_length,
        maxlength: rules.max_length,
        pattern: rules.pattern.as_ref().and_then(|pattern| html_pattern(pattern.as_str())),
        hints: string_hints(rules, lang),
        ..Constraints::default()
    }
}

fn string_hints(rules: &StringRules, lang: Lang) -> Vec<String> {
    let length = texts::count(rules.min_length, rules.max_length, Unit::Character, lang);
    let format = rules.format.map(|format| texts::format(format, lang).to_owned());
    length.into_iter().chain(format).collect()
}

/// The constraints of a number field; `integer` for `type: integer`.
pub(super) fn number(rules: &NumberRules, integer: bool, lang: Lang) -> Constraints {
    let (min, max, step) = if integer { integer_attributes(rules) } else { number_attributes(rules) };
    Constraints { min, max, step: Some(step), hints: number_hints(rules, lang), ..Constraints::default() }
}

/// `min`, `max` and `step` of a number: exclusive bounds cannot be written in HTML.
fn number_attributes(rules: &NumberRules) -> (Option<String>, Option<String>, String) {
    let min = rules.minimum.as_ref().map(Number::to_string);
    let max = rules.maximum.as_ref().map(Number::to_string);
    let step = match (&rules.multiple_of, &rules.minimum) {
        (Some(step), Some(min)) if !is_multiple(min, step) => "any".to_owned(),
        (Some(step), _) => step.to_string(),
        (None, _) => "any".to_owned(),
    };
    (min, max, step)
}

/// `min`, `max` and `step` of an integer: bounds rounded inwards to integers (exclusive ones
/// moved by one), and `min` raised to a multiple of the step, since browsers count steps
/// from `min`.
fn integer_attributes(rules: &NumberRules) -> (Option<String>, Option<String>, String) {
    let lower = [(&rules.minimum, false), (&rules.exclusive_minimum, true)];
    let upper = [(&rules.maximum, false), (&rules.exclusive_maximum, true)];
    let bound = |(bound, exclusive): (&Option<Number>, bool), up| bound.as_ref().and_then(|n| whole(n, up, exclusive));
    let min = lower.into_iter().filter_map(|b| bound(b, true)).max();
    let max = upper.into_iter().filter_map(|b| bound(b, false)).min();
    let integral = |step: &&Number| step.as_f64().is_some_and(|step| step.fract() == 0.0);
    let step = rules.multiple_of.as_ref().filter(integral).and_then(|step| whole(step, true, false));
    let step = step.filter(|step| *step > 0).unwrap_or(1);
    let min = min.map(|min| min + (step - min.rem_euclid(step)) % step);
    (min.map(|n| n.to_string()), max.map(|n| n.to_string()), step.to_string())
}

/// The nearest integer at or above (`up`) or at or below `n`, strictly beyond it if
/// `exclusive`; `None` for numbers too large to matter.
fn whole(n: &Number, up: bool, exclusive: bool) -> Option<i128> {
    let exact = n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
    let (rounded, integral) = match exact {
        Some(exact) => (exact, true),
        None => {
            let value = n.as_f64().filter(|value| value.abs() < 1e30)?;
            let rounded = if up { value.ceil() } else { value.floor() };
            (rounded as i128, rounded == value)
        }
    };
    Some(match (exclusive && integral, up) {
        (false, _) => rounded,
        (true, true) => rounded + 1,
        (true, false) => rounded - 1,
    })
}

/// Whether `value` is a whole multiple of `step`, up to rounding; only for choosing `step`.
fn is_multiple(value: &Number, step: &Number) -> bool {
    match (value.as_f64(), step.as_f64()) {
        (Some(value), Some(step)) if step > 0.0 => {
            let quotient = value / step;
            (quotient - quotient.round()).abs() < 1e-9
        }
        _ => false,
    }
}

fn number_hints(rules: &NumberRules, lang: Lang) -> Vec<String> {
    let written = |bound: &Option<Number>| bound.as_ref().map(Number::to_string);
    let (minimum, maximum) = (written(&rules.minimum), written(&rules.maximum));
    let mut hints = Vec::new();
    match (&minimum, &maximum) {
        (Some(min), Some(max)) => hints.push(texts::range(min, max, lang)),
        _ => {
            hints.extend(minimum.as_deref().map(|n| texts::bound(Bound::AtLeast(n), lang)));
            hints.extend(maximum.as_deref().map(|n| texts::bound(Bound::AtMost(n), lang)));
        }
    }
    hints.extend(written(&rules.exclusive_minimum).map(|n| texts::bound(Bound::Above(&n), lang)));
    hints.extend(written(&rules.exclusive_maximum).map(|n| texts::bound(Bound::Below(&n), lang)));
    hints.extend(written(&rules.multiple_of).map(|n| texts::multiple_of(&n, lang)));
    hints
}

/// The constraints of a list written one value per line: its counts and each value's rules.
pub(super) fn lines(rules: &ArrayRules, lang: Lang) -> Constraints {
    let mut hints = vec![texts::one_per_line(lang).to_owned()];
    hints.extend(list_hints(rules, Unit::Value, lang));
    let items = &rules.items;
    if let Some(allowed) = &items.enum_values {
        hints.push(texts::one_of(&allowed.iter().map(text::show).collect::<Vec<_>>().join(", "), lang));
    }
    let each = match &items.kind {
        Kind::String(rules) => string_hints(rules, lang),
        Kind::Integer(rules) | Kind::Number(rules) => number_hints(rules, lang),
        _ => Vec::new(),
    };
    hints.extend(each.iter().map(|hint| texts::each_value(hint, lang)));
    Constraints { hints, ..Constraints::default() }
}

/// The constraints of a checkbox group: how many to tick.
pub(super) fn choices(rules: &ArrayRules, lang: Lang) -> Constraints {
    Constraints {
        hints: texts::count(rules.min_items, rules.max_items, Unit::Value, lang).into_iter().collect(),
        ..Constraints::default()
    }
}

/// The constraints of a list of groups: its counts and how to add and remove items.
pub(super) fn list(rules: &ArrayRules, lang: Lang) -> Constraints {
    let mut hints = list_hints(rules, Unit::Item, lang);
    hints.push(texts::list_usage(lang).to_owned());
    Constraints { hints, ..Constraints::default() }
}

fn list_hints(rules: &ArrayRules, unit: Unit, lang: Lang) -> Vec<String> {
    let count = texts::count(rules.min_items, rules.max_items, unit, lang);
    let unique = rules.unique_items.then(|| texts::unique(lang).to_owned());
    count.into_iter().chain(unique).collect()
}

/// The placeholder of a text field: the schema's first example.
pub(super) fn placeholder(node: &SchemaNode) -> Option<String> {
    node.examples.first().map(text::show)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rules(schema: serde_json::Value) -> NumberRules {
        let number = |key: &str| schema.get(key).and_then(|value| value.as_number().cloned());
        NumberRules {
            minimum: number("minimum"),
            maximum: number("maximum"),
            exclusive_minimum: number("exclusiveMinimum"),
            exclusive_maximum: number("exclusiveMaximum"),
            multiple_of: number("multipleOf"),
        }
    }

    fn attributes(constraints: &Constraints) -> (Option<&str>, Option<&str>, Option<&str>) {
        (constraints.min.as_deref(), constraints.max.as_deref(), constraints.step.as_deref())
    }

    #[test]
    fn integer_bounds_round_inwards() {
        let integer = |schema| number(&rules(schema), true, Lang::En);
        let plain = integer(json!({"minimum": 10, "maximum": 500}));
        assert_eq!(attributes(&plain), (Some("10"), Some("500"), Some("1")));
        assert_eq!(plain.hints, ["From 10 to 500"]);
        let exclusive = integer(json!({"exclusiveMinimum": 0, "exclusiveMaximum": 10.5}));
        assert_eq!(attributes(&exclusive), (Some("1"), Some("10"), Some("1")));
        assert_eq!(exclusive.hints, ["Greater than 0", "Less than 10.5"]);
        let stepped = integer(json!({"minimum": 3, "multipleOf": 5}));
        assert_eq!(attributes(&stepped), (Some("5"), None, Some("5")));
        assert_eq!(stepped.hints, ["At least 3", "A multiple of 5"]);
        let fractional = integer(json!({"minimum": 0.5, "maximum": 7.5, "multipleOf": 2.5}));
        assert_eq!(attributes(&fractional), (Some("1"), Some("7"), Some("1")));
    }

    #[test]
    fn number_steps_start_at_min() {
        let decimal = |schema| number(&rules(schema), false, Lang::Lv);
        let stepped = decimal(json!({"minimum": 0.5, "multipleOf": 0.1}));
        assert_eq!(attributes(&stepped), (Some("0.5"), None, Some("0.1")));
        assert_eq!(stepped.hints, ["Vismaz 0.5", "Skaitļa 0.1 daudzkārtnis"]);
        let misaligned = decimal(json!({"minimum": 0.25, "maximum": 1, "multipleOf": 0.1}));
        assert_eq!(attributes(&misaligned), (Some("0.25"), Some("1"), Some("any")));
        let free = decimal(json!({"exclusiveMinimum": 0}));
        assert_eq!(attributes(&free), (None, None, Some("any")));
        assert_eq!(free.hints, ["Lielāks par 0"]);
    }
}
