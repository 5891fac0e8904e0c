//! Writing CSV (RFC 4180) that spreadsheets open safely: fields with a comma, a quote or a
//! line break are quoted (quotes doubled), rows end with CRLF, and text that a spreadsheet
//! would run as a formula (`=`, `+`, `-`, `@`, or a tab or carriage return first) is
//! prefixed with `'` so it stays text.

use std::fmt::Write as _;

/// The byte order mark that makes spreadsheet programs read the file as UTF-8 (Latvian
/// letters intact).
pub const BOM: &str = "\u{feff}";

/// What a CSV field holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field<'a> {
    /// Text from people or from the cluster: guarded against formulas, then quoted as needed.
    Text(&'a str),
    /// A number the portal computed, written as it is (`-12.5` stays a number).
    Number(&'a str),
}

/// `text` with a `'` in front if a spreadsheet would take it for a formula.
fn defused(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

/// `value` as it appears between the commas of a row.
pub fn field(value: Field<'_>) -> String {
    let text = match value {
        Field::Text(text) => defused(text),
        Field::Number(number) => number.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

/// A row of `fields`, with its CRLF.
pub fn row<'a>(fields: impl IntoIterator<Item = Field<'a>>) -> String {
    let mut line = String::new();
    for (index, value) in fields.into_iter().enumerate() {
        if index > 0 {
            line.push(',');
        }
        line.push_str(&field(value));
    }
    line.push_str("\r\n");
    line
}

/// `value` with `decimals` decimals and a point, for a [`Field::Number`]; `-0.0` is `0.0`.
pub fn decimal(value: f64, decimals: usize) -> String {
    let mut text = String::new();
    let value = if value == 0.0 { 0.0 } else { value };
    write!(text, "{value:.decimals$}").expect("writing to a String");
    if text.starts_with('-') && text[1..].chars().all(|c| c == '0' || c == '.') { text[1..].to_string() } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_fields_stay_as_they_are() {
        assert_eq!(field(Field::Text("Pensiju sistēma")), "Pensiju sistēma");
        assert_eq!(field(Field::Text("")), "");
        assert_eq!(field(Field::Number("99.933")), "99.933");
    }

    #[test]
    fn commas_quotes_and_line_breaks_are_quoted() {
        assert_eq!(field(Field::Text("a, b")), "\"a, b\"");
        assert_eq!(field(Field::Text("DVS \"standarts\"")), "\"DVS \"\"standarts\"\"\"");
        assert_eq!(field(Field::Text("two\nlines")), "\"two\nlines\"");
        assert_eq!(field(Field::Text("cr\rhere")), "\"cr\rhere\"");
    }

    #[test]
    fn formulas_are_kept_as_text() {
        assert_eq!(field(Field::Text("=SUM(A1:A9)")), "'=SUM(A1:A9)");
        assert_eq!(field(Field::Text("+371 6700")), "'+371 6700");
        assert_eq!(field(Field::Text("-x")), "'-x");
        assert_eq!(field(Field::Text("@cmd")), "'@cmd");
        assert_eq!(field(Field::Text("\tpadded")), "'\tpadded");
        assert_eq!(
            field(Field::Text("=HYPERLINK(\"http://x\", \"y\")")),
            "\"'=HYPERLINK(\"\"http://x\"\", \"\"y\"\")\""
        );
        assert_eq!(field(Field::Text("a=b")), "a=b", "only a leading sign matters");
        assert_eq!(field(Field::Number("-34.4")), "-34.4", "numbers the portal computed stay numbers");
    }

    #[test]
    fn rows_join_with_commas_and_end_with_crlf() {
        assert_eq!(row([Field::Text("a"), Field::Text("b, c"), Field::Number("1.5")]), "a,\"b, c\",1.5\r\n");
        assert_eq!(row([]), "\r\n");
    }

    #[test]
    fn decimals_use_a_point() {
        assert_eq!(decimal(99.93279, 3), "99.933");
        assert_eq!(decimal(30.0, 1), "30.0");
        assert_eq!(decimal(-34.41, 1), "-34.4");
        assert_eq!(decimal(-0.0, 1), "0.0");
        assert_eq!(decimal(-0.01, 1), "0.0", "no negative zero after rounding");
    }
}
