//! Text that Prometheus parses: PromQL string literals, and tenant-written names inside
//! alert annotations and labels, which Prometheus expands as Go templates.
//!
//! Both are built from one Go interpreted string literal, so that a value is always data:
//! a service called `{{ .x }}` or `a"b\c` (or one holding a newline) is shown as written
//! and never makes Prometheus refuse the rule group.

use std::fmt::Write;

/// `value` as a Go interpreted string literal, e.g. `"a\"b\\c"`: the syntax of PromQL
/// label values and of string constants in Go templates. Backslashes, double quotes and
/// control characters are escaped; everything else (Latvian letters too) stays as is.
pub fn go_string(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            c if c.is_control() => {
                // Writing to a String cannot fail.
                let _ = write!(quoted, "\\u{:04x}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// `value` as text of a Prometheus template (an alert's annotation or label) that
/// expands to exactly `value`. Text without `{` or a control character is itself;
/// anything else becomes one template action printing `value` as a string constant, so
/// that no part of it is read as template syntax, whatever surrounds it.
pub fn template_text(value: &str) -> String {
    if value.chars().any(|c| c == '{' || c == '}' || c.is_control()) {
        format!("{{{{ {} }}}}", go_string(value))
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_strings_escape_quotes_backslashes_and_control_characters() {
        assert_eq!(go_string("lm-portal"), r#""lm-portal""#);
        assert_eq!(go_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(go_string("a\nb\r\tc\u{7}"), r#""a\nb\r\tc\u0007""#);
        assert_eq!(go_string("Labklājības portāls"), "\"Labklājības portāls\"");
    }

    #[test]
    fn template_text_leaves_plain_names_alone_and_wraps_anything_template_like() {
        assert_eq!(template_text("Labklājības portāls"), "Labklājības portāls");
        assert_eq!(template_text("$labels.x and 100 %"), "$labels.x and 100 %");
        assert_eq!(template_text("{{ .Value }}"), r#"{{ "{{ .Value }}" }}"#);
        assert_eq!(template_text("a { b"), r#"{{ "a { b" }}"#);
        assert_eq!(template_text("x }}"), r#"{{ "x }}" }}"#);
        assert_eq!(template_text("two\nlines"), r#"{{ "two\nlines" }}"#);
    }
}
