//! A person's or a service's account: its name, place and managed attributes.

use makonis_api::identity::{DirectoryServiceAccountSpec, DirectoryUserSpec};

use super::{
    attributes::{Compare, Wanted},
    ownership::MARKER_ATTRIBUTE,
};
use crate::{
    account::{self, DONT_EXPIRE_PASSWORD, NORMAL_ACCOUNT, with_enabled},
    layout::child_dn,
};

/// The account's common name: the display name, or `<given name> <surname>`.
pub fn user_cn(spec: &DirectoryUserSpec) -> String {
    spec.display_name.clone().unwrap_or_else(|| format!("{} {}", spec.given_name, spec.surname))
}

/// Where a person's account belongs: `CN=<name>,OU=People,<agency OU>`.
pub fn user_dn(spec: &DirectoryUserSpec, people_ou: &str) -> String {
    child_dn(&user_cn(spec), people_ou)
}

/// The `userPrincipalName` of `username` with `suffix`.
pub fn principal_name(username: &str, suffix: &str) -> String {
    format!("{username}@{suffix}")
}

/// What a person's account takes from other objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Linked {
    /// The manager's DN, when the spec names a manager (from their DirectoryUser).
    pub manager_dn: Option<String>,
    /// The addresses of the person's mailbox as `proxyAddresses` holds them (from their
    /// Mailbox's status); none without a mailbox.
    pub proxy_addresses: Vec<String>,
}

/// `proxyAddresses` of a mailbox: the primary address as `SMTP:`, each alias as `smtp:`.
pub fn proxy_addresses(primary: Option<&str>, aliases: &[String]) -> Vec<String> {
    match primary {
        Some(primary) => std::iter::once(format!("SMTP:{primary}"))
            .chain(aliases.iter().filter(|a| a.as_str() != primary).map(|a| format!("smtp:{a}")))
            .collect(),
        None => Vec::new(),
    }
}

/// What the platform keeps true on a person's account. `live_uac` is the account's
/// `userAccountControl` (only its disabled bit is managed).
pub fn user_attributes(
    spec: &DirectoryUserSpec,
    upn_suffix: &str,
    linked: &Linked,
    marker: &str,
    live_uac: u32,
) -> Result<Vec<Wanted>, String> {
    let expires = account::account_expires(spec.expires.as_deref())
        .ok_or_else(|| format!("expires: {:?} is not a date", spec.expires.as_deref().unwrap_or_default()))?;
    Ok(vec![
        Wanted::text("givenName", Some(spec.given_name.as_str())),
        Wanted::text("sn", Some(spec.surname.as_str())),
        Wanted::text("displayName", Some(user_cn(spec))),
        Wanted::text("userPrincipalName", Some(principal_name(&spec.username, upn_suffix))),
        Wanted::text("mail", spec.email.as_deref()),
        Wanted::text("title", spec.title.as_deref()),
        Wanted::text("department", spec.department.as_deref()),
        Wanted::dn("manager", linked.manager_dn.as_deref()),
        Wanted::set("proxyAddresses", &linked.proxy_addresses),
        Wanted { name: "accountExpires", value: Some(expires), compare: Compare::Expiry },
        Wanted::text("userAccountControl", Some(with_enabled(live_uac, spec.enabled).to_string())),
        Wanted::text(MARKER_ATTRIBUTE, Some(marker)),
    ])
}

/// The account control of a new person's account.
pub fn new_user_uac(spec: &DirectoryUserSpec) -> u32 {
    with_enabled(NORMAL_ACCOUNT, spec.enabled)
}

/// What the platform keeps true on a service account.
pub fn service_account_attributes(
    spec: &DirectoryServiceAccountSpec,
    upn_suffix: &str,
    marker: &str,
    live_uac: u32,
) -> Vec<Wanted> {
    vec![
        Wanted::text("displayName", Some(spec.username.as_str())),
        Wanted::text("userPrincipalName", Some(principal_name(&spec.username, upn_suffix))),
        Wanted::text("description", spec.description.as_deref()),
        Wanted::text("userAccountControl", Some((with_enabled(live_uac, true) | DONT_EXPIRE_PASSWORD).to_string())),
        Wanted::text(MARKER_ATTRIBUTE, Some(marker)),
    ]
}

/// The account control of a new service account: enabled, password never expires.
pub const NEW_SERVICE_UAC: u32 = NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::attributes::names;

    fn spec() -> DirectoryUserSpec {
        serde_json::from_value(serde_json::json!({
            "username": "liga.ozolina", "givenName": "Līga", "surname": "Ozoliņa",
            "email": "liga.ozolina@vsaa.gov.lv", "department": "Finanšu nodaļa"
        }))
        .unwrap()
    }

    #[test]
    fn a_person_is_named_and_placed_from_the_spec() {
        let spec = spec();
        assert_eq!(user_dn(&spec, "OU=People,OU=vsaa,DC=lm"), "CN=Līga Ozoliņa,OU=People,OU=vsaa,DC=lm");
        let wanted = user_attributes(&spec, "lm.test", &Linked::default(), "m", 512).unwrap();
        let value = |name: &str| wanted.iter().find(|w| w.name == name).and_then(|w| w.value.clone());
        assert_eq!(value("userPrincipalName").as_deref(), Some("liga.ozolina@lm.test"));
        assert_eq!(value("department").as_deref(), Some("Finanšu nodaļa"));
        assert_eq!(value("title"), None);
        assert_eq!(value("accountExpires").as_deref(), Some(crate::account::NEVER));
        assert_eq!(value("userAccountControl").as_deref(), Some("512"));
    }

    #[test]
    fn disabling_changes_only_the_disabled_bit() {
        let mut spec = spec();
        spec.enabled = false;
        let wanted = user_attributes(&spec, "lm.test", &Linked::default(), "m", 512 | 0x1_0000).unwrap();
        let uac = wanted.iter().find(|w| w.name == "userAccountControl").unwrap();
        assert_eq!(uac.value.as_deref(), Some("66050"));
        assert_eq!(new_user_uac(&spec), 514);
    }

    #[test]
    fn a_display_name_renames_the_account() {
        let mut spec = spec();
        spec.display_name = Some("Līga Ozoliņa-Kalniņa".into());
        assert_eq!(user_cn(&spec), "Līga Ozoliņa-Kalniņa");
        let live = crate::ldap::Entry::default();
        let wanted = user_attributes(&spec, "lm.test", &Linked::default(), "m", 512).unwrap();
        assert!(names(&crate::plan::attributes::differences(&wanted, &live)).contains("displayName"));
    }

    #[test]
    fn service_accounts_never_expire_their_password() {
        let spec: DirectoryServiceAccountSpec =
            serde_json::from_value(serde_json::json!({"username": "svc-dms"})).unwrap();
        let wanted = service_account_attributes(&spec, "lm.test", "m", 514);
        let uac = wanted.iter().find(|w| w.name == "userAccountControl").unwrap();
        assert_eq!(uac.value.as_deref(), Some("66048"));
    }
}
