//! Where the platform puts things in the directory: an agency's OU and its sub-OUs, the
//! DNs of accounts and groups, and which Directory holds an agency. Every value that
//! comes from an object is escaped into its RDN; no DN is ever built from a DN a tenant
//! wrote.

use makonis_api::dn::{escape_value, normalize_dn};

/// The sub-OU of an agency's OU that holds people.
pub const PEOPLE: &str = "People";
/// The sub-OU that holds groups (the role groups too).
pub const GROUPS: &str = "Groups";
/// The sub-OU that holds service accounts.
pub const SERVICE_ACCOUNTS: &str = "Service Accounts";
/// The sub-OU removed accounts wait in, disabled, until they are deleted.
pub const LEAVERS: &str = "Leavers";

/// Every sub-OU an agency gets, in the order they are created.
pub const SUB_UNITS: [&str; 4] = [PEOPLE, GROUPS, SERVICE_ACCOUNTS, LEAVERS];

/// `OU=<unit>,<agency_ou>`.
pub fn sub_unit(agency_ou: &str, unit: &str) -> String {
    format!("OU={},{agency_ou}", escape_value(unit))
}

/// The RDN of an entry named `cn`: `CN=<cn escaped>`.
pub fn cn_rdn(cn: &str) -> String {
    format!("CN={}", escape_value(cn))
}

/// The DN of an entry named `cn` in `parent`.
pub fn child_dn(cn: &str, parent: &str) -> String {
    format!("{},{parent}", cn_rdn(cn))
}

/// The OUs from just below `base` down to `ou` itself, which must all exist for `ou` to be
/// created: `OU=vsaa,OU=Agencies,DC=lm,DC=test` under `DC=lm,DC=test` gives
/// `OU=Agencies,DC=lm,DC=test` then `OU=vsaa,OU=Agencies,DC=lm,DC=test`. `None` when `ou`
/// does not lie under `base` or a level is not an OU.
pub fn unit_chain(ou: &str, base: &str) -> Option<Vec<String>> {
    let base_norm = normalize_dn(base)?;
    let rdns = split_rdns(ou)?;
    let mut chain = Vec::new();
    for start in (0..rdns.len()).rev() {
        let dn = rdns[start..].join(",");
        let norm = normalize_dn(&dn)?;
        if norm.len() <= base_norm.len() {
            if norm == base_norm {
                continue;
            }
            if base_norm.ends_with(&format!(",{norm}")) {
                continue;
            }
            return None;
        }
        if !norm.ends_with(&format!(",{base_norm}")) {
            return None;
        }
        if !rdns[start].trim().get(..3).is_some_and(|t| t.eq_ignore_ascii_case("ou=")) {
            return None;
        }
        chain.push(dn);
    }
    (!chain.is_empty()).then_some(chain)
}

/// The RDNs of `dn` as written (escapes kept), split at unescaped commas. `None` for a DN
/// that ends inside an escape.
fn split_rdns(dn: &str) -> Option<Vec<String>> {
    let mut rdns = Vec::new();
    let mut current = String::new();
    let mut chars = dn.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                current.push(c);
                current.push(chars.next()?);
            }
            ',' => rdns.push(std::mem::take(&mut current).trim().to_string()),
            c => current.push(c),
        }
    }
    rdns.push(current.trim().to_string());
    rdns.iter().all(|r| !r.is_empty()).then_some(rdns)
}

/// Whether `dn` lies strictly inside the subtree of `ancestor` (both compared normalised).
pub fn is_inside(dn: &str, ancestor: &str) -> bool {
    match (normalize_dn(dn), normalize_dn(ancestor)) {
        (Some(dn), Some(ancestor)) => dn.ends_with(&format!(",{ancestor}")),
        _ => false,
    }
}

/// Whether two DNs name the same entry.
pub fn same_dn(a: &str, b: &str) -> bool {
    matches!((normalize_dn(a), normalize_dn(b)), (Some(a), Some(b)) if a == b)
}

/// The name of the Directory that holds `agency_ou`: of the `(name, base DN)` pairs, the
/// one whose base is the longest ancestor of the OU.
pub fn directory_for<'a>(
    agency_ou: &str,
    directories: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<&'a str> {
    directories
        .into_iter()
        .filter(|(_, base)| is_inside(agency_ou, base))
        .max_by_key(|(_, base)| normalize_dn(base).map(|b| b.len()).unwrap_or(0))
        .map(|(name, _)| name)
}

/// The default `userPrincipalName` suffix of a base DN: `DC=lm,DC=gov,DC=lv` → `lm.gov.lv`.
pub fn domain_of(base_dn: &str) -> String {
    base_dn
        .split(',')
        .filter_map(|rdn| rdn.trim().split_once('='))
        .filter(|(kind, _)| kind.trim().eq_ignore_ascii_case("dc"))
        .map(|(_, value)| value.trim().to_lowercase())
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "DC=lm,DC=test";

    #[test]
    fn the_chain_of_units_runs_down_from_the_base() {
        assert_eq!(
            unit_chain("OU=vsaa,OU=Agencies,DC=lm,DC=test", BASE),
            Some(vec!["OU=Agencies,DC=lm,DC=test".to_string(), "OU=vsaa,OU=Agencies,DC=lm,DC=test".to_string()])
        );
        assert_eq!(unit_chain("ou=vdi, dc=LM,dc=test", BASE), Some(vec!["ou=vdi,dc=LM,dc=test".to_string()]));
    }

    #[test]
    fn a_unit_outside_the_base_or_below_a_non_unit_has_no_chain() {
        assert_eq!(unit_chain("OU=vsaa,DC=other,DC=test", BASE), None);
        assert_eq!(unit_chain("OU=vsaa,CN=Users,DC=lm,DC=test", BASE), None);
        assert_eq!(unit_chain(BASE, BASE), None);
        assert_eq!(unit_chain("OU=a\\,DC=lm,DC=test,DC=evil", BASE), None);
    }

    #[test]
    fn names_are_escaped_into_their_rdn() {
        assert_eq!(child_dn("Līga Ozoliņa", "OU=People,OU=vsaa"), "CN=Līga Ozoliņa,OU=People,OU=vsaa");
        assert_eq!(child_dn("x,OU=Admins", "OU=People,OU=vsaa"), "CN=x\\,OU\\=Admins,OU=People,OU=vsaa");
        assert_eq!(sub_unit("OU=vsaa,DC=lm", SERVICE_ACCOUNTS), "OU=Service Accounts,OU=vsaa,DC=lm");
        assert!(is_inside(&child_dn("x,OU=Admins", "OU=People,OU=vsaa,DC=lm"), "OU=People,OU=vsaa,DC=lm"));
    }

    #[test]
    fn inside_means_strictly_below() {
        assert!(is_inside("CN=a,OU=vsaa,DC=lm,DC=test", "ou=VSAA,dc=lm,dc=test"));
        assert!(!is_inside("OU=vsaa,DC=lm,DC=test", "OU=vsaa,DC=lm,DC=test"));
        assert!(!is_inside("CN=a,OU=xvsaa,DC=lm,DC=test", "OU=vsaa,DC=lm,DC=test"));
        assert!(!is_inside("CN=a\\,OU=vsaa,DC=lm,DC=test", "OU=vsaa,DC=lm,DC=test"));
        assert!(!is_inside("garbage", "OU=vsaa,DC=lm,DC=test"));
    }

    #[test]
    fn the_longest_base_holds_the_agency() {
        let directories = [("sector", "DC=gov,DC=lv"), ("lm", "DC=lm,DC=gov,DC=lv"), ("other", "DC=x,DC=lv")];
        assert_eq!(directory_for("OU=vsaa,DC=lm,DC=gov,DC=lv", directories), Some("lm"));
        assert_eq!(directory_for("OU=vdi,DC=vdi,DC=gov,DC=lv", directories), Some("sector"));
        assert_eq!(directory_for("OU=vdi,DC=example,DC=com", directories), None);
    }

    #[test]
    fn the_domain_of_a_base() {
        assert_eq!(domain_of("DC=lm,DC=gov,DC=lv"), "lm.gov.lv");
        assert_eq!(domain_of("dc=LM, dc=test"), "lm.test");
    }
}
