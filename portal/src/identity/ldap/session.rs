//! One connection to the directory: connect (with TLS or StartTLS), bind, search, unbind.
//! Every request is limited by the configured timeout; errors are classified by step.

use std::time::Duration;

use std::collections::HashSet;

use ldap3::{
    Ldap, LdapConnAsync, LdapConnSettings, LdapResult, Mod, Scope, SearchEntry, SearchOptions, exop::PasswordModify,
};
use tracing::Instrument;

use super::config::{DirectoryConfig, Transport};
use super::error::{DirectoryError, Step, classify, classify_code};
use super::tls;

/// The result code of a search that hit its size limit (RFC 4511 `sizeLimitExceeded`).
const SIZE_LIMIT_EXCEEDED: u32 = 4;
/// The result code of a read of an entry that does not exist (RFC 4511 `noSuchObject`).
const NO_SUCH_OBJECT: u32 = 32;

/// A password as `unicodePwd` takes it: in double quotes, UTF-16 little-endian.
fn unicode_pwd(password: &str) -> Vec<u8> {
    format!("\"{password}\"").encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// An open connection; [`Session::close`] unbinds it.
pub(super) struct Session {
    ldap: Ldap,
    timeout: Duration,
}

impl Session {
    /// Connects to `config.url`, protected as `transport` says, verifying the server against
    /// the configured CA file (or the system's roots).
    pub(super) async fn open(config: &DirectoryConfig, transport: Transport) -> Result<Self, DirectoryError> {
        let mut settings =
            LdapConnSettings::new().set_conn_timeout(config.timeout).set_starttls(transport == Transport::StartTls);
        if let Some(ca_file) = &config.ca_file
            && transport != Transport::Plain
        {
            settings = settings.set_config(tls::client_config(ca_file)?);
        }
        let (conn, ldap) = LdapConnAsync::with_settings(settings, &config.url).await.map_err(|e| match e {
            ldap3::LdapError::Timeout { .. } => {
                DirectoryError::Unreachable(format!("{}: no answer within {:?}", Step::Connect, config.timeout))
            }
            e => classify(Step::Connect, e),
        })?;
        tokio::spawn(
            async move {
                if let Err(error) = conn.drive().await {
                    tracing::debug!(%error, "the directory connection ended with an error");
                }
            }
            .in_current_span(),
        );
        tracing::debug!(?transport, "connected to the directory");
        Ok(Self { ldap, timeout: config.timeout })
    }

    /// A simple bind as `dn` with `password` (both empty: back to anonymous).
    pub(super) async fn bind(&mut self, step: Step, dn: &str, password: &str) -> Result<(), DirectoryError> {
        let result =
            self.ldap.with_timeout(self.timeout).simple_bind(dn, password).await.map_err(|e| classify(step, e))?;
        match result.rc {
            0 => Ok(()),
            rc => Err(classify_code(step, rc, &result.text)),
        }
    }

    /// Searches the subtree of `base` for entries matching `filter`, reading `attributes`,
    /// and returns at most `limit` entries (0: the server's limit). Continuation references
    /// (other partitions) are skipped. Hitting `limit` is not an error: the caller sees
    /// `limit` entries and decides.
    pub(super) async fn search(
        &mut self,
        step: Step,
        base: &str,
        filter: &str,
        attributes: &[&str],
        limit: i32,
    ) -> Result<Vec<SearchEntry>, DirectoryError> {
        let result = self
            .ldap
            .with_timeout(self.timeout)
            .with_search_options(SearchOptions::new().sizelimit(limit))
            .search(base, Scope::Subtree, filter, attributes)
            .await
            .map_err(|e| classify(step, e))?;
        let (entries, outcome) = (result.0, result.1);
        match outcome.rc {
            0 => {}
            SIZE_LIMIT_EXCEEDED if limit > 0 => {}
            rc => return Err(classify_code(step, rc, &outcome.text)),
        }
        let entries: Vec<SearchEntry> =
            entries.into_iter().filter(|e| !e.is_ref() && !e.is_intermediate()).map(SearchEntry::construct).collect();
        tracing::debug!(%step, found = entries.len(), "searched the directory");
        Ok(entries)
    }

    /// Reads the entry at `dn` itself (`""`: the root DSE), if it exists and is readable.
    pub(super) async fn read(
        &mut self,
        step: Step,
        dn: &str,
        attributes: &[&str],
    ) -> Result<Option<SearchEntry>, DirectoryError> {
        let result = self
            .ldap
            .with_timeout(self.timeout)
            .search(dn, Scope::Base, "(objectClass=*)", attributes)
            .await
            .map_err(|e| classify(step, e))?;
        match result.1.rc {
            0 => Ok(result.0.into_iter().map(SearchEntry::construct).next()),
            NO_SUCH_OBJECT => Ok(None),
            rc => Err(classify_code(step, rc, &result.1.text)),
        }
    }

    /// Active Directory's password change on the entry at `dn`: removes the value
    /// `current` from `unicodePwd` and adds `new`, in one modification, so that the
    /// server checks the current password and its policy. The server's result, whatever
    /// its code, is returned for the caller to read.
    pub(super) async fn replace_unicode_pwd(
        &mut self,
        dn: &str,
        current: &str,
        new: &str,
    ) -> Result<LdapResult, DirectoryError> {
        let mods = vec![
            Mod::Delete(b"unicodePwd".to_vec(), HashSet::from([unicode_pwd(current)])),
            Mod::Add(b"unicodePwd".to_vec(), HashSet::from([unicode_pwd(new)])),
        ];
        self.ldap.with_timeout(self.timeout).modify(dn, mods).await.map_err(|e| classify(Step::PasswordChange, e))
    }

    /// The Password Modify extended operation (RFC 3062) for the bound user, with the
    /// current password; the server's result, whatever its code, is returned.
    pub(super) async fn password_modify(&mut self, current: &str, new: &str) -> Result<LdapResult, DirectoryError> {
        let operation = PasswordModify { user_id: None, old_pass: Some(current), new_pass: Some(new) };
        self.ldap
            .with_timeout(self.timeout)
            .extended(operation)
            .await
            .map(|ldap3::result::ExopResult(_, result)| result)
            .map_err(|e| classify(Step::PasswordChange, e))
    }

    /// Unbinds and closes the connection; failures only matter to the debug log.
    pub(super) async fn close(mut self) {
        if let Err(error) = self.ldap.with_timeout(self.timeout).unbind().await {
            tracing::debug!(%error, "unbind failed; the connection is dropped anyway");
        }
    }
}
