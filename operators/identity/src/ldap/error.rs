//! What can go wrong talking to the directory, in bounded categories, with the server's
//! own words kept (a password policy refusal is shown to people as the server said it).

/// Why a directory operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// The settings cannot work: an unencrypted URL, a CA that is not PEM, a missing key.
    #[error("the directory settings are unusable: {0}")]
    Misconfigured(String),
    /// No connection: refused, timed out, or dropped.
    #[error("the directory cannot be reached: {0}")]
    Unreachable(String),
    /// The TLS handshake or StartTLS failed; nothing else was sent.
    #[error("no encrypted connection to the directory: {0}")]
    Tls(String),
    /// The operator's account was refused at bind.
    #[error("the directory refused the operator's account: {0}")]
    Credentials(String),
    /// The password does not meet the domain's policy (the server's words).
    #[error("the password was refused: {0}")]
    PasswordPolicy(String),
    /// The entry or the name already exists.
    #[error("already exists in the directory: {0}")]
    Exists(String),
    /// The entry (or its parent) does not exist.
    #[error("not found in the directory: {0}")]
    NoSuchObject(String),
    /// The operator's account may not do this.
    #[error("the operator's account may not do this: {0}")]
    AccessDenied(String),
    /// Any other refusal, with the LDAP result code.
    #[error("the directory refused the request (LDAP {rc}): {text}")]
    Refused {
        /// The LDAP result code.
        rc: u32,
        /// The server's diagnostic message.
        text: String,
    },
}

impl DirectoryError {
    /// A bounded name for metric labels and Event reasons.
    pub fn category(&self) -> &'static str {
        match self {
            DirectoryError::Misconfigured(_) => "DirectoryMisconfigured",
            DirectoryError::Unreachable(_) => "DirectoryUnreachable",
            DirectoryError::Tls(_) => "DirectoryTls",
            DirectoryError::Credentials(_) => "DirectoryCredentials",
            DirectoryError::PasswordPolicy(_) => "PasswordPolicy",
            DirectoryError::Exists(_) => "DirectoryConflict",
            DirectoryError::NoSuchObject(_) => "DirectoryNoSuchObject",
            DirectoryError::AccessDenied(_) => "DirectoryAccessDenied",
            DirectoryError::Refused { .. } => "DirectoryRefused",
        }
    }

    /// Whether the connection this came from should be dropped and made again.
    pub fn breaks_connection(&self) -> bool {
        matches!(self, DirectoryError::Unreachable(_) | DirectoryError::Tls(_) | DirectoryError::Credentials(_))
    }
}

/// The error for an LDAP result `rc` with the server's `text`, for the operation `what`.
pub fn classify_result(what: &str, rc: u32, text: &str) -> DirectoryError {
    let said = format!("{what}: {}", text.trim());
    match rc {
        // A constraint violation on a password: AD prefixes its policy refusals with
        // 0000052D (ERROR_PASSWORD_RESTRICTION).
        19 if text.contains("0000052D") || text.contains("check_password_restrictions") => {
            DirectoryError::PasswordPolicy(policy_words(text))
        }
        49 => DirectoryError::Credentials(said),
        32 => DirectoryError::NoSuchObject(said),
        50 => DirectoryError::AccessDenied(said),
        68 => DirectoryError::Exists(said),
        51 | 52 | 80 => DirectoryError::Unreachable(said),
        _ => DirectoryError::Refused { rc, text: said },
    }
}

/// The part of a password refusal a person can read: `0000052D: Constraint violation -
/// check_password_restrictions: the password is too short. It should be …!` gives
/// `the password is too short. It should be …`.
pub fn policy_words(text: &str) -> String {
    let tail = text.rsplit_once("check_password_restrictions:").map(|(_, t)| t).unwrap_or(text);
    tail.trim().trim_end_matches('!').trim().to_string()
}

/// The error for a failure below the LDAP results (connection, TLS, timeout).
pub fn classify_transport(what: &str, error: &ldap3::LdapError) -> DirectoryError {
    use ldap3::LdapError as E;
    match error {
        E::Timeout { .. } => DirectoryError::Unreachable(format!("{what}: no answer in time")),
        // A TLS handshake failure (unknown issuer, wrong name) arrives as an I/O error that
        // wraps rustls' own.
        E::Io { source } if source.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => {
            DirectoryError::Tls(format!("{what}: {source}"))
        }
        E::Io { source } => DirectoryError::Unreachable(format!("{what}: {source}")),
        E::EndOfStream => DirectoryError::Unreachable(format!("{what}: the connection closed")),
        E::Rustls { source } => DirectoryError::Tls(format!("{what}: {source}")),
        E::LdapResult { result } => classify_result(what, result.rc, &result.text),
        E::UrlParsing { source } => DirectoryError::Misconfigured(format!("{what}: {source}")),
        other => match other.to_string() {
            text if text.to_lowercase().contains("tls") => DirectoryError::Tls(format!("{what}: {text}")),
            text => DirectoryError::Unreachable(format!("{what}: {text}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_refusals_keep_the_servers_words() {
        let text = "0000052D: Constraint violation - check_password_restrictions: the password does not meet the complexity criteria!";
        let error = classify_result("setting the password", 19, text);
        assert_eq!(error, DirectoryError::PasswordPolicy("the password does not meet the complexity criteria".into()));
        assert_eq!(error.category(), "PasswordPolicy");
    }

    #[test]
    fn a_certificate_refused_in_the_handshake_is_a_tls_error() {
        let inner = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, inner);
        let error = classify_transport("connecting", &ldap3::LdapError::Io { source: io });
        assert_eq!(error.category(), "DirectoryTls", "{error}");
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(
            classify_transport("connecting", &ldap3::LdapError::Io { source: refused }).category(),
            "DirectoryUnreachable"
        );
    }

    #[test]
    fn result_codes_have_categories() {
        assert_eq!(classify_result("bind", 49, "80090308: data 52e").category(), "DirectoryCredentials");
        assert_eq!(classify_result("add", 68, "Entry exists").category(), "DirectoryConflict");
        assert_eq!(classify_result("modify", 32, "no such").category(), "DirectoryNoSuchObject");
        assert_eq!(classify_result("add", 50, "denied").category(), "DirectoryAccessDenied");
        assert_eq!(classify_result("add", 19, "other constraint").category(), "DirectoryRefused");
        assert!(classify_result("bind", 52, "unavailable").breaks_connection());
        assert!(!classify_result("add", 68, "exists").breaks_connection());
    }
}
