//! Reading distinguished names (RFC 4514): the common name of a group from its DN.

/// The `cn` value of the first RDN of `dn`, unescaped: `CN=VDI-Staff,OU=Groups,DC=lm,DC=test`
/// gives `VDI-Staff`. `None` when the first RDN has no `cn` or the DN is malformed.
pub(super) fn cn_of_dn(dn: &str) -> Option<String> {
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
    use super::cn_of_dn;

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
