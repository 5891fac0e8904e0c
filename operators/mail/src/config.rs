//! Settings of the mail controller that do not come from an object.

use std::{path::PathBuf, time::Duration};

/// Where the mail system runs and which directory it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// The mail system's namespace: its directory Secret and the DKIM keys live there, and
    /// the controller reads no other namespace's Secrets.
    pub namespace: String,
    /// The `Directory` whose domain the mail system reads (agencies under it can have
    /// mailboxes).
    pub directory: String,
    /// Secret (in `namespace`) with what Postfix and Dovecot read the directory with: keys
    /// `username` (a read-only account's DN or UPN), `password` and `ca.crt` (the CA the
    /// domain controllers' certificates chain to).
    pub bind_secret: String,
    /// The host name the mail system answers as and the domains' MX points to.
    pub hostname: String,
    /// The address SMTP and IMAP listen on.
    pub listen: String,
    /// Inbound SMTP port.
    pub smtp_port: u16,
    /// IMAPS port.
    pub imaps_port: u16,
    /// LMTP port (127.0.0.1).
    pub lmtp_port: u16,
    /// Quota policy port (127.0.0.1).
    pub quota_status_port: u16,
    /// Where the rendered configuration is written.
    pub config_dir: PathBuf,
    /// Postfix's queue, Dovecot's run and state directories, the logs.
    pub state_dir: PathBuf,
    /// Where mailboxes are stored.
    pub mail_root: PathBuf,
    /// The system user that owns the stored mail.
    pub mail_user: String,
    /// TLS certificate chain (PEM) for SMTP and IMAP.
    pub tls_cert: PathBuf,
    /// Its key.
    pub tls_key: PathBuf,
    /// The `postfix` command (reload).
    pub postfix: PathBuf,
    /// The `doveadm` command (reload).
    pub doveadm: PathBuf,
    /// Dovecot's delivery agent (quota warnings).
    pub dovecot_lda: PathBuf,
    /// When set, only Agencies and Directories whose labels match are read, and objects in
    /// other namespaces are left alone (several mail systems, or test runs, side by side).
    pub selector: Option<String>,
    /// How often the configuration is rendered again when nothing changed (puts back
    /// files someone edited).
    pub resync: Duration,
}
