//! Exact arithmetic on Kubernetes quantities (`500m`, `16`, `64Gi`, `1e3`).
//!
//! The API server rewrites quantities into a canonical form (`1.5Gi` becomes `1536Mi`),
//! so controllers compare them by value, never by text.

use std::fmt;

/// CEL rule for a quantity field: a well-formed quantity that is not negative. (The API
/// server's CEL has no `sign()`; comparing with `quantity('0')` works everywhere.)
pub const NON_NEGATIVE_QUANTITY: &str =
    "type(self) == int ? self >= 0 : (isQuantity(self) && !quantity(self).isLessThan(quantity('0')))";
/// The message of [`NON_NEGATIVE_QUANTITY`].
pub const NON_NEGATIVE_QUANTITY_MESSAGE: &str =
    "must be a non-negative Kubernetes quantity such as 16, 500m, 64Gi or 2Ti";

/// A parsed quantity: `mantissa × 10^exponent`, normalised so that equal values compare
/// equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParsedQuantity {
    mantissa: i128,
    exponent: i32,
}

/// Why a text is not a quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantityError(String);

impl fmt::Display for QuantityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a Kubernetes quantity (examples: 16, 500m, 64Gi, 2Ti)", self.0)
    }
}

impl std::error::Error for QuantityError {}

impl ParsedQuantity {
    /// Parses the serialised form of a Kubernetes quantity.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let err = || QuantityError(text.to_string());
        let trimmed = text.trim();
        let (negative, rest) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
        };
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(number_end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
            return Err(err());
        }
        let digits = format!("{whole}{fraction}");
        let mut mantissa: i128 = if digits.is_empty() { 0 } else { digits.parse().map_err(|_| err())? };
        let mut exponent = -(fraction.len() as i32);
        match suffix {
            "" => {}
            "m" => exponent -= 3,
            "k" => exponent += 3,
            "M" => exponent += 6,
            "G" => exponent += 9,
            "T" => exponent += 12,
            "P" => exponent += 15,
            "E" => exponent += 18,
            "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
                let power = 10
                    * (["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"].iter().position(|s| *s == suffix).unwrap_or(0) as u32 + 1);
                mantissa = mantissa.checked_mul(1i128 << power).ok_or_else(err)?;
            }
            exp if exp.starts_with(['e', 'E']) => {
                exponent = exponent.checked_add(exp[1..].parse::<i32>().map_err(|_| err())?).ok_or_else(err)?;
            }
            _ => return Err(err()),
        }
        if negative {
            mantissa = -mantissa;
        }
        Ok(Self::normalised(mantissa, exponent))
    }

    fn normalised(mut mantissa: i128, mut exponent: i32) -> Self {
        if mantissa == 0 {
            return Self { mantissa: 0, exponent: 0 };
        }
        while mantissa % 10 == 0 {
            mantissa /= 10;
            exponent += 1;
        }
        Self { mantissa, exponent }
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.mantissa < 0
    }

    /// The value in thousandths, rounded up (as Kubernetes rounds CPU requests):
    /// `1.5` → 1500, `64Mi` → 67108864000. `None` if it does not fit in an `i128`.
    pub fn milli_value(&self) -> Option<i128> {
        let exponent = self.exponent + 3;
        if exponent >= 0 {
            return self.mantissa.checked_mul(10i128.checked_pow(exponent.unsigned_abs())?);
        }
        let Some(divisor) = 10i128.checked_pow(exponent.unsigned_abs()) else {
            return Some(if self.mantissa > 0 { 1 } else { 0 });
        };
        let quotient = self.mantissa / divisor;
        Some(if self.mantissa % divisor > 0 { quotient + 1 } else { quotient })
    }
}

/// Whether two texts are the same quantity by value (`1.5Gi` and `1536Mi` are).
pub fn same_quantity(a: &str, b: &str) -> bool {
    match (ParsedQuantity::parse(a), ParsedQuantity::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_are_equal() {
        assert!(same_quantity("1.5Gi", "1536Mi"));
        assert!(same_quantity("0.5", "500m"));
        assert!(same_quantity("1000m", "1"));
        assert!(same_quantity("1e3", "1k"));
        assert!(same_quantity("2Ti", "2048Gi"));
        assert!(same_quantity("0", "0Gi"));
    }

    #[test]
    fn milli_values_round_up() {
        let milli = |text| ParsedQuantity::parse(text).unwrap().milli_value();
        assert_eq!(milli("1.5"), Some(1500));
        assert_eq!(milli("250m"), Some(250));
        assert_eq!(milli("0.0001"), Some(1));
        assert_eq!(milli("64Mi"), Some(64 * 1024 * 1024 * 1000));
        assert_eq!(milli("0"), Some(0));
        assert_eq!(milli("1e40"), None);
    }

    #[test]
    fn different_values_differ() {
        assert!(!same_quantity("1Gi", "1G"));
        assert!(!same_quantity("16", "17"));
        assert!(!same_quantity("500m", "5"));
    }

    #[test]
    fn signs() {
        assert!(ParsedQuantity::parse("-1").unwrap().is_negative());
        assert!(!ParsedQuantity::parse("+3Gi").unwrap().is_negative());
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "abc", "1.2.3", "12Qi", ".", "1e", "Gi"] {
            assert!(ParsedQuantity::parse(bad).is_err(), "{bad} parsed");
        }
    }
}
