//! Managed attributes: the values wanted, how each is compared, and the differences
//! between them and an entry.

use std::fmt;

use crate::{account::same_expiry, layout::same_dn, ldap::Change, ldap::Entry};

/// How an attribute's live value is compared with the wanted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// Exactly (names are case-sensitive: `Līga` is not `līga`).
    Text,
    /// As distinguished names (case and spacing do not matter).
    Dn,
    /// As `accountExpires` values (0 and the maximum both mean never).
    Expiry,
    /// As a set of values (a multi-valued attribute such as `proxyAddresses`); the value
    /// holds them sorted, one per line.
    Set,
}

/// One managed attribute and the value it should have (`None`: absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The attribute's LDAP name.
    pub name: &'static str,
    /// The value wanted.
    pub value: Option<String>,
    /// How it is compared.
    pub compare: Compare,
}

impl Wanted {
    /// A text attribute.
    pub fn text(name: &'static str, value: Option<impl Into<String>>) -> Self {
        Self { name, value: value.map(Into::into), compare: Compare::Text }
    }

    /// A DN-valued attribute.
    pub fn dn(name: &'static str, value: Option<impl Into<String>>) -> Self {
        Self { name, value: value.map(Into::into), compare: Compare::Dn }
    }

    /// A multi-valued attribute holding exactly `values` (none: absent).
    pub fn set(name: &'static str, values: &[String]) -> Self {
        Self { name, value: joined_set(values), compare: Compare::Set }
    }
}

/// A set of values as [`Compare::Set`] holds it: sorted, one per line; `None` when empty.
fn joined_set(values: &[String]) -> Option<String> {
    let mut values = values.to_vec();
    values.sort();
    values.dedup();
    (!values.is_empty()).then(|| values.join("\n"))
}

/// The values of a [`Compare::Set`] value.
fn split_set(value: &str) -> impl Iterator<Item = &str> {
    value.split('\n')
}

/// An attribute whose live value is not the wanted one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The attribute's LDAP name.
    pub attribute: &'static str,
    /// What the directory holds.
    pub live: Option<String>,
    /// What it should hold.
    pub wanted: Option<String>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<String>| v.as_ref().map_or_else(|| "(none)".to_string(), |v| format!("{v:?}"));
        write!(f, "{} is {}, declared {}", self.attribute, show(&self.live), show(&self.wanted))
    }
}

/// The attributes of `wanted` whose values in `entry` differ.
pub fn differences(wanted: &[Wanted], entry: &Entry) -> Vec<Difference> {
    wanted
        .iter()
        .filter_map(|want| {
            let live = match want.compare {
                Compare::Set => joined_set(entry.values(want.name)),
                _ => entry.first(want.name).map(str::to_string),
            };
            let same = match (&live, &want.value) {
                (None, None) => true,
                (Some(live), Some(value)) => match want.compare {
                    Compare::Text => live == value,
                    Compare::Dn => same_dn(live, value),
                    Compare::Expiry => same_expiry(live, value),
                    Compare::Set => live == value,
                },
                (Some(live), None) => want.compare == Compare::Expiry && same_expiry(live, "0"),
                (None, Some(_)) => false,
            };
            (!same).then(|| Difference { attribute: want.name, live, wanted: want.value.clone() })
        })
        .collect()
}

/// The changes that make the directory hold the wanted values of `differences`.
pub fn changes(differences: &[Difference]) -> Vec<Change> {
    differences
        .iter()
        .map(|d| {
            let values = d.wanted.iter().flat_map(|v| split_set(v)).map(|v| v.as_bytes().to_vec()).collect();
            Change::Replace(d.attribute.to_string(), values)
        })
        .collect()
}

/// The attributes of an add: every wanted value that is present.
pub fn present(wanted: &[Wanted]) -> Vec<(String, Vec<Vec<u8>>)> {
    wanted
        .iter()
        .filter_map(|w| {
            let value = w.value.as_ref()?;
            let values = match w.compare {
                Compare::Set => split_set(value).map(|v| v.as_bytes().to_vec()).collect(),
                _ => vec![value.clone().into_bytes()],
            };
            Some((w.name.to_string(), values))
        })
        .collect()
}

/// The names of the attributes in `differences`, for a condition or an Event.
pub fn names(differences: &[Difference]) -> String {
    differences.iter().map(|d| d.attribute).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pairs: &[(&str, &str)]) -> Entry {
        let mut entry = Entry::default();
        for (name, value) in pairs {
            entry.attributes.insert(name.to_lowercase(), vec![value.to_string()]);
        }
        entry
    }

    #[test]
    fn only_differing_attributes_are_reported() {
        let wanted = [
            Wanted::text("givenName", Some("Līga")),
            Wanted::text("title", None::<String>),
            Wanted::dn("manager", Some("CN=Anna,OU=People,DC=lm")),
            Wanted { name: "accountExpires", value: Some(crate::account::NEVER.into()), compare: Compare::Expiry },
        ];
        let live = entry(&[("givenName", "Līga"), ("manager", "cn=anna, ou=people,dc=LM"), ("accountExpires", "0")]);
        assert!(differences(&wanted, &live).is_empty());

        let drifted = entry(&[("givenName", "līga"), ("title", "Boss"), ("manager", "CN=Other,DC=lm")]);
        let found = differences(&wanted, &drifted);
        assert_eq!(names(&found), "givenName, title, manager, accountExpires");
        assert_eq!(found[0].to_string(), "givenName is \"līga\", declared \"Līga\"");
        assert_eq!(found[1].to_string(), "title is \"Boss\", declared (none)");
        assert_eq!(
            changes(&found)[1],
            Change::Replace("title".into(), Vec::new()),
            "an attribute not declared is removed"
        );
    }

    #[test]
    fn a_set_compares_whole_and_in_any_order() {
        let wanted = [Wanted::set("proxyAddresses", &["smtp:info@vsaa.lv".into(), "SMTP:anna@vsaa.lv".into()])];
        let mut live = Entry::default();
        live.attributes.insert("proxyaddresses".into(), vec!["SMTP:anna@vsaa.lv".into(), "smtp:info@vsaa.lv".into()]);
        assert!(differences(&wanted, &live).is_empty());
        live.attributes.insert("proxyaddresses".into(), vec!["SMTP:anna@vsaa.lv".into(), "smtp:ceo@vsaa.lv".into()]);
        let found = differences(&wanted, &live);
        assert_eq!(
            changes(&found),
            [Change::Replace(
                "proxyAddresses".into(),
                vec![b"SMTP:anna@vsaa.lv".to_vec(), b"smtp:info@vsaa.lv".to_vec()]
            )]
        );
        assert_eq!(present(&wanted)[0].1.len(), 2);
        assert_eq!(
            changes(&differences(&[Wanted::set("proxyAddresses", &[])], &live))[0],
            Change::Replace("proxyAddresses".into(), Vec::new())
        );
    }

    #[test]
    fn an_add_carries_only_present_values() {
        let wanted = [Wanted::text("givenName", Some("Jānis")), Wanted::text("title", None::<String>)];
        assert_eq!(present(&wanted), vec![("givenName".to_string(), vec!["Jānis".as_bytes().to_vec()])]);
    }
}
