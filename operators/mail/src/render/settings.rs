//! The mail system's settings that do not come from the objects: where it listens and
//! keeps its files, its certificate, how it reads the directory, and the DKIM keys.

use std::{collections::BTreeMap, path::PathBuf};

/// What Postfix, Dovecot and OpenDKIM are rendered from besides the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Where they listen and keep their files.
    pub layout: Layout,
    /// How they read the directory.
    pub directory: DirectoryAccess,
    /// The domains' DKIM private keys.
    pub signing_keys: SigningKeys,
}

/// The DKIM private keys (PKCS#8 PEM) by domain, from their Secrets; never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SigningKeys(pub BTreeMap<String, String>);

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// Where Postfix and Dovecot listen and keep their files (from the controller's flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The host name the mail system answers as and the domains' MX record names,
    /// e.g. `mail.lm.gov.lv`.
    pub hostname: String,
    /// The address SMTP and IMAP listen on.
    pub listen: String,
    /// Inbound SMTP (the domains' MX), 25 in production.
    pub smtp_port: u16,
    /// Submission: people's mail programs send here, signed in over STARTTLS (587).
    pub submission_port: u16,
    /// IMAP over TLS, 993 in production.
    pub imaps_port: u16,
    /// LMTP from Postfix to Dovecot (127.0.0.1 only).
    pub lmtp_port: u16,
    /// Dovecot's quota policy service for Postfix (127.0.0.1 only).
    pub quota_status_port: u16,
    /// Dovecot's authentication service for Postfix's submission (127.0.0.1 only).
    pub auth_port: u16,
    /// OpenDKIM's milter, which signs submission's mail (127.0.0.1 only).
    pub dkim_port: u16,
    /// Where outgoing mail goes: a smart host such as the ministry's mail gateway
    /// (`[host]:port`, Postfix's `relayhost`), or the recipients' MX when unset.
    pub relayhost: Option<String>,
    /// Where the rendered configuration goes (`postfix/` and `dovecot/` under it).
    pub config_dir: PathBuf,
    /// Postfix's queue, Dovecot's run and state directories, the logs.
    pub state_dir: PathBuf,
    /// Where mailboxes are stored, one directory per Mailbox UID.
    pub mail_root: PathBuf,
    /// The system user and group that own the stored mail.
    pub mail_user: String,
    /// The TLS certificate chain (PEM) for SMTP and IMAP.
    pub tls_cert: PathBuf,
    /// Its private key (PEM).
    pub tls_key: PathBuf,
    /// Dovecot's delivery agent, which the quota warnings use.
    pub dovecot_lda: PathBuf,
}

impl Layout {
    /// Where OpenDKIM writes its process id (the controller signals that process).
    pub fn opendkim_pid(&self) -> PathBuf {
        self.state_dir.join("opendkim/opendkim.pid")
    }

    /// Dovecot's main configuration file, which `doveadm` is pointed at.
    pub fn dovecot_conf(&self) -> PathBuf {
        super::server_dir(self, super::Server::Dovecot).join("dovecot.conf")
    }
}

/// The directory the mail system reads: the same domain the identity operator manages,
/// signed in to with a read-only account.
#[derive(Clone, PartialEq, Eq)]
pub struct DirectoryAccess {
    /// `ldaps://…`, or `ldap://…` with StartTLS.
    pub url: String,
    /// The domain's base DN.
    pub base_dn: String,
    /// The read-only account's DN (or UPN).
    pub bind_dn: String,
    /// Its password.
    pub bind_password: String,
    /// The CA certificates (PEM) the directory's certificate chains to.
    pub ca_pem: String,
}

impl std::fmt::Debug for DirectoryAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryAccess")
            .field("url", &self.url)
            .field("base_dn", &self.base_dn)
            .field("bind_dn", &self.bind_dn)
            .finish_non_exhaustive()
    }
}
