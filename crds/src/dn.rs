//! Distinguished names (RFC 4514): escaping a value, the common name of a group from its DN, and
//! the canonical form two DNs are compared in.

/// The `cn` value of the first RDN of `dn`, unescaped: `CN=VDI-Staff,OU=Groups,DC=lm,DC=test`
/// gives `VDI-Staff`. `None` when the first RDN has no `cn` or the DN is malformed.
pub fn cn_of_dn(dn: &str) -> Option<String> {
    let mut chars = dn.trim_start().chars();
    loop {
        // One attribute type and value of the first RDN (several when joined by `+`).
        let kind: String = chars.by_ref().take_while(|&c| c != '=').collect();
        let (value, end) = read_value(&mut chars)?;
        if kind.trim().eq_ignore_ascii_case("cn") {
            return String::from_utf8(value).ok().filter(|v| !v.is_empty());
        }
        if end != '+' {
            return None;
        }
    }
}

/// The canonical form of `dn` for comparisons: every RDN as `type=value` with the type in
/// lower case, the value unescaped, trimmed and in lower case (Active Directory and the
/// `cn`/`ou`/`dc` matching rules of OpenLDAP ignore case), re-escaped where RFC 4514 asks,
/// the parts of a multi-valued RDN sorted. `CN=VDI-Admins, OU=VDI,DC=lm` and
/// `cn=vdi-admins,ou=vdi,dc=lm` give the same text. `None` for a malformed DN.
pub fn normalize_dn(dn: &str) -> Option<String> {
    let mut chars = dn.trim().chars();
    let mut rdns = Vec::new();
    let mut parts = Vec::new();
    loop {
        let mut kind = String::new();
        loop {
            match chars.next()? {
                '=' => break,
                c => kind.push(c),
            }
        }
        let kind = kind.trim().to_lowercase();
        if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
            return None;
        }
        let (value, end) = read_value(&mut chars)?;
        let value = String::from_utf8(value).ok()?.to_lowercase();
        parts.push(format!("{kind}={}", escape_value(&value)));
        if end != '+' {
            parts.sort();
            rdns.push(parts.join("+"));
            parts.clear();
        }
        if end == '\0' {
            return Some(rdns.join(","));
        }
    }
}

/// `value` escaped as RFC 4514 asks: `, + " \ < > ;` and `=` always, `#` and a space at
/// the start, a space at the end. What a DN built from a name (`CN=<value>,OU=…`) needs.
pub fn escape_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && matches!(c, '#' | ' '))
            || (i == last && c == ' ');
        if c == '\0' {
            escaped.push_str("\\00");
            continue;
        }
        if special {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Reads an attribute value up to an unescaped `,`, `;`, `+` or the end (returned as `\0`),
/// decoding `\X` and `\hh` escapes. Hex-encoded (`#...`) and quoted values are not names.
fn read_value(chars: &mut std::str::Chars<'_>) -> Option<(Vec<u8>, char)> {
    let mut value = Vec::new();
    let mut buf = [0u8; 4];
    while let Some(c) = chars.next() {
        match c {
            ',' | ';' | '+' => return Some((trim_spaces(value), c)),
            '#' | '"' if value.is_empty() => return None,
            '\\' => {
                let first = chars.next()?;
                match first.to_digit(16) {
                    Some(high) => {
                        let low = chars.next()?.to_digit(16)?;
                        value.push(u8::try_from(high * 16 + low).ok()?);
                    }
                    None => value.extend_from_slice(first.encode_utf8(&mut buf).as_bytes()),
                }
            }
            c => value.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
        }
    }
    Some((trim_spaces(value), '\0'))
}

/// Drops the unescaped spaces that may surround a value (`cn = x , dc=y`).
fn trim_spaces(mut value: Vec<u8>) -> Vec<u8> {
    while value.last() == Some(&b' ') {
        value.pop();
    }
    let leading = value.iter().take_while(|&&b| b == b' ').count();
    value.drain(..leading);
    value
}

#[cfg(test)]
mod tests {
    use super::{cn_of_dn, normalize_dn};

    #[test]
    fn equal_dns_normalise_to_the_same_text() {
        let canonical = Some("cn=vdi-admins,ou=vdi,ou=iestades,dc=lm,dc=test".to_owned());
        for dn in [
            "CN=VDI-Admins,OU=VDI,OU=Iestades,DC=lm,DC=test",
            "cn=vdi-admins,ou=vdi,ou=iestades,dc=lm,dc=test",
            " CN = VDI-Admins , OU=VDI,OU=Iestades,DC=lm,DC=test ",
            "CN=VDI\\2dAdmins,OU=VDI,OU=Iestades,DC=lm,DC=test",
        ] {
            assert_eq!(normalize_dn(dn), canonical, "{dn:?}");
        }
        assert_eq!(normalize_dn("CN=Doe\\, John,OU=x").as_deref(), Some("cn=doe\\, john,ou=x"));
        assert_eq!(normalize_dn("UID=x+CN=Foo,dc=y"), normalize_dn("cn=foo+uid=x,DC=Y"));
        assert_eq!(normalize_dn("CN=R\\C4\\92ga,DC=x").as_deref(), Some("cn=rēga,dc=x"));
    }

    #[test]
    fn values_are_escaped_for_a_dn() {
        assert_eq!(super::escape_value("Doe, John"), "Doe\\, John");
        assert_eq!(super::escape_value("#1 a=b+c "), "\\#1 a\\=b\\+c\\ ");
        assert_eq!(super::escape_value("Līga Ozoliņa"), "Līga Ozoliņa");
        assert_eq!(super::escape_value("a\0b"), "a\\00b");
        let dn = format!("CN={},OU=x", super::escape_value("x,OU=Admins"));
        assert_eq!(cn_of_dn(&dn).as_deref(), Some("x,OU=Admins"));
    }

    #[test]
    fn a_same_name_elsewhere_is_another_dn() {
        assert_ne!(
            normalize_dn("CN=Makonis-Platform-Admins,OU=Rogue,DC=lm,DC=test"),
            normalize_dn("CN=Makonis-Platform-Admins,OU=Makonis,DC=lm,DC=test")
        );
        // An escaped comma is part of the name, not a level of the tree.
        assert_ne!(normalize_dn("CN=a\\,OU=b,DC=x"), normalize_dn("CN=a,OU=b,DC=x"));
    }

    #[test]
    fn malformed_dns_have_no_normal_form() {
        for dn in ["", "VDI-Admins", "=x,dc=y", "cn=a,", "cn=bad\\", "c n=a", "cn=#04024869"] {
            assert_eq!(normalize_dn(dn), None, "{dn:?}");
        }
    }

    #[test]
    fn the_first_cn_is_the_name() {
        assert_eq!(cn_of_dn("CN=VDI-Requesters,CN=Users,DC=lm,DC=test").as_deref(), Some("VDI-Requesters"));
        assert_eq!(cn_of_dn("cn=VDI-Staff,ou=groups,dc=lm,dc=test").as_deref(), Some("VDI-Staff"));
        assert_eq!(cn_of_dn("cn=Solo").as_deref(), Some("Solo"));
        assert_eq!(cn_of_dn(" cn = Spaced ,dc=x").as_deref(), Some("Spaced"));
    }

    #[test]
    fn escapes_are_decoded() {
        assert_eq!(cn_of_dn("CN=Doe\\, John,OU=x").as_deref(), Some("Doe, John"));
        assert_eq!(cn_of_dn("CN=R\\C4\\93ga\\2b,DC=x").as_deref(), Some("Rēga+"));
        assert_eq!(cn_of_dn("cn=Bērziņa,dc=x").as_deref(), Some("Bērziņa"));
        assert_eq!(cn_of_dn("CN=a\\\\b;DC=x").as_deref(), Some("a\\b"));
    }

    #[test]
    fn multi_valued_rdns_are_searched_for_the_cn() {
        assert_eq!(cn_of_dn("uid=x+cn=Foo,dc=y").as_deref(), Some("Foo"));
        assert_eq!(cn_of_dn("uid=x+sn=y,cn=Foo").as_deref(), None);
    }

    #[test]
    fn other_first_rdns_and_broken_dns_have_no_name() {
        for dn in ["OU=Groups,DC=lm,DC=test", "", "CN=,DC=x", "CN=#04024869,DC=x", "CN=bad\\", "CN=bad\\4"] {
            assert_eq!(cn_of_dn(dn), None, "{dn:?}");
        }
    }
}
