//! Plain numbers and percentages.

use super::grouping::{NO_BREAK_SPACE, localise};
use crate::i18n::Lang;

/// Most decimals a percentage shows: enough for `99.999`.
const PERCENT_DECIMALS: usize = 3;

/// `value` rounded to `decimals` decimals, with digit groups: `12 345,6` (no-break space)
/// in Latvian, `12,345.6` in English. Not-a-number and infinities are written as Rust
/// writes them (`NaN`, `inf`, `-inf`).
pub fn number(value: f64, decimals: usize, lang: Lang) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    localise(&format!("{value:.decimals$}"), lang)
}

/// `value` percent with as many decimals as it has (at most three): `99,5 %` (no-break
/// space) in Latvian, `99.5%` in English. Not-a-number and infinities are written as Rust
/// writes them.
pub fn percent(value: f64, lang: Lang) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let rounded = format!("{value:.PERCENT_DECIMALS$}");
    let trimmed = rounded.trim_end_matches('0').trim_end_matches('.');
    let digits = localise(trimmed, lang);
    match lang {
        Lang::Lv => format!("{digits}{NO_BREAK_SPACE}%"),
        Lang::En => format!("{digits}%"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_each_language() {
        assert_eq!(number(12345.6, 1, Lang::Lv), "12\u{a0}345,6");
        assert_eq!(number(12345.6, 1, Lang::En), "12,345.6");
        assert_eq!(number(12345.6, 0, Lang::En), "12,346");
        assert_eq!(number(1234567890.0, 0, Lang::Lv), "1\u{a0}234\u{a0}567\u{a0}890");
        assert_eq!(number(0.5, 2, Lang::Lv), "0,50");
    }

    #[test]
    fn zero_and_negative_numbers() {
        assert_eq!(number(0.0, 0, Lang::Lv), "0");
        assert_eq!(number(0.0, 2, Lang::En), "0.00");
        assert_eq!(number(-0.0, 1, Lang::En), "0.0");
        assert_eq!(number(-0.04, 1, Lang::Lv), "0,0");
        assert_eq!(number(-12345.6, 1, Lang::Lv), "-12\u{a0}345,6");
        assert_eq!(number(-1234.0, 0, Lang::En), "-1,234");
    }

    #[test]
    fn large_numbers() {
        assert_eq!(number(9_007_199_254_740_992.0, 0, Lang::En), "9,007,199,254,740,992");
        assert_eq!(number(1e21, 0, Lang::Lv).matches('\u{a0}').count(), 7);
    }

    #[test]
    fn numbers_that_are_not_finite() {
        assert_eq!(number(f64::NAN, 0, Lang::Lv), "NaN");
        assert_eq!(number(f64::NEG_INFINITY, 2, Lang::En), "-inf");
        assert_eq!(percent(f64::INFINITY, Lang::En), "inf");
    }

    #[test]
    fn percentages_in_each_language() {
        assert_eq!(percent(99.5, Lang::Lv), "99,5\u{a0}%");
        assert_eq!(percent(99.5, Lang::En), "99.5%");
        assert_eq!(percent(100.0, Lang::Lv), "100\u{a0}%");
        assert_eq!(percent(99.95, Lang::En), "99.95%");
        assert_eq!(percent(99.999, Lang::Lv), "99,999\u{a0}%");
        assert_eq!(percent(0.0, Lang::En), "0%");
        assert_eq!(percent(-2.5, Lang::Lv), "-2,5\u{a0}%");
        assert_eq!(percent(1250.0, Lang::En), "1,250%");
    }
}
