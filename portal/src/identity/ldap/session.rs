//! One connection to the directory: connect (with TLS or StartTLS), bind, search, unbind.
//! Every request is limited by the configured timeout; errors are classified by step.

use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry, SearchOptions};
use tracing::Instrument;

use super::config::{DirectoryConfig, Transport};
use super::error::{DirectoryError, Step, classify, classify_code};
use super::tls;

/// The result code of a search that hit its size limit (RFC 4511 `sizeLimitExceeded`).
const SIZE_LIMIT_EXCEEDED: u32 = 4;

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

    /// Unbinds and closes the connection; failures only matter to the debug log.
    pub(super) async fn close(mut self) {
        if let Err(error) = self.ldap.with_timeout(self.timeout).unbind().await {
            tracing::debug!(%error, "unbind failed; the connection is dropped anyway");
        }
    }
}
