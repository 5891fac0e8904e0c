//! Settings of the mail controller that do not come from an object.

use std::{path::PathBuf, time::Duration};

use crate::render::Layout;

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
    /// Where Postfix and Dovecot listen and keep their files.
    pub layout: Layout,
    /// The `postfix` command (reload).
    pub postfix: PathBuf,
    /// The `doveadm` command (reload).
    pub doveadm: PathBuf,
    /// When set, only Agencies and Directories whose labels match are read, and objects in
    /// other namespaces are left alone (several mail systems, or test runs, side by side).
    pub selector: Option<String>,
    /// How often the configuration is rendered again when nothing changed (puts back
    /// files someone edited).
    pub resync: Duration,
}
