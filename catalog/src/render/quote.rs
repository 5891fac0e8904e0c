//! How a value is written into a rendered template: always as one YAML node that parses
//! back to exactly that value, never as syntax.
//!
//! Every `{{ … }}` of a template ends in [`yaml`] (the engine adds it, see `engine`). A
//! string is written bare only when it cannot be read as anything but itself in any place
//! a template may put it ([`is_inert_plain`]); otherwise it is written as a JSON string in
//! which every character YAML could read as syntax is a `\u` escape ([`quoted`]), which is
//! also valid JSON. So a value cannot end a scalar, open a new key, a flow collection, a
//! comment or a document, whether the template puts it in a value, a key, a block scalar,
//! a comment or (by mistake) inside quotes.

use serde_json::{Map, Value};

/// Characters written as `\u` escapes although they are printable: every YAML indicator
/// and both quotes, so that the escaped text contains no YAML syntax at all.
const INDICATORS: &[char] = &['\'', ':', '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '%', '`', '?'];

/// Words that YAML 1.1 (which cloud-init and many tools still read) takes as booleans or
/// null when written bare.
const YAML_WORDS: &[&str] = &["y", "n", "yes", "no", "true", "false", "on", "off", "null"];

/// The value as one YAML node: a string bare when inert, quoted otherwise; numbers and
/// booleans as themselves; arrays and objects as flow collections of quoted strings.
pub fn yaml(value: &Value) -> String {
    match value {
        Value::String(text) if is_inert_plain(text) => text.clone(),
        other => flow(other),
    }
}

/// The value as one YAML node that is also JSON: like [`yaml`], but strings are always
/// quoted. This is what `json_encode()` at the end of a template expression writes.
pub fn flow(value: &Value) -> String {
    let mut out = String::new();
    write_flow(value, &mut out);
    out
}

fn write_flow(value: &Value, out: &mut String) {
    match value {
        Value::String(text) => out.push_str(&quoted(text)),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_flow(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => write_map(map, out),
        Value::Null | Value::Bool(_) | Value::Number(_) => out.push_str(&value.to_string()),
    }
}

fn write_map(map: &Map<String, Value>, out: &mut String) {
    out.push('{');
    for (index, (key, value)) in map.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        out.push_str(&quoted(key));
        out.push_str(": ");
        write_flow(value, out);
    }
    out.push('}');
}

/// `text` as a double-quoted scalar that YAML and JSON both read back as `text`, with no
/// line break, no YAML indicator and no invisible or control character left unescaped.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if INDICATORS.contains(&c) || needs_escape(c) => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether a character must not appear raw in YAML text: C0 and C1 controls (YAML 1.1
/// reads NEL as a line break), the Unicode line and paragraph separators (line breaks in
/// YAML 1.1), the byte-order mark, non-characters, and the invisible bidirectional
/// controls that make text read differently from what it is. Characters beyond the Basic
/// Multilingual Plane are printable in YAML and pass as they are (a `\u` escape cannot
/// name them).
fn needs_escape(c: char) -> bool {
    let code = u32::from(c);
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
        || crate::schema::is_bidi_control(c)
        || (0xfdd0..=0xfdef).contains(&code)
}

/// Whether `text` may be written bare: it starts with a letter, holds only letters,
/// digits, inner single spaces and `.`, `_`, `/`, `-`, `+`, `@`, and is not a word YAML
/// reads as a boolean or null. Such a string is one scalar wherever it lands (a value,
/// a key, inside quotes, inside a block scalar, next to other text) and always reads back
/// as a string, so `name: {{ instance.name }}-data` keeps working.
pub fn is_inert_plain(text: &str) -> bool {
    let mut chars = text.chars();
    let Some(first) = chars.next() else { return false };
    first.is_alphabetic()
        && !text.ends_with(' ')
        && !text.contains("  ")
        && text.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '.' | '_' | '/' | '-' | '+' | '@'))
        && !YAML_WORDS.iter().any(|word| text.eq_ignore_ascii_case(word))
}

/// The text of a `{% filter text %}` section as one quoted scalar: the lines lose the
/// indentation of the first non-empty line (as in a YAML literal block), leading and
/// trailing empty lines are dropped, and the text ends with one line break.
pub fn text_block(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let first = lines.iter().position(|line| !line.trim().is_empty());
    let last = lines.iter().rposition(|line| !line.trim().is_empty());
    let (Some(first), Some(last)) = (first, last) else { return quoted("") };
    let indent = lines[first].len() - lines[first].trim_start_matches(' ').len();
    let mut text = String::new();
    for line in &lines[first..=last] {
        let strip = line.len() - line.trim_start_matches(' ').len();
        text.push_str(&line[strip.min(indent)..]);
        text.push('\n');
    }
    quoted(&text)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Parses `yaml` as the value of a key, the way rendered templates are read.
    fn read_back(rendered: &str) -> Value {
        let document: Value = serde_yaml_ng::from_str(&format!("k: {rendered}")).expect("valid YAML");
        document["k"].clone()
    }

    const HOSTILE: &[&str] = &[
        "a\n---\nkind: Service",
        "x: y",
        "# comment",
        "'single' \"double\"",
        "{a: 1}",
        "[1, 2]",
        "&anchor *alias !!tag",
        "| literal > folded",
        "%YAML @ ` ?",
        "tab\there",
        "nel\u{85}line\u{2028}sep\u{2029}",
        "bom\u{feff}bidi\u{202e}\u{2066}",
        "nul\0bell\u{7}del\u{7f}c1\u{9b}",
        "emoji 🙂 and Rīga",
        "",
        " leading and trailing ",
        "true",
        "NULL",
        "0x1F",
        "1e3",
        "2024-01-01",
        "~",
        "\\backslash\\",
    ];

    #[test]
    fn every_value_reads_back_as_itself() {
        for text in HOSTILE {
            assert_eq!(read_back(&yaml(&json!(text))), json!(text), "{text:?}");
            assert_eq!(read_back(&flow(&json!(text))), json!(text), "{text:?}");
            let json: Value = serde_json::from_str(&flow(&json!(text))).expect("valid JSON");
            assert_eq!(json, json!(text), "{text:?}");
        }
        for value in [json!(3), json!(-2.5), json!(true), json!(null), json!(["a: b", 1]), json!({"k: v": ["\n"]})] {
            assert_eq!(read_back(&yaml(&value)), value);
            assert_eq!(serde_json::from_str::<Value>(&flow(&value)).unwrap(), value);
        }
    }

    #[test]
    fn quoted_text_holds_no_syntax() {
        for text in HOSTILE {
            let inner = quoted(text);
            let inner = inner[1..inner.len() - 1].replace("\\\\", "").replace("\\\"", "");
            assert!(!inner.contains(['\n', '\r', '"', '\'', ':', '#', ',', '{', '}', '[', ']']), "{inner}");
            assert!(!inner.contains(['\u{85}', '\u{2028}', '\u{2029}', '\u{feff}', '\u{202e}']), "{inner}");
        }
    }

    /// Misplaced by a template (inside quotes, in a flow map), a value still adds no keys:
    /// the document fails to parse or holds the value as text.
    #[test]
    fn a_misplaced_value_adds_no_keys() {
        let value = yaml(&json!("', evil: 1, x: '"));
        for template in ["{a: '%'}", "{a: \"%\"}", "{a: x%}", "[%]"] {
            let text = template.replace('%', &value);
            if let Ok(parsed) = serde_yaml_ng::from_str::<Value>(&text) {
                assert!(!parsed.to_string().contains("evil\":"), "{text} → {parsed}");
            }
        }
    }

    #[test]
    fn inert_strings_stay_bare() {
        for text in ["sample", "sample-data", "Valsts darba inspekcija", "registry.makonis.lv/x/y", "Rīga", "a@b.lv"] {
            assert!(is_inert_plain(text), "{text}");
            assert_eq!(yaml(&json!(text)), text);
        }
        for text in ["true", "No", "1abc", "a b ", "a  b", "a: b", "a#b", "-a", ".a", ""] {
            assert!(!is_inert_plain(text), "{text}");
        }
    }

    #[test]
    fn text_blocks_lose_their_indentation_like_literal_blocks() {
        let block = text_block("\n    {\n      \"a\": 1\n    }\n  ");
        assert_eq!(read_back(&block), json!("{\n  \"a\": 1\n}\n"));
        assert_eq!(read_back(&text_block("   \n")), json!(""));
    }
}
