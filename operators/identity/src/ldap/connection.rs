//! One encrypted, signed-in connection to a domain controller, and the operations the
//! controllers use. ldap3's handle multiplexes requests, so one connection serves every
//! reconcile of a Directory at once.

use std::{collections::HashSet, sync::Arc, time::Duration};

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Mod, Scope, SearchEntry};
use rustls::{ClientConfig, RootCertStore, pki_types::CertificateDer, pki_types::pem::PemObject};
use tracing::Instrument;

use super::{
    entry::Entry,
    error::{DirectoryError, classify_result, classify_transport},
    metrics::LdapMetrics,
};

/// How the operator reaches and signs in to one domain.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    /// `ldaps://…` or `ldap://…` (always with StartTLS).
    pub url: String,
    /// PEM certificates the server must chain to.
    pub ca_pem: Vec<u8>,
    /// The operator's account: a DN, `DOMAIN\name` or a UPN.
    pub username: String,
    /// Its password.
    pub password: String,
    /// The longest any one request may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings").field("url", &self.url).field("username", &self.username).finish_non_exhaustive()
    }
}

/// How a URL is protected. There is no plain variant: the operator cannot be made to
/// send a password unencrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TLS from the first byte (`ldaps://`).
    Ldaps,
    /// StartTLS before anything else (`ldap://`); a refusal ends the connection.
    StartTls,
}

/// The transport for `url`; anything but `ldaps://` and `ldap://` is refused.
pub fn transport_of(url: &str) -> Result<Transport, DirectoryError> {
    if url.starts_with("ldaps://") {
        Ok(Transport::Ldaps)
    } else if url.starts_with("ldap://") {
        Ok(Transport::StartTls)
    } else {
        Err(DirectoryError::Misconfigured(format!("{url}: the URL must start with ldaps:// or ldap:// (StartTLS)")))
    }
}

/// A signed-in connection.
#[derive(Clone)]
pub struct Connection {
    ldap: Ldap,
    timeout: Duration,
    metrics: LdapMetrics,
}

/// An attribute with its values, as an add or a replace takes them.
pub type Attribute = (String, Vec<Vec<u8>>);

/// A change to one attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Set the attribute to these values (none: remove it).
    Replace(String, Vec<Vec<u8>>),
    /// Add these values.
    Add(String, Vec<Vec<u8>>),
    /// Remove these values.
    Delete(String, Vec<Vec<u8>>),
}

impl Connection {
    /// Connects over TLS (or StartTLS), verifying the server against `settings.ca_pem`,
    /// and binds as the operator's account.
    pub async fn open(settings: &Settings, metrics: LdapMetrics) -> Result<Self, DirectoryError> {
        let started = std::time::Instant::now();
        let result = Self::connect(settings, metrics.clone()).await;
        metrics.record("bind", started.elapsed(), &result);
        result
    }

    async fn connect(settings: &Settings, metrics: LdapMetrics) -> Result<Self, DirectoryError> {
        let transport = transport_of(&settings.url)?;
        let tls = client_config(&settings.ca_pem)?;
        let conn_settings = LdapConnSettings::new()
            .set_conn_timeout(settings.timeout)
            .set_starttls(transport == Transport::StartTls)
            .set_config(tls);
        let (conn, mut ldap) = LdapConnAsync::with_settings(conn_settings, &settings.url)
            .await
            .map_err(|e| classify_transport("connecting", &e))?;
        tokio::spawn(
            async move {
                if let Err(error) = conn.drive().await {
                    tracing::debug!(%error, "the directory connection ended");
                }
            }
            .in_current_span(),
        );
        let result = ldap
            .with_timeout(settings.timeout)
            .simple_bind(&settings.username, &settings.password)
            .await
            .map_err(|e| classify_transport("signing in", &e))?;
        if result.rc != 0 {
            return Err(classify_result("signing in", result.rc, &result.text));
        }
        tracing::debug!(url = %settings.url, ?transport, "signed in to the directory");
        Ok(Self { ldap, timeout: settings.timeout, metrics })
    }

    /// The entries under `base` (in `scope`) matching `filter`, with `attributes`.
    pub async fn search(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attributes: &[&str],
    ) -> Result<Vec<Entry>, DirectoryError> {
        let started = std::time::Instant::now();
        let result = self.search_once(base, scope, filter, attributes).await;
        self.metrics.record("search", started.elapsed(), &result);
        result
    }

    async fn search_once(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attributes: &[&str],
    ) -> Result<Vec<Entry>, DirectoryError> {
        let mut ldap = self.ldap.clone();
        let result = ldap
            .with_timeout(self.timeout)
            .search(base, scope, filter, attributes)
            .await
            .map_err(|e| classify_transport("searching", &e))?;
        let (entries, outcome) = (result.0, result.1);
        match outcome.rc {
            0 => {}
            32 => return Ok(Vec::new()),
            rc => return Err(classify_result(&format!("searching {base}"), rc, &outcome.text)),
        }
        Ok(entries
            .into_iter()
            .filter(|e| !e.is_ref() && !e.is_intermediate())
            .map(|e| Entry::from(SearchEntry::construct(e)))
            .collect())
    }

    /// The entry at `dn` with `attributes`, if it exists.
    pub async fn read(&self, dn: &str, attributes: &[&str]) -> Result<Option<Entry>, DirectoryError> {
        Ok(self.search(dn, Scope::Base, "(objectClass=*)", attributes).await?.into_iter().next())
    }

    /// Adds the entry `dn` with `attributes`.
    pub async fn add(&self, dn: &str, attributes: Vec<Attribute>) -> Result<(), DirectoryError> {
        let started = std::time::Instant::now();
        let result = self.add_once(dn, attributes).await;
        self.metrics.record("add", started.elapsed(), &result);
        result
    }

    async fn add_once(&self, dn: &str, attributes: Vec<Attribute>) -> Result<(), DirectoryError> {
        let attributes: Vec<(Vec<u8>, HashSet<Vec<u8>>)> =
            attributes.into_iter().map(|(name, values)| (name.into_bytes(), values.into_iter().collect())).collect();
        let mut ldap = self.ldap.clone();
        let result =
            ldap.with_timeout(self.timeout).add(dn, attributes).await.map_err(|e| classify_transport("adding", &e))?;
        check(&format!("adding {dn}"), result)
    }

    /// Applies `changes` to `dn` in one request (all or nothing).
    pub async fn modify(&self, dn: &str, changes: Vec<Change>) -> Result<(), DirectoryError> {
        if changes.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let result = self.modify_once(dn, changes).await;
        self.metrics.record("modify", started.elapsed(), &result);
        result
    }

    async fn modify_once(&self, dn: &str, changes: Vec<Change>) -> Result<(), DirectoryError> {
        let set = |values: Vec<Vec<u8>>| values.into_iter().collect::<HashSet<Vec<u8>>>();
        let mods: Vec<Mod<Vec<u8>>> = changes
            .into_iter()
            .map(|change| match change {
                Change::Replace(name, values) => Mod::Replace(name.into_bytes(), set(values)),
                Change::Add(name, values) => Mod::Add(name.into_bytes(), set(values)),
                Change::Delete(name, values) => Mod::Delete(name.into_bytes(), set(values)),
            })
            .collect();
        let mut ldap = self.ldap.clone();
        let result =
            ldap.with_timeout(self.timeout).modify(dn, mods).await.map_err(|e| classify_transport("changing", &e))?;
        check(&format!("changing {dn}"), result)
    }

    /// Renames `dn` to `new_rdn` under `new_parent`.
    pub async fn rename(&self, dn: &str, new_rdn: &str, new_parent: &str) -> Result<(), DirectoryError> {
        let started = std::time::Instant::now();
        let result = self.rename_once(dn, new_rdn, new_parent).await;
        self.metrics.record("rename", started.elapsed(), &result);
        result
    }

    async fn rename_once(&self, dn: &str, new_rdn: &str, new_parent: &str) -> Result<(), DirectoryError> {
        let mut ldap = self.ldap.clone();
        let result = ldap
            .with_timeout(self.timeout)
            .modifydn(dn, new_rdn, true, Some(new_parent))
            .await
            .map_err(|e| classify_transport("renaming", &e))?;
        check(&format!("renaming {dn}"), result)
    }

    /// Deletes the leaf entry `dn`; an entry already gone is not an error.
    pub async fn delete(&self, dn: &str) -> Result<(), DirectoryError> {
        let started = std::time::Instant::now();
        let result = self.delete_once(dn).await;
        self.metrics.record("delete", started.elapsed(), &result);
        result
    }

    async fn delete_once(&self, dn: &str) -> Result<(), DirectoryError> {
        let mut ldap = self.ldap.clone();
        let result =
            ldap.with_timeout(self.timeout).delete(dn).await.map_err(|e| classify_transport("deleting", &e))?;
        match check(&format!("deleting {dn}"), result) {
            Err(DirectoryError::NoSuchObject(_)) => Ok(()),
            other => other,
        }
    }

    /// Whether the connection still works (the handle is not closed).
    pub fn is_closed(&self) -> bool {
        self.ldap.clone().is_closed()
    }
}

fn check(what: &str, result: ldap3::LdapResult) -> Result<(), DirectoryError> {
    match result.rc {
        0 => Ok(()),
        rc => Err(classify_result(what, rc, &result.text)),
    }
}

/// A rustls client configuration (ring) that trusts only the certificates in `pem`.
pub fn client_config(pem: &[u8]) -> Result<Arc<ClientConfig>, DirectoryError> {
    let misconfigured = |why: String| DirectoryError::Misconfigured(format!("the CA: {why}"));
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| misconfigured(format!("not a PEM certificate: {e}")))?;
        roots.add(cert).map_err(|e| misconfigured(format!("unusable certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(misconfigured("no CERTIFICATE block".into()));
    }
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| misconfigured(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_encrypted_transports_exist() {
        assert_eq!(transport_of("ldaps://dc1.lm.gov.lv"), Ok(Transport::Ldaps));
        assert_eq!(transport_of("ldap://dc1.lm.gov.lv:389"), Ok(Transport::StartTls));
        for url in ["ldapi:///run/ldap.sock", "http://dc1", "LDAP://dc1", "cldap://dc1"] {
            assert!(matches!(transport_of(url), Err(DirectoryError::Misconfigured(_))), "{url}");
        }
    }

    #[test]
    fn a_ca_without_certificates_is_refused() {
        assert!(
            matches!(client_config(b"not pem"), Err(DirectoryError::Misconfigured(why)) if why.contains("no CERTIFICATE"))
        );
    }

    #[test]
    fn settings_never_print_the_password() {
        let settings = Settings {
            url: "ldaps://dc1".into(),
            ca_pem: Vec::new(),
            username: "svc".into(),
            password: "Secret-123!".into(),
            timeout: Duration::from_secs(1),
        };
        assert!(!format!("{settings:?}").contains("Secret-123!"));
    }
}
