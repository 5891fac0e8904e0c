//! Translating a schema `pattern` (Rust `regex` syntax, unanchored) into an HTML `pattern`
//! attribute (ECMAScript syntax with the `v` flag, anchored to the whole value).
//!
//! Only a conservative subset is translated: literals, `.`, anchors, groups (`(…)` and
//! `(?:…)`), alternation, quantifiers and character classes of literals and ranges. Anything
//! whose meaning differs between the two engines (`\d`, `\w`, `\s` and `\b` are Unicode-aware
//! in Rust but ASCII in browsers), flags, named groups, nested classes and class set
//! operations leave the attribute out: the server checks the pattern anyway, and a browser
//! must never refuse a value the schema accepts.

use std::iter::Peekable;
use std::str::Chars;

/// ECMAScript's syntax characters, which may be escaped anywhere.
const SYNTAX: &str = "^$\\.*+?()[]{}|/";

/// Characters that a `v`-mode class needs escaped (ECMAScript's ClassSetSyntaxCharacter and
/// the syntax characters), all escapable in `u` mode as well.
const CLASS_ESCAPED: &str = "()[]{}/-\\|^$.*+?";

/// Characters that `v` mode reserves when doubled in a class (`&&`, `!!`, …) and that `u`
/// mode does not allow to be escaped.
const CLASS_DOUBLE_RESERVED: &str = "&!#%,:;<=>@`~";

/// The HTML `pattern` equivalent to the schema's `source`, or `None` if it cannot be
/// translated faithfully.
pub(super) fn html_pattern(source: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = source.chars().peekable();
    let mut depth = 0usize;
    let mut top_alternation = false;
    let mut ends_anchored = false;
    while let Some(c) = chars.next() {
        ends_anchored = c == '$' && depth == 0;
        match c {
            '\\' => out.push_str(&escape(chars.next()?)?),
            '[' => class(&mut chars, &mut out)?,
            '(' => {
                if chars.next_if_eq(&'?').is_some() {
                    chars.next_if_eq(&':')?;
                    out.push_str("(?:");
                } else {
                    out.push('(');
                }
                depth += 1;
            }
            ')' => {
                depth = depth.checked_sub(1)?;
                out.push(')');
            }
            '|' => {
                top_alternation |= depth == 0;
                out.push('|');
            }
            '{' => repetition(&mut chars, &mut out)?,
            ']' | '}' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    if depth != 0 {
        return None;
    }
    // The browser matches `^(?:pattern)$`; an unanchored schema pattern matches anywhere.
    let anchored = source.starts_with('^') && ends_anchored && !top_alternation;
    Some(if anchored { out } else { format!("[\\s\\S]*(?:{out})[\\s\\S]*") })
}

/// An escape outside a class: syntax characters stay escaped, other punctuation becomes a
/// plain literal, `\n`, `\r` and `\t` are kept; anything else is refused.
fn escape(c: char) -> Option<String> {
    match c {
        _ if SYNTAX.contains(c) => Some(format!("\\{c}")),
        'n' | 'r' | 't' => Some(format!("\\{c}")),
        _ if c.is_ascii_punctuation() => Some(c.to_string()),
        _ => None,
    }
}

/// Copies a counted repetition (`{n}`, `{n,}`, `{n,m}`), the opening brace already read.
fn repetition(chars: &mut Peekable<Chars<'_>>, out: &mut String) -> Option<()> {
    let mut body = String::new();
    loop {
        match chars.next()? {
            '}' => break,
            c @ ('0'..='9' | ',') => body.push(c),
            _ => return None,
        }
    }
    let (low, high) = body.split_once(',').unwrap_or((&body, "0"));
    let digits = |part: &str| part.chars().all(|c| c.is_ascii_digit());
    if low.is_empty() || !digits(low) || !digits(high) {
        return None;
    }
    out.push('{');
    out.push_str(&body);
    out.push('}');
    Some(())
}

/// One member of a character class.
enum Member {
    Char(char),
    Range(char, char),
}

/// Translates a character class, the opening bracket already read.
fn class(chars: &mut Peekable<Chars<'_>>, out: &mut String) -> Option<()> {
    out.push('[');
    if chars.next_if_eq(&'^').is_some() {
        out.push('^');
    }
    let mut members = Vec::new();
    // Rust reads a `]` right after the opening bracket as a literal.
    if chars.next_if_eq(&']').is_some() {
        members.push(Member::Char(']'));
    }
    loop {
        let first = match chars.next()? {
            ']' => break,
            '[' => return None,
            c @ ('&' | '-' | '~') if chars.peek() == Some(&c) => return None,
            c => class_char(c, chars)?,
        };
        let range = chars.peek() == Some(&'-') && chars.clone().nth(1).is_some_and(|next| next != ']');
        if range {
            chars.next();
            let last = chars.next()?;
            if last == '[' || last == '-' {
                return None;
            }
            members.push(Member::Range(first, class_char(last, chars)?));
        } else {
            members.push(Member::Char(first));
        }
    }
    let mut previous = None;
    for member in members {
        let (first, last) = match member {
            Member::Char(c) => (c, None),
            Member::Range(first, last) => (first, Some(last)),
        };
        previous = push_class_char(first, previous, out)?;
        if let Some(last) = last {
            out.push('-');
            previous = push_class_char(last, None, out)?;
        }
    }
    out.push(']');
    Some(())
}

/// A literal of a class: a character, or an escape of punctuation or of `\n`, `\r`, `\t`.
fn class_char(c: char, chars: &mut Peekable<Chars<'_>>) -> Option<char> {
    if c != '\\' {
        return Some(c);
    }
    match chars.next()? {
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        escaped if escaped.is_ascii_punctuation() => Some(escaped),
        _ => None,
    }
}

/// Writes one class literal, escaped as `v` mode needs; refuses a doubled reserved
/// punctuator. Returns the character if it was written bare.
fn push_class_char(c: char, previous: Option<char>, out: &mut String) -> Option<Option<char>> {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        _ if CLASS_ESCAPED.contains(c) => {
            out.push('\\');
            out.push(c);
        }
        _ if CLASS_DOUBLE_RESERVED.contains(c) && previous == Some(c) => return None,
        _ => {
            out.push(c);
            return Some(Some(c));
        }
    }
    Some(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchored_patterns_keep_their_shape() {
        let pattern = |source| html_pattern(source).unwrap_or_default();
        assert_eq!(pattern("^[A-Z0-9][A-Z0-9.-]{0,15}$"), r"^[A-Z0-9][A-Z0-9\.\-]{0,15}$");
        assert_eq!(
            pattern(r"^registry\.makonis\.lv/[a-z0-9._/-]+:[A-Za-z0-9._-]{1,128}$"),
            r"^registry\.makonis\.lv/[a-z0-9\._\/\-]+:[A-Za-z0-9\._\-]{1,128}$"
        );
        assert_eq!(pattern("^[0-9*/,-]+( [0-9*/,-]+){4}$"), r"^[0-9\*\/,\-]+( [0-9\*\/,\-]+){4}$");
        assert_eq!(pattern("^_[A-Z0-9_]{1,30}@[0-9]{11}$"), "^_[A-Z0-9_]{1,30}@[0-9]{11}$");
        assert_eq!(pattern(r"^(?:a|b)\-[]x]$"), r"^(?:a|b)-[\]x]$");
        assert_eq!(pattern(r"^[^\n]x}$"), r"^[^\n]x\}$");
    }

    #[test]
    fn unanchored_patterns_match_anywhere() {
        assert_eq!(html_pattern("[a-z]+").as_deref(), Some(r"[\s\S]*(?:[a-z]+)[\s\S]*"));
        assert_eq!(html_pattern("^a|b$").as_deref(), Some(r"[\s\S]*(?:^a|b$)[\s\S]*"));
        assert_eq!(html_pattern(r"^a\$").as_deref(), Some(r"[\s\S]*(?:^a\$)[\s\S]*"));
    }

    #[test]
    fn doubtful_patterns_are_left_out() {
        for source in [
            r"^\d+$",
            r"\w",
            r"\bx",
            "(?i)abc",
            "(?P<name>a)",
            "[[:alpha:]]",
            "[a-z&&[^aeiou]]",
            "[a--b]",
            "[%%]",
            "(a",
            "a)",
            "a{x}",
            "a{,3}",
            "[a-",
        ] {
            assert_eq!(html_pattern(source), None, "{source}");
        }
    }
}
