//! Generated passwords and the form Active Directory takes them in.

/// Letters and digits that cannot be mistaken for each other when a password is read out.
const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const DIGITS: &[u8] = b"23456789";
const SYMBOLS: &[u8] = b"!#%+-=?@_";

/// Length of a generated password: well above any domain's minimum (AD allows 256).
pub const GENERATED_LENGTH: usize = 20;

/// A random password of [`GENERATED_LENGTH`] characters with at least one of each class
/// (upper case, lower case, digit, symbol), so it meets AD's complexity rule whatever the
/// account name. `getrandom` is the operating system's generator.
pub fn generate() -> Result<String, getrandom::Error> {
    let all: Vec<u8> = [UPPER, LOWER, DIGITS, SYMBOLS].concat();
    let mut random = [0u8; GENERATED_LENGTH * 2];
    getrandom::fill(&mut random)?;
    let mut chars: Vec<u8> = Vec::with_capacity(GENERATED_LENGTH);
    for (i, class) in [UPPER, LOWER, DIGITS, SYMBOLS].iter().enumerate() {
        chars.push(pick(class, random[i]));
    }
    for &byte in &random[4..GENERATED_LENGTH] {
        chars.push(pick(&all, byte));
    }
    // Shuffle so the classes are not always in the same places (Fisher–Yates).
    for i in (1..chars.len()).rev() {
        let j = usize::from(random[GENERATED_LENGTH + i]) % (i + 1);
        chars.swap(i, j);
    }
    Ok(String::from_utf8(chars).expect("ASCII"))
}

/// One character of `class` chosen by `byte`. The modulo bias (at most 256 mod 33) is
/// irrelevant at 20 characters of ~6 bits each.
fn pick(class: &[u8], byte: u8) -> u8 {
    class[usize::from(byte) % class.len()]
}

/// The `unicodePwd` value for `password`: the password in double quotes, UTF-16LE.
/// Active Directory accepts it only over an encrypted connection.
pub fn unicode_pwd(password: &str) -> Vec<u8> {
    format!("\"{password}\"").encode_utf16().flat_map(u16::to_le_bytes).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_have_every_class_and_differ() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        for p in [&a, &b] {
            assert_eq!(p.len(), GENERATED_LENGTH);
            assert!(p.bytes().any(|c| UPPER.contains(&c)), "{p}");
            assert!(p.bytes().any(|c| LOWER.contains(&c)), "{p}");
            assert!(p.bytes().any(|c| DIGITS.contains(&c)), "{p}");
            assert!(p.bytes().any(|c| SYMBOLS.contains(&c)), "{p}");
        }
    }

    #[test]
    fn unicode_pwd_is_quoted_utf16le() {
        assert_eq!(unicode_pwd("Ab1"), vec![b'"', 0, b'A', 0, b'b', 0, b'1', 0, b'"', 0]);
        // "ā" is U+0101: 01 01 in little-endian.
        assert_eq!(&unicode_pwd("ā")[2..4], &[0x01, 0x01]);
    }
}
