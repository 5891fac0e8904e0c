//! Search filters: which login names are acceptable, and the filters that find a user and
//! the groups that contain a DN. Every value put into a filter is escaped.

use ldap3::ldap_escape;

use super::config::{DirectoryFlavour, USERNAME_PLACEHOLDER};

/// The longest accepted login name.
const MAX_USERNAME_LEN: usize = 64;

/// Whether `username` is a plausible login name: 1 to 64 characters from `A-Z a-z 0-9 . _ @ -`.
/// Anything else (wildcards, parentheses, spaces, non-ASCII) cannot be an account we accept.
pub(super) fn is_valid_username(username: &str) -> bool {
    (1..=MAX_USERNAME_LEN).contains(&username.len())
        && username.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'))
}

/// The user filter `template` with every `{username}` replaced by the escaped `username`.
pub(super) fn user_filter(template: &str, username: &str) -> String {
    template.replace(USERNAME_PLACEHOLDER, &ldap_escape(username))
}

/// The filter for the groups that list any of `member_dns` as a member. For Active
/// Directory the in-chain matching rule makes the server follow nested groups itself.
pub(super) fn group_filter(flavour: DirectoryFlavour, member_dns: &[String]) -> String {
    let (class, attribute) = match flavour {
        DirectoryFlavour::ActiveDirectory => ("group", "member:1.2.840.113556.1.4.1941:"),
        DirectoryFlavour::OpenLdap => ("groupOfNames", "member"),
    };
    let members: String = member_dns.iter().map(|dn| format!("({attribute}={})", ldap_escape(dn.as_str()))).collect();
    if member_dns.len() == 1 {
        format!("(&(objectClass={class}){members})")
    } else {
        format!("(&(objectClass={class})(|{members}))")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_names_are_limited_to_a_safe_alphabet() {
        for good in ["anna.requester", "svc-portal", "j_b", "anna@lm.test", "A1", &"a".repeat(64)] {
            assert!(is_valid_username(good), "{good} should be accepted");
        }
        for bad in ["", "*", "anna*", ")(uid=*", "anna requester", "jānis", "a\\b", "a,b", &"a".repeat(65), "a\0"] {
            assert!(!is_valid_username(bad), "{bad:?} should be refused");
        }
    }

    #[test]
    fn the_username_is_escaped_into_every_placeholder() {
        assert_eq!(
            user_filter("(&(objectClass=user)(sAMAccountName={username}))", "anna.requester"),
            "(&(objectClass=user)(sAMAccountName=anna.requester))"
        );
        assert_eq!(user_filter("(|(uid={username})(mail={username}))", "a*"), "(|(uid=a\\2a)(mail=a\\2a))");
        assert_eq!(user_filter("(uid={username})", ")(uid=*"), "(uid=\\29\\28uid=\\2a)");
        assert_eq!(user_filter("(uid={username})", "a\\b"), "(uid=a\\5cb)");
    }

    #[test]
    fn active_directory_groups_are_searched_in_chain() {
        let dn = "CN=anna.requester,CN=Users,DC=lm,DC=test".to_owned();
        assert_eq!(
            group_filter(DirectoryFlavour::ActiveDirectory, &[dn]),
            "(&(objectClass=group)(member:1.2.840.113556.1.4.1941:=CN=anna.requester,CN=Users,DC=lm,DC=test))"
        );
    }

    #[test]
    fn member_dns_are_escaped_and_combined() {
        let dns = ["uid=anna,ou=people,dc=lm,dc=test".to_owned(), "cn=Doe\\, (J*),ou=groups,dc=lm,dc=test".to_owned()];
        assert_eq!(
            group_filter(DirectoryFlavour::OpenLdap, &dns),
            "(&(objectClass=groupOfNames)(|(member=uid=anna,ou=people,dc=lm,dc=test)\
             (member=cn=Doe\\5c, \\28J\\2a\\29,ou=groups,dc=lm,dc=test)))"
        );
    }
}
