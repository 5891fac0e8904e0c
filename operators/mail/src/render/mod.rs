//! Postfix's, Dovecot's and OpenDKIM's configuration, rendered from the plan and the
//! settings. Pure:
//! the same plan gives the same bytes, so the controller writes and reloads only when
//! something changed.
//!
//! Every value a tenant wrote reaches these files only as an [`Address`] (checked, lower
//! case) or a domain the plan served; host paths come from the settings and Mailbox UIDs.
//! Settings that hold text from elsewhere (the directory's URL, DNs, the bind password)
//! are refused when they hold a character that could end a line or a value.

mod dovecot;
mod opendkim;
mod postfix;
mod settings;

use std::path::PathBuf;

pub use settings::{DirectoryAccess, Layout, Settings, SigningKeys};

use crate::plan::Plan;

/// Which server reads a file (and is reloaded when it changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Server {
    /// Postfix.
    Postfix,
    /// Dovecot.
    Dovecot,
    /// OpenDKIM, which signs what people send.
    OpenDkim,
}

impl Server {
    /// The server's name, as logs, metrics and errors give it.
    pub fn name(self) -> &'static str {
        match self {
            Server::Postfix => "postfix",
            Server::Dovecot => "dovecot",
            Server::OpenDkim => "opendkim",
        }
    }
}

/// One rendered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// Where it goes.
    pub path: PathBuf,
    /// Its content.
    pub content: String,
    /// Its permission bits: 0640 for files with the bind password, 0600 for DKIM private
    /// keys, 0644 otherwise, 0755 for scripts.
    pub mode: u32,
    /// Which server reads it.
    pub server: Server,
}

/// Why the settings cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mail settings: {0}")]
pub struct RenderError(pub String);

/// Renders every file of the mail system.
pub fn render(plan: &Plan, settings: &Settings) -> Result<Vec<RenderedFile>, RenderError> {
    check_settings(settings)?;
    let mut files = postfix::files(plan, settings);
    files.extend(dovecot::files(plan, settings));
    files.extend(opendkim::files(plan, settings));
    Ok(files)
}

/// The directory that holds a server's files.
pub fn server_dir(layout: &Layout, server: Server) -> PathBuf {
    layout.config_dir.join(server.name())
}

/// The first line of every rendered file.
const HEADER: &str =
    "# Rendered by the Mākonis mail operator from the mail objects. Do not edit: changes are overwritten.\n";

fn check_settings(settings: &Settings) -> Result<(), RenderError> {
    let texts = [
        ("hostname", settings.layout.hostname.as_str()),
        ("listen address", settings.layout.listen.as_str()),
        ("mail user", settings.layout.mail_user.as_str()),
        ("directory URL", settings.directory.url.as_str()),
        ("directory base DN", settings.directory.base_dn.as_str()),
        ("directory bind DN", settings.directory.bind_dn.as_str()),
        ("directory bind password", settings.directory.bind_password.as_str()),
    ];
    for (what, text) in texts {
        if text.is_empty() || text.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
            return Err(RenderError(format!(
                "the {what} is empty or holds a control character, a quote or a backslash"
            )));
        }
    }
    if let Some(relayhost) = &settings.layout.relayhost
        && (relayhost.is_empty() || !relayhost.chars().all(|c| c.is_ascii_alphanumeric() || ".-[]:".contains(c)))
    {
        return Err(RenderError(format!("{relayhost:?}: the relay host must be host, [host] or [host]:port")));
    }
    if !crate::address::is_domain(&settings.layout.hostname) {
        return Err(RenderError(format!("{:?} is not a host name", settings.layout.hostname)));
    }
    if !(settings.directory.url.starts_with("ldaps://") || settings.directory.url.starts_with("ldap://")) {
        return Err(RenderError(format!(
            "{}: the directory URL must start with ldaps:// or ldap:// (StartTLS)",
            settings.directory.url
        )));
    }
    let paths = [
        &settings.layout.config_dir,
        &settings.layout.state_dir,
        &settings.layout.mail_root,
        &settings.layout.tls_cert,
        &settings.layout.tls_key,
        &settings.layout.dovecot_lda,
    ];
    for path in paths {
        let text = path.to_string_lossy();
        if !path.is_absolute() || text.chars().any(|c| c.is_control() || c.is_whitespace() || c == ',' || c == '"') {
            return Err(RenderError(format!("{text:?}: paths must be absolute, without spaces, commas or quotes")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
