//! Mailbox migration from an old IMAP server, the pure parts: the old server's settings
//! (checked: they end up in a Dovecot configuration file), that file, and reading
//! `doveadm`'s message counts.

use std::path::Path;

/// The old server, from the Secret platform administrators prepared.
#[derive(Clone, PartialEq, Eq)]
pub struct Source {
    /// Host name or IP address.
    pub host: String,
    /// IMAPS port.
    pub port: u16,
    /// The account that may sign in as any user (an IMAP master user).
    pub master_user: String,
    /// Its password.
    pub password: String,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source").field("host", &self.host).field("port", &self.port).finish_non_exhaustive()
    }
}

/// Why the source cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("migration source: {0}")]
pub struct SourceError(pub String);

impl Source {
    /// Checks the Secret's values.
    pub fn new(host: &str, port: Option<&str>, master_user: &str, password: &str) -> Result<Self, SourceError> {
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
        if !host_ok {
            return Err(SourceError(format!("host {host:?} is not a host name or an IP address")));
        }
        let port = match port {
            None => 993,
            Some(text) => {
                text.trim().parse().map_err(|_| SourceError(format!("port {text:?} is not a port number")))?
            }
        };
        for (what, text) in [("masterUser", master_user), ("password", password)] {
            if text.is_empty() || text.chars().any(char::is_control) {
                return Err(SourceError(format!("{what} is empty or holds a control character")));
            }
        }
        Ok(Self { host: host.into(), port, master_user: master_user.into(), password: password.into() })
    }
}

/// A Dovecot configuration: the mail system's own, plus how to reach the old server over
/// TLS (certificate verified) as the master user, giving up after three failed
/// connections (imapc retries forever otherwise). Written with mode 0600 and removed after.
pub fn source_config(dovecot_conf: &Path, source: &Source, ca_file: Option<&Path>) -> String {
    let ca = match ca_file {
        Some(path) => format!("ssl_client_ca_file = {}\n", path.display()),
        None => "ssl_client_ca_dir = /etc/ssl/certs\n".to_string(),
    };
    format!(
        "!include {conf}\nimapc_host = {host}\nimapc_port = {port}\nimapc_ssl = imaps\nimapc_ssl_verify = yes\n\
         imapc_master_user = {master}\nimapc_password = {password}\nimapc_features = rfc822.size fetch-headers\n\
         imapc_connection_retry_count = 3\n{ca}",
        conf = dovecot_conf.display(),
        host = source.host,
        port = source.port,
        master = quoted(&source.master_user),
        password = quoted(&source.password),
    )
}

/// A Dovecot string value in double quotes.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The total of `doveadm -f tab mailbox status messages '*'`: a header line naming the
/// columns (`mailbox` and `messages`), then one line per folder.
pub fn total_messages(output: &str) -> Result<u64, String> {
    let mut lines = output.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().unwrap_or_default();
    let column = header
        .split('\t')
        .position(|name| name.trim() == "messages")
        .ok_or_else(|| format!("doveadm printed {header:?} where a header with `messages` belongs"))?;
    lines
        .map(|line| {
            let field = line.split('\t').nth(column).unwrap_or_default().trim();
            field.parse::<u64>().map_err(|_| format!("{line:?} holds no message count"))
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_over_folders() {
        assert_eq!(total_messages("mailbox\tmessages\nArhīvs\t1\nINBOX\t2\nTrash\t0\n"), Ok(3));
        assert_eq!(total_messages("messages\n4\n"), Ok(4));
        assert_eq!(total_messages("mailbox\tmessages\n"), Ok(0));
        assert!(total_messages("Error: auth failed\n").is_err());
        assert!(total_messages("mailbox\tmessages\nINBOX\tx\n").is_err());
    }

    #[test]
    fn the_source_cannot_inject_configuration() {
        assert!(Source::new("imap.old.lv\nmail_location = /etc", None, "m", "p").is_err());
        assert!(Source::new("imap old", None, "m", "p").is_err());
        assert!(Source::new("imap.old.lv", Some("99999"), "m", "p").is_err());
        assert!(Source::new("imap.old.lv", None, "m", "p\n!include /etc/shadow").is_err());
        let source = Source::new("10.0.0.5", Some("1993"), "migrator", r#"pa"ss\word"#).unwrap();
        let config = source_config(Path::new("/etc/mail/dovecot.conf"), &source, None);
        assert!(config.contains("imapc_port = 1993\n"));
        assert!(config.contains(r#"imapc_password = "pa\"ss\\word""#), "{config}");
        assert!(config.starts_with("!include /etc/mail/dovecot.conf\n"));
    }
}
