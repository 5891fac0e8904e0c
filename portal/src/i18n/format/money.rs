//! Amounts in euro.

use super::grouping::{NO_BREAK_SPACE, localise};
use crate::i18n::Lang;

/// An amount of euro written as a decimal, e.g. `1234.5` (as in a plan's
/// `monthlyPriceEur`), with cents and digit groups: `1 234,50 €` (no-break spaces) in
/// Latvian, `€1,234.50` in English; negative amounts `-1 234,50 €` and `-€1,234.50`.
/// More than two decimals are rounded half away from zero. `None` when `eur` is not
/// such a decimal (an optional `-`, digits, optionally `.` and more digits; surrounding
/// spaces are ignored).
pub fn money(eur: &str, lang: Lang) -> Option<String> {
    let (negative, cents) = parse_cents(eur.trim())?;
    let digits = localise(&format!("{}.{:02}", cents / 100, cents % 100), lang);
    let sign = if negative && cents > 0 { "-" } else { "" };
    Some(match lang {
        Lang::Lv => format!("{sign}{digits}{NO_BREAK_SPACE}€"),
        Lang::En => format!("{sign}€{digits}"),
    })
}

/// Whether the decimal is negative, and its absolute value in whole cents.
fn parse_cents(decimal: &str) -> Option<(bool, u128)> {
    let (negative, unsigned) = decimal.strip_prefix('-').map_or((false, decimal), |rest| (true, rest));
    let (whole, fraction) = unsigned.split_once('.').map_or((unsigned, None), |(w, f)| (w, Some(f)));
    let all_digits = |text: &str| !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    if !all_digits(whole) || fraction.is_some_and(|fraction| !all_digits(fraction)) {
        return None;
    }
    let fraction = fraction.unwrap_or("").as_bytes();
    let digit = |index: usize| fraction.get(index).map_or(0, |byte| u128::from(byte - b'0'));
    let round_up = u128::from(digit(2) >= 5);
    let cents = whole.parse::<u128>().ok()?.checked_mul(100)?.checked_add(digit(0) * 10 + digit(1) + round_up)?;
    Some((negative, cents))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_each_language() {
        assert_eq!(money("1234.5", Lang::Lv).as_deref(), Some("1\u{a0}234,50\u{a0}€"));
        assert_eq!(money("1234.5", Lang::En).as_deref(), Some("€1,234.50"));
        assert_eq!(money("120.00", Lang::Lv).as_deref(), Some("120,00\u{a0}€"));
        assert_eq!(money("7", Lang::En).as_deref(), Some("€7.00"));
        assert_eq!(money(" 0.05 ", Lang::Lv).as_deref(), Some("0,05\u{a0}€"));
    }

    #[test]
    fn zero_negative_and_large_amounts() {
        assert_eq!(money("0", Lang::Lv).as_deref(), Some("0,00\u{a0}€"));
        assert_eq!(money("-0.00", Lang::En).as_deref(), Some("€0.00"));
        assert_eq!(money("-1234.5", Lang::Lv).as_deref(), Some("-1\u{a0}234,50\u{a0}€"));
        assert_eq!(money("-1234.5", Lang::En).as_deref(), Some("-€1,234.50"));
        assert_eq!(money("9999999.99", Lang::En).as_deref(), Some("€9,999,999.99"));
        assert_eq!(
            money("12345678901234567890.1", Lang::Lv).as_deref(),
            Some("12\u{a0}345\u{a0}678\u{a0}901\u{a0}234\u{a0}567\u{a0}890,10\u{a0}€")
        );
    }

    #[test]
    fn rounds_extra_decimals_half_away_from_zero() {
        assert_eq!(money("0.004", Lang::En).as_deref(), Some("€0.00"));
        assert_eq!(money("0.005", Lang::En).as_deref(), Some("€0.01"));
        assert_eq!(money("-0.005", Lang::En).as_deref(), Some("-€0.01"));
        assert_eq!(money("-0.001", Lang::Lv).as_deref(), Some("0,00\u{a0}€"));
        assert_eq!(money("999.995", Lang::Lv).as_deref(), Some("1\u{a0}000,00\u{a0}€"));
        assert_eq!(money("0.30000000000000004", Lang::En).as_deref(), Some("€0.30"));
    }

    #[test]
    fn refuses_what_is_not_a_decimal() {
        for text in ["", "-", ".5", "5.", "1,5", "1 234", "€5", "1e3", "+5", "--5", "5.0.0", "abc", "NaN", "١٢"] {
            assert_eq!(money(text, Lang::En), None, "{text:?}");
        }
        assert_eq!(money(&"9".repeat(60), Lang::En), None);
    }
}
