//! Which entries are the platform's. The platform writes a marker naming the object it
//! keeps the entry for into `adminDescription`, and records the entry's `objectGUID` in
//! the object's status; an entry with neither is someone else's and is never changed.

use crate::ldap::Entry;

/// The attribute the marker is kept in (every AD class may hold it; people never see it).
pub const MARKER_ATTRIBUTE: &str = "adminDescription";

/// The marker of an entry kept for the namespaced object `kind` `namespace/name`.
pub fn marker(kind: &str, namespace: &str, name: &str) -> String {
    format!("makonis:{kind}:{namespace}/{name}")
}

/// The marker of an entry kept for the agency `code` (its OUs and role groups).
pub fn agency_marker(code: &str) -> String {
    format!("makonis:Agency:{code}")
}

/// Whose an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// Ours: the marker is this object's, or the entry is the one recorded in its status.
    Ours,
    /// Someone else's: another object's marker, or none.
    Theirs(Option<String>),
}

/// Whose `entry` is, for the object with `marker` that recorded `known_guid`.
pub fn ownership(entry: &Entry, marker: &str, known_guid: Option<&str>) -> Ownership {
    let found = entry.first(MARKER_ATTRIBUTE);
    let guid_matches = matches!((known_guid, entry.guid.as_deref()), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b));
    if found == Some(marker) || guid_matches { Ownership::Ours } else { Ownership::Theirs(found.map(str::to_string)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(marker: Option<&str>, guid: Option<&str>) -> Entry {
        let mut entry = Entry { guid: guid.map(str::to_string), ..Entry::default() };
        if let Some(marker) = marker {
            entry.attributes.insert("admindescription".into(), vec![marker.into()]);
        }
        entry
    }

    #[test]
    fn an_entry_is_ours_by_marker_or_recorded_guid_only() {
        let ours = marker("DirectoryUser", "agency-vsaa", "liga");
        assert_eq!(ownership(&entry(Some(&ours), None), &ours, None), Ownership::Ours);
        assert_eq!(ownership(&entry(None, Some("AB-1")), &ours, Some("ab-1")), Ownership::Ours);
        assert_eq!(ownership(&entry(None, None), &ours, None), Ownership::Theirs(None));
        let other = marker("DirectoryUser", "agency-vdi", "liga");
        assert_eq!(ownership(&entry(Some(&other), Some("x")), &ours, Some("y")), Ownership::Theirs(Some(other)));
    }
}
