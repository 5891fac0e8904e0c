//! Mail addresses as the mail system stores them: checked again (the schema already
//! checked them, but a value reaches Postfix's and Dovecot's files only through here) and
//! folded to lower case, the form Postfix looks up.

use std::fmt;

/// A checked, lower-case address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(String);

/// Why a text is not an address the platform delivers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressError(pub String);

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Address {
    /// Checks `text` and folds it to lower case.
    pub fn parse(text: &str) -> Result<Self, AddressError> {
        let refuse =
            |why: &str| Err(AddressError(format!("{text:?} is not a mail address the platform delivers to: {why}")));
        let Some((local, domain)) = text.split_once('@') else {
            return refuse("it has no @");
        };
        if local.is_empty() || local.len() > 64 {
            return refuse("the part before @ must have 1 to 64 characters");
        }
        let local_ok = local.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            && local.starts_with(|c: char| c.is_ascii_alphanumeric())
            && local.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !local_ok {
            return refuse(
                "the part before @ may hold only letters, digits, '.', '_' and '-', and must start and end with a letter or digit",
            );
        }
        let domain = domain.to_ascii_lowercase();
        if !is_domain(&domain) {
            return refuse("the part after @ must be a DNS name of at least two labels");
        }
        Ok(Self(format!("{}@{domain}", local.to_ascii_lowercase())))
    }

    /// The address's domain.
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, domain)| domain)
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `name` is a lower-case DNS name of at least two labels (letters, digits and
/// inner hyphens; 1–63 characters a label; 253 in all).
pub fn is_domain(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_fold_to_lower_case() {
        let address = Address::parse("Janis.Berzins@VSAA.gov.lv").unwrap();
        assert_eq!(address.as_str(), "janis.berzins@vsaa.gov.lv");
        assert_eq!(address.domain(), "vsaa.gov.lv");
    }

    #[test]
    fn nothing_that_could_break_a_map_file_passes() {
        for hostile in [
            "a b@vsaa.gov.lv",
            "a,b@vsaa.gov.lv",
            "a:b@vsaa.gov.lv",
            "a\n@vsaa.gov.lv",
            "a@vsaa.gov.lv\nrelayhost = evil",
            "\"a\"@vsaa.gov.lv",
            "a@b@vsaa.gov.lv",
            "a@localhost",
            "a@-vsaa.gov.lv",
            "a@vsaa..gov.lv",
            ".a@vsaa.gov.lv",
            "a.@vsaa.gov.lv",
            "a+b@vsaa.gov.lv",
            "a/../../etc@vsaa.gov.lv",
            "ā@vsaa.gov.lv",
            "@vsaa.gov.lv",
        ] {
            assert!(Address::parse(hostile).is_err(), "{hostile:?} passed");
        }
    }

    #[test]
    fn domains_need_two_labels_and_no_edge_hyphens() {
        assert!(is_domain("vsaa.gov.lv"));
        assert!(is_domain("lm.test"));
        assert!(!is_domain("lv"));
        assert!(!is_domain("VSAA.gov.lv"));
        assert!(!is_domain("vsaa.gov.lv."));
        assert!(!is_domain(&format!("{}.lv", "a".repeat(64))));
    }
}
