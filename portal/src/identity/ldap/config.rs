//! How to reach the directory and where to look: [`DirectoryConfig`], and the checks made
//! before anything is sent to the server.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::error::DirectoryError;

/// The placeholder of the user filter that the login name replaces.
pub(super) const USERNAME_PLACEHOLDER: &str = "{username}";

/// The kind of directory server; it decides attribute names and how groups are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryFlavour {
    /// Microsoft Active Directory or a Samba domain controller: accounts are `user` objects
    /// named by `sAMAccountName`; groups are found with the in-chain matching rule
    /// (`1.2.840.113556.1.4.1941`), so nested groups count; `userAccountControl` can disable
    /// an account.
    ActiveDirectory,
    /// OpenLDAP (or another RFC 4519 directory): accounts are `inetOrgPerson` entries named by
    /// `uid`; groups are `groupOfNames` with `member` (followed through nested groups) plus
    /// the user's `memberOf` values when the server keeps them.
    OpenLdap,
}

impl DirectoryFlavour {
    /// The attribute holding the account name.
    pub(super) fn account_attribute(self) -> &'static str {
        match self {
            Self::ActiveDirectory => "sAMAccountName",
            Self::OpenLdap => "uid",
        }
    }

    /// The usual filter for finding an account by name.
    fn default_user_filter(self) -> &'static str {
        match self {
            Self::ActiveDirectory => "(&(objectClass=user)(sAMAccountName={username}))",
            Self::OpenLdap => "(&(objectClass=inetOrgPerson)(uid={username}))",
        }
    }

    /// The attributes read from the user's entry.
    pub(super) fn user_attributes(self) -> &'static [&'static str] {
        match self {
            Self::ActiveDirectory => &["sAMAccountName", "displayName", "cn", "mail", "userAccountControl"],
            Self::OpenLdap => &["uid", "displayName", "cn", "mail", "memberOf"],
        }
    }
}

/// Where and how to check passwords against a directory (LDAP or Active Directory).
#[derive(Clone)]
pub struct DirectoryConfig {
    /// The server: `ldaps://host:636` or `ldap://host:389`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before anything else is sent. Ignored for
    /// `ldaps://`, which is TLS from the start.
    pub start_tls: bool,
    /// A PEM file with the CA certificate(s) that verify the server; `None` trusts the
    /// system's roots.
    pub ca_file: Option<PathBuf>,
    /// The service account that searches for users; `None` searches anonymously.
    pub bind_dn: Option<String>,
    /// The service account's password (required with `bind_dn`).
    pub bind_password: Option<String>,
    /// Where accounts live, e.g. `DC=lm,DC=test`.
    pub user_base: String,
    /// The filter that finds one account; `{username}` is replaced by the escaped login name.
    pub user_filter: String,
    /// Where groups live (often the same as `user_base`).
    pub group_base: String,
    /// The kind of server, which decides attribute names and how groups are found.
    pub flavour: DirectoryFlavour,
    /// Limit for connecting (TCP and TLS) and for each request.
    pub timeout: Duration,
    /// Allow `ldap://` without StartTLS, which sends passwords in clear text. Only for tests
    /// against a server on the loopback interface.
    pub allow_plain: bool,
}

/// How the connection is protected, as decided by [`DirectoryConfig::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Transport {
    /// `ldaps://`: TLS from the first byte.
    Ldaps,
    /// `ldap://` upgraded with StartTLS.
    StartTls,
    /// `ldap://` in clear text (only with `allow_plain`).
    Plain,
}

impl DirectoryConfig {
    /// The default limit for connecting and for each request.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// Settings for Active Directory: accounts by `sAMAccountName`, groups (nested ones too)
    /// searched under `user_base`, StartTLS for `ldap://` URLs, system CA roots, anonymous
    /// search until a service account is set.
    pub fn active_directory(url: impl Into<String>, user_base: impl Into<String>) -> Self {
        Self::new(DirectoryFlavour::ActiveDirectory, url.into(), user_base.into())
    }

    /// Settings for OpenLDAP: accounts by `uid` (`inetOrgPerson`), `groupOfNames` groups
    /// searched under `user_base`, StartTLS for `ldap://` URLs, system CA roots, anonymous
    /// search until a service account is set.
    pub fn openldap(url: impl Into<String>, user_base: impl Into<String>) -> Self {
        Self::new(DirectoryFlavour::OpenLdap, url.into(), user_base.into())
    }

    fn new(flavour: DirectoryFlavour, url: String, user_base: String) -> Self {
        let start_tls = scheme(&url).is_some_and(|s| s.eq_ignore_ascii_case("ldap"));
        Self {
            url,
            start_tls,
            ca_file: None,
            bind_dn: None,
            bind_password: None,
            group_base: user_base.clone(),
            user_base,
            user_filter: flavour.default_user_filter().to_owned(),
            flavour,
            timeout: Self::DEFAULT_TIMEOUT,
            allow_plain: false,
        }
    }

    /// Checks the settings without contacting the server and says how to connect.
    pub(super) fn check(&self) -> Result<Transport, DirectoryError> {
        let misconfigured = |what: &str| Err(DirectoryError::Misconfigured(what.to_owned()));
        let transport = match scheme(&self.url) {
            Some(s) if s.eq_ignore_ascii_case("ldaps") => Transport::Ldaps,
            Some(s) if s.eq_ignore_ascii_case("ldap") && self.start_tls => Transport::StartTls,
            Some(s) if s.eq_ignore_ascii_case("ldap") && self.allow_plain => Transport::Plain,
            Some(s) if s.eq_ignore_ascii_case("ldap") => {
                return misconfigured(
                    "plain ldap:// would send passwords in clear text: use ldaps:// or StartTLS (allow_plain is off)",
                );
            }
            _ => return misconfigured("the directory URL must start with ldaps:// or ldap://"),
        };
        if !self.user_filter.contains(USERNAME_PLACEHOLDER) {
            return misconfigured("the user filter has no {username} placeholder");
        }
        if self.user_base.trim().is_empty() || self.group_base.trim().is_empty() {
            return misconfigured("the user and group base DNs must not be empty");
        }
        if self.bind_dn.is_some() && self.bind_password.as_deref().is_none_or(str::is_empty) {
            // A simple bind with an empty password is an anonymous bind that "succeeds".
            return misconfigured("the service account has no password");
        }
        if self.timeout.is_zero() {
            return misconfigured("the timeout must be longer than zero");
        }
        Ok(transport)
    }
}

/// The URL's scheme (`ldaps`, `ldap`, ...), if it has one.
fn scheme(url: &str) -> Option<&str> {
    url.split_once("://").map(|(scheme, _)| scheme)
}

impl fmt::Debug for DirectoryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectoryConfig")
            .field("url", &self.url)
            .field("start_tls", &self.start_tls)
            .field("ca_file", &self.ca_file)
            .field("bind_dn", &self.bind_dn)
            .field("bind_password", &self.bind_password.as_ref().map(|_| "<redacted>"))
            .field("user_base", &self.user_base)
            .field("user_filter", &self.user_filter)
            .field("group_base", &self.group_base)
            .field("flavour", &self.flavour)
            .field("timeout", &self.timeout)
            .field("allow_plain", &self.allow_plain)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn misconfigured(config: &DirectoryConfig) -> String {
        match config.check() {
            Err(DirectoryError::Misconfigured(why)) => why,
            other => panic!("expected Misconfigured, got {other:?}"),
        }
    }

    #[test]
    fn defaults_follow_the_flavour_and_the_scheme() {
        let ad = DirectoryConfig::active_directory("ldap://dc.lm.test", "DC=lm,DC=test");
        assert!(ad.start_tls);
        assert_eq!(ad.user_filter, "(&(objectClass=user)(sAMAccountName={username}))");
        assert_eq!(ad.group_base, "DC=lm,DC=test");
        assert_eq!(ad.timeout, DirectoryConfig::DEFAULT_TIMEOUT);
        assert!(!ad.allow_plain);
        assert_eq!(ad.check(), Ok(Transport::StartTls));

        let ol = DirectoryConfig::openldap("ldaps://ldap.lm.test", "dc=lm,dc=test");
        assert!(!ol.start_tls);
        assert_eq!(ol.user_filter, "(&(objectClass=inetOrgPerson)(uid={username}))");
        assert_eq!(ol.flavour, DirectoryFlavour::OpenLdap);
        assert_eq!(ol.check(), Ok(Transport::Ldaps));
    }

    #[test]
    fn plain_ldap_needs_the_operator_to_allow_it() {
        let mut config = DirectoryConfig::openldap("ldap://127.0.0.1:3890", "dc=lm,dc=test");
        config.start_tls = false;
        assert!(misconfigured(&config).contains("clear text"));
        config.allow_plain = true;
        assert_eq!(config.check(), Ok(Transport::Plain));
    }

    #[test]
    fn other_schemes_and_broken_settings_are_refused() {
        let base = DirectoryConfig::active_directory("LDAPS://dc.lm.test", "DC=lm,DC=test");
        assert_eq!(base.check(), Ok(Transport::Ldaps));

        let mut config = base.clone();
        config.url = "http://dc.lm.test".into();
        assert!(misconfigured(&config).contains("ldaps://"));

        let mut config = base.clone();
        config.url = "dc.lm.test".into();
        assert!(misconfigured(&config).contains("ldaps://"));

        let mut config = base.clone();
        config.user_filter = "(sAMAccountName=anna)".into();
        assert!(misconfigured(&config).contains("{username}"));

        let mut config = base.clone();
        config.group_base = " ".into();
        assert!(misconfigured(&config).contains("base DN"));

        let mut config = base.clone();
        config.bind_dn = Some("CN=svc-portal,CN=Users,DC=lm,DC=test".into());
        assert!(misconfigured(&config).contains("no password"));
        config.bind_password = Some(String::new());
        assert!(misconfigured(&config).contains("no password"));
        config.bind_password = Some("secret".into());
        assert_eq!(config.check(), Ok(Transport::Ldaps));

        let mut config = base;
        config.timeout = Duration::ZERO;
        assert!(misconfigured(&config).contains("timeout"));
    }

    #[test]
    fn debug_output_hides_the_service_password() {
        let mut config = DirectoryConfig::openldap("ldaps://ldap.lm.test", "dc=lm,dc=test");
        config.bind_password = Some("Svc-Parole-123!".into());
        let shown = format!("{config:?}");
        assert!(!shown.contains("Svc-Parole-123!"));
        assert!(shown.contains("<redacted>"));
    }
}
