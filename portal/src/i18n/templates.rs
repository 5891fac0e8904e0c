//! The function `t` and the formatting filters, for tera templates.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use tera::{Error, Result, Tera};

use super::{Lang, Messages, format};

/// Makes the messages and the formatters available to `tera`'s templates. Every one takes
/// the language as the argument `lang` (`"lv"` or `"en"`, or a [`Lang`] from the context):
///
/// - `t(key="nav.catalog", lang=lang, …)`: the message `key`; every other argument fills
///   the placeholder of its name, e.g. `t(key="login.error.too_many_attempts",
///   lang=lang, seconds=30)`;
/// - `ms | datetime(lang=lang)` and `ms | date(lang=lang)`: an instant in milliseconds
///   since the Unix epoch, in Riga time ([`format::datetime`], [`format::date`]);
/// - `price | money(lang=lang)`: euro, from a decimal string such as `"1234.5"` or a
///   number ([`format::money`]);
/// - `value | number(lang=lang, decimals=1)`: a number, `decimals` defaulting to 0
///   ([`format::number`]);
/// - `text | duration_iso(lang=lang)`: an SLA duration such as `4h` or `PT4H`
///   ([`format::duration_iso`]);
/// - `value | percent(lang=lang)`: a percentage such as `99.5` ([`format::percent`]).
///
/// A missing or unknown `lang`, or a value of the wrong kind, fails the rendering with a
/// message naming the function or filter.
pub fn register(tera: &mut Tera, messages: Arc<Messages>) {
    tera.register_function("t", move |args: &HashMap<String, Value>| translate(&messages, args));
    tera.register_filter("datetime", |value: &Value, args: &HashMap<String, Value>| {
        Ok(Value::from(format::datetime(milliseconds("datetime", value)?, lang("datetime", args)?)))
    });
    tera.register_filter("date", |value: &Value, args: &HashMap<String, Value>| {
        Ok(Value::from(format::date(milliseconds("date", value)?, lang("date", args)?)))
    });
    tera.register_filter("money", |value: &Value, args: &HashMap<String, Value>| {
        let lang = lang("money", args)?;
        let written = match value {
            Value::String(text) => format::money(text, lang),
            Value::Number(number) => format::money(&number.to_string(), lang),
            _ => None,
        };
        written.map(Value::from).ok_or_else(|| not_a("money", "decimal amount of euro", value))
    });
    tera.register_filter("number", |value: &Value, args: &HashMap<String, Value>| {
        let decimals = match args.get("decimals") {
            None => 0,
            Some(decimals) => decimals
                .as_u64()
                .and_then(|decimals| usize::try_from(decimals).ok())
                .ok_or_else(|| not_a("number", "count of decimals", decimals))?,
        };
        Ok(Value::from(format::number(float("number", value)?, decimals, lang("number", args)?)))
    });
    tera.register_filter("duration_iso", |value: &Value, args: &HashMap<String, Value>| {
        let lang = lang("duration_iso", args)?;
        let written = value.as_str().and_then(|text| format::duration_iso(text, lang));
        written.map(Value::from).ok_or_else(|| not_a("duration_iso", "duration", value))
    });
    tera.register_filter("percent", |value: &Value, args: &HashMap<String, Value>| {
        Ok(Value::from(format::percent(float("percent", value)?, lang("percent", args)?)))
    });
}

/// The function `t`: the message `key` in `lang`, other arguments filling placeholders.
fn translate(messages: &Messages, args: &HashMap<String, Value>) -> Result<Value> {
    let key = match args.get("key") {
        Some(Value::String(key)) => key,
        Some(other) => return Err(not_a("t", "message key", other)),
        None => return Err(Error::msg("t: the argument `key` is missing")),
    };
    let lang = lang("t", args)?;
    let values: Vec<(&str, String)> = args
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "key" | "lang"))
        .map(|(name, value)| (name.as_str(), value.as_str().map_or_else(|| value.to_string(), str::to_string)))
        .collect();
    let values: Vec<(&str, &str)> = values.iter().map(|(name, value)| (*name, value.as_str())).collect();
    Ok(Value::from(messages.format(lang, key, &values)))
}

/// The argument `lang` of the function or filter `name`.
fn lang(name: &str, args: &HashMap<String, Value>) -> Result<Lang> {
    let value = args.get("lang").ok_or_else(|| Error::msg(format!("{name}: the argument `lang` is missing")))?;
    value.as_str().and_then(Lang::parse).ok_or_else(|| not_a(name, "language (`lv` or `en`)", value))
}

/// A filter's input as whole milliseconds.
fn milliseconds(name: &str, value: &Value) -> Result<i64> {
    value.as_i64().ok_or_else(|| not_a(name, "whole number of milliseconds", value))
}

/// A filter's input as a number.
fn float(name: &str, value: &Value) -> Result<f64> {
    value.as_f64().ok_or_else(|| not_a(name, "number", value))
}

/// The error of a function or filter given a value of the wrong kind.
fn not_a(name: &str, expected: &str, value: &Value) -> Error {
    Error::msg(format!("{name}: {value} is not a {expected}"))
}

#[cfg(test)]
mod tests {
    use tera::Context;

    use super::*;

    fn tera() -> Tera {
        let mut tera = Tera::default();
        register(&mut tera, Arc::new(Messages::embedded()));
        tera
    }

    fn render(template: &str) -> Result<String> {
        let mut context = Context::new();
        context.insert("lang", &Lang::En);
        context.insert("created", &1_795_842_240_000_i64);
        tera().render_str(template, &context)
    }

    #[test]
    fn t_renders_messages() {
        assert_eq!(render(r#"{{ t(key="nav.catalog", lang="en") }}"#).unwrap(), "Service catalog");
        assert_eq!(render(r#"{{ t(key="nav.catalog", lang="lv") }}"#).unwrap(), "Pakalpojumu katalogs");
        assert_eq!(render(r#"{{ t(key="nav.my_services", lang=lang) }}"#).unwrap(), "My services");
        assert_eq!(render(r#"{{ t(key="no.such.key", lang="en") }}"#).unwrap(), "no.such.key");
    }

    #[test]
    fn t_fills_placeholders_from_its_other_arguments() {
        assert_eq!(
            render(r#"{{ t(key="login.error.too_many_attempts", lang="lv", seconds=30) }}"#).unwrap(),
            "Pārāk daudz mēģinājumu. Lūdzu, uzgaidiet 30 s."
        );
        assert_eq!(
            render(r#"{{ t(key="error.internal.text", lang="en", reference="a1b2") }}"#).unwrap(),
            "The error has been logged with reference a1b2. Quote it when you contact support."
        );
    }

    #[test]
    fn t_needs_a_key_and_a_language() {
        for template in [
            r#"{{ t(lang="en") }}"#,
            r#"{{ t(key=1, lang="en") }}"#,
            r#"{{ t(key="nav.catalog") }}"#,
            r#"{{ t(key="nav.catalog", lang="de") }}"#,
        ] {
            assert!(render(template).is_err(), "{template}");
        }
    }

    #[test]
    fn date_and_time_filters() {
        assert_eq!(render(r#"{{ created | datetime(lang="lv") }}"#).unwrap(), "28.11.2026. 07:04");
        assert_eq!(render(r#"{{ created | datetime(lang=lang) }}"#).unwrap(), "28 Nov 2026, 07:04");
        assert_eq!(render(r#"{{ created | date(lang="lv") }}"#).unwrap(), "28.11.2026.");
        assert!(render(r#"{{ "yesterday" | date(lang="lv") }}"#).is_err());
        assert!(render(r#"{{ created | date }}"#).is_err());
    }

    #[test]
    fn money_filter() {
        assert_eq!(render(r#"{{ "1234.5" | money(lang="lv") }}"#).unwrap(), "1\u{a0}234,50\u{a0}€");
        assert_eq!(render(r#"{{ "1234.5" | money(lang="en") }}"#).unwrap(), "€1,234.50");
        assert_eq!(render(r#"{{ 120 | money(lang="en") }}"#).unwrap(), "€120.00");
        assert!(render(r#"{{ "twelve" | money(lang="en") }}"#).is_err());
        assert!(render(r#"{{ true | money(lang="en") }}"#).is_err());
    }

    #[test]
    fn number_and_percent_filters() {
        assert_eq!(render(r#"{{ 12345.6 | number(lang="lv", decimals=1) }}"#).unwrap(), "12\u{a0}345,6");
        assert_eq!(render(r#"{{ 12345.6 | number(lang="en", decimals=1) }}"#).unwrap(), "12,345.6");
        assert_eq!(render(r#"{{ 12345.6 | number(lang="en") }}"#).unwrap(), "12,346");
        assert_eq!(render(r#"{{ 99.5 | percent(lang="lv") }}"#).unwrap(), "99,5\u{a0}%");
        assert_eq!(render(r#"{{ 99.5 | percent(lang="en") }}"#).unwrap(), "99.5%");
        assert!(render(r#"{{ 1 | number(lang="en", decimals="two") }}"#).is_err());
        assert!(render(r#"{{ "1" | percent(lang="en") }}"#).is_err());
    }

    #[test]
    fn duration_filter() {
        assert_eq!(render(r#"{{ "PT4H" | duration_iso(lang="lv") }}"#).unwrap(), "4 h");
        assert_eq!(render(r#"{{ "P1D" | duration_iso(lang="lv") }}"#).unwrap(), "1 d.");
        assert_eq!(render(r#"{{ "1d" | duration_iso(lang="en") }}"#).unwrap(), "1 day");
        assert!(render(r#"{{ "soon" | duration_iso(lang="en") }}"#).is_err());
        assert!(render(r#"{{ 4 | duration_iso(lang="en") }}"#).is_err());
        assert!(render(r#"{{ "PT4H" | duration_iso(lang="xx") }}"#).is_err());
    }

    #[test]
    fn works_in_autoescaped_html_templates() {
        let mut tera = tera();
        tera.add_raw_template("page.html", r#"<a>{{ t(key="nav.language_switch", lang="en") }}</a>"#).unwrap();
        let mut context = Context::new();
        context.insert("lang", &Lang::Lv);
        assert_eq!(tera.render("page.html", &context).unwrap(), "<a>Latviešu</a>");
    }
}
