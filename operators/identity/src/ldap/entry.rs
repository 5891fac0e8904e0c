//! An entry as read from the directory: its DN, its `objectGUID` and its text attributes
//! (names in lower case).

use std::collections::BTreeMap;

use ldap3::SearchEntry;

/// One entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entry {
    /// Its distinguished name, as the server wrote it.
    pub dn: String,
    /// Its `objectGUID` in the usual text form, when read.
    pub guid: Option<String>,
    /// Text attributes by lower-case name.
    pub attributes: BTreeMap<String, Vec<String>>,
}

impl Entry {
    /// The first value of `name`.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.attributes.get(&name.to_lowercase()).and_then(|v| v.first()).map(String::as_str)
    }

    /// Every value of `name`.
    pub fn values(&self, name: &str) -> &[String] {
        self.attributes.get(&name.to_lowercase()).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The first value of `name` as a number.
    pub fn number(&self, name: &str) -> Option<i64> {
        self.first(name)?.trim().parse().ok()
    }
}

impl From<SearchEntry> for Entry {
    fn from(entry: SearchEntry) -> Self {
        let guid = entry
            .bin_attrs
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("objectGUID"))
            .and_then(|(_, values)| values.first())
            .and_then(|bytes| guid_text(bytes));
        let attributes = entry.attrs.into_iter().map(|(name, values)| (name.to_lowercase(), values)).collect();
        Self { dn: entry.dn, guid, attributes }
    }
}

/// The text form of a 16-byte GUID: the first three fields little-endian, as Windows
/// writes it (`objectGUID` in `ldbsearch`, PowerShell and the AD tools).
pub fn guid_text(bytes: &[u8]) -> Option<String> {
    let b: &[u8; 16] = bytes.try_into().ok()?;
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
    ))
}

/// The search filter for the entry whose `objectGUID` has the text form `guid`, every
/// byte escaped; `None` when `guid` is not a GUID.
pub fn guid_filter(guid: &str) -> Option<String> {
    let hex: String = guid.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| &hex[i * 2..i * 2 + 2];
    let order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    let escaped: String = order.iter().map(|&i| format!("\\{}", byte(i))).collect();
    Some(format!("(objectGUID={escaped})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_round_trip_between_bytes_text_and_filter() {
        let bytes: Vec<u8> = (0u8..16).collect();
        let text = guid_text(&bytes).unwrap();
        assert_eq!(text, "03020100-0504-0706-0809-0a0b0c0d0e0f");
        assert_eq!(
            guid_filter(&text).unwrap(),
            "(objectGUID=\\00\\01\\02\\03\\04\\05\\06\\07\\08\\09\\0a\\0b\\0c\\0d\\0e\\0f)"
        );
        assert_eq!(guid_text(&bytes[..15]), None);
        assert_eq!(guid_filter("*)(objectClass=*"), None);
    }

    #[test]
    fn attributes_are_read_by_any_case() {
        let mut entry = Entry::default();
        entry.attributes.insert("givenname".into(), vec!["Līga".into()]);
        entry.attributes.insert("useraccountcontrol".into(), vec!["514".into()]);
        assert_eq!(entry.first("givenName"), Some("Līga"));
        assert_eq!(entry.number("userAccountControl"), Some(514));
        assert!(entry.values("member").is_empty());
    }
}
