//! Digit groups and decimal marks of each language.

use crate::i18n::Lang;

/// The no-break space: between digit groups and before units in Latvian.
pub(super) const NO_BREAK_SPACE: char = '\u{a0}';

/// A plain decimal number as Rust writes it (`-12345.60`: an optional `-`, ASCII digits,
/// an optional `.` and fraction) in the style of `lang`: `-12 345,60` (no-break spaces)
/// in Latvian, `-12,345.60` in English. A negative zero loses its sign.
pub(super) fn localise(plain: &str, lang: Lang) -> String {
    let (group_separator, decimal_mark) = match lang {
        Lang::Lv => (NO_BREAK_SPACE, ','),
        Lang::En => (',', '.'),
    };
    let (negative, unsigned) = match plain.strip_prefix('-') {
        Some(unsigned) => (unsigned.bytes().any(|digit| matches!(digit, b'1'..=b'9')), unsigned),
        None => (false, plain),
    };
    let (integer, fraction) = unsigned.split_once('.').map_or((unsigned, None), |(i, f)| (i, Some(f)));
    let mut localised = String::with_capacity(plain.len() + integer.len() / 3 * 2);
    if negative {
        localised.push('-');
    }
    for (index, digit) in integer.chars().enumerate() {
        if index > 0 && (integer.len() - index) % 3 == 0 {
            localised.push(group_separator);
        }
        localised.push(digit);
    }
    if let Some(fraction) = fraction {
        localised.push(decimal_mark);
        localised.push_str(fraction);
    }
    localised
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(localise("1234567.891", Lang::Lv), "1\u{a0}234\u{a0}567,891");
        assert_eq!(localise("1234567.891", Lang::En), "1,234,567.891");
        assert_eq!(localise("123456", Lang::En), "123,456");
        assert_eq!(localise("1000", Lang::Lv), "1\u{a0}000");
        assert_eq!(localise("999", Lang::Lv), "999");
        assert_eq!(localise("0.5", Lang::Lv), "0,5");
    }

    #[test]
    fn keeps_the_sign_of_negative_numbers_only() {
        assert_eq!(localise("-12345.6", Lang::Lv), "-12\u{a0}345,6");
        assert_eq!(localise("-0.01", Lang::En), "-0.01");
        assert_eq!(localise("-0.00", Lang::En), "0.00");
        assert_eq!(localise("-0", Lang::Lv), "0");
    }
}
