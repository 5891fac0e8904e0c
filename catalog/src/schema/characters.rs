//! Characters a string parameter may not hold: invisible ones that change how text is
//! read (by YAML, a terminal or a person) without being seen.

/// Why `c` may not appear in a string parameter, or `None` if it may. Line feed, carriage
/// return and tab are allowed only in `multiline` strings (`x-multiline: true`).
pub(super) fn forbidden(c: char, multiline: bool) -> Option<String> {
    let reason = match c {
        '\n' | '\r' | '\t' if multiline => return None,
        '\n' | '\r' => "a line break (allowed only where the schema says `x-multiline: true`)",
        '\t' => "a tab (allowed only where the schema says `x-multiline: true`)",
        '\u{2028}' | '\u{2029}' | '\u{85}' => "a Unicode line break",
        c if c.is_control() => "a control character",
        c if is_bidi_control(c) => "an invisible bidirectional-text control",
        '\u{feff}' | '\u{fffe}' | '\u{ffff}' => "a byte-order mark or non-character",
        _ => return None,
    };
    Some(format!("must not contain {reason} (U+{:04X})", u32::from(c)))
}

/// Whether `c` is one of the invisible controls of the Unicode bidirectional algorithm
/// (marks, embeddings, overrides, isolates), which make text display differently from
/// its characters ("Trojan Source").
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_named() {
        for c in ['\0', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}', '\u{2028}', '\u{2029}', '\u{202e}', '\u{2066}']
        {
            assert!(forbidden(c, true).is_some(), "U+{:04X}", u32::from(c));
        }
        assert_eq!(
            forbidden('\n', false).as_deref(),
            Some("must not contain a line break (allowed only where the schema says `x-multiline: true`) (U+000A)")
        );
        for c in ['\n', '\r', '\t'] {
            assert!(forbidden(c, true).is_none());
        }
        for c in ['a', 'ā', ' ', '"', ':', '🙂', '\u{200d}', '\u{a0}'] {
            assert!(forbidden(c, false).is_none(), "{c:?}");
        }
    }
}
