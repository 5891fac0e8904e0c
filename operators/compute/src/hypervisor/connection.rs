//! Opening a libvirt connection ([`Hypervisor`]), host facts, and the error mapping shared by
//! the other modules.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Once;

use virt::connect::{Connect, ConnectAuth, ConnectCredential, ConnectCredentialType};
use virt::enumutil::Enum;
use virt::error::{Error as VirtError, ErrorNumber};

use super::HypervisorError;

/// How to authenticate to a remote libvirt daemon.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// SASL user name (answers libvirt's user-name and auth-name prompts).
    pub username: Option<String>,
    /// SASL password (answers libvirt's passphrase prompts). Never shown in errors or logs.
    pub password: Option<String>,
    /// Directory with `cacert.pem`, `clientcert.pem` and `clientkey.pem` for `qemu+tls` URIs;
    /// passed to libvirt as the `pkipath` URI parameter.
    pub pki_dir: Option<PathBuf>,
}

/// What a host offers, as libvirt reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostFacts {
    /// Active logical CPUs.
    pub cpus: u32,
    /// Physical memory in bytes.
    pub memory_bytes: u64,
    /// libvirt version of the daemon (or library, for in-process drivers), e.g. "9.0.0".
    pub libvirt_version: String,
    /// The driver, e.g. "QEMU" or "TEST".
    pub hypervisor: String,
    /// The host's name as the host sees it.
    pub hostname: String,
}

/// An open connection to one libvirt host. `Send + Sync`; clone-free: open one per host and
/// share it behind an `Arc`.
#[derive(Debug)]
pub struct Hypervisor {
    conn: Connect,
    uri: String,
    shown_uri: String,
}

thread_local! {
    /// The user name and password for the `open_auth` call running on this thread. virt's
    /// authentication callback is a plain `fn` without user data, and libvirt calls it on the
    /// thread that opens the connection, so a thread-local hands it the credentials.
    static PENDING_CREDENTIALS: RefCell<Option<(Option<String>, Option<String>)>> = const { RefCell::new(None) };
}

/// Clears [`PENDING_CREDENTIALS`] when the open call returns, also on panic.
struct PendingCredentialsGuard;

impl Drop for PendingCredentialsGuard {
    fn drop(&mut self) {
        PENDING_CREDENTIALS.with(|pending| pending.borrow_mut().take());
    }
}

#[allow(clippy::ptr_arg, reason = "the signature is virt's ConnectAuthCallback")]
fn answer_credentials(requested: &mut Vec<ConnectCredential>) {
    PENDING_CREDENTIALS.with(|pending| {
        let pending = pending.borrow();
        let Some((username, password)) = pending.as_ref() else { return };
        for credential in requested.iter_mut() {
            credential.result = match credential.typed {
                ConnectCredentialType::UserName
                | ConnectCredentialType::AuthName
                | ConnectCredentialType::EchoPrompt => username.clone(),
                ConnectCredentialType::Passphrase | ConnectCredentialType::NoEchoPrompt => password.clone(),
                _ => None,
            };
        }
    });
}

/// The URI handed to libvirt: `uri` plus `pkipath=<pki_dir>` for TLS transports.
fn connect_uri(uri: &str, pki_dir: Option<&Path>) -> String {
    let Some(dir) = pki_dir else { return uri.to_string() };
    let transport = uri.split("://").next().unwrap_or_default();
    if !transport.ends_with("+tls") {
        return uri.to_string();
    }
    let encoded: String = dir
        .to_string_lossy()
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect();
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}pkipath={encoded}")
}

/// `uri` with any password in its user-info part replaced by `***`.
fn redact(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else { return uri.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{}", &rest[authority_end..])
        }
        _ => uri.to_string(),
    }
}

/// True when libvirt reported `code`.
pub(crate) fn has_code(error: &VirtError, code: ErrorNumber) -> bool {
    error.code() == Enum::Known(code)
}

impl Hypervisor {
    /// Opens a connection to `uri`, e.g. `qemu+tls://host.example/system`,
    /// `qemu+unix:///session?socket=/path` or `test:///default`. With a user name or password
    /// the connection authenticates through libvirt's credential callback; a `pki_dir` is
    /// appended as `pkipath=` to `+tls` URIs.
    pub fn open(uri: &str, credentials: Option<&Credentials>) -> Result<Self, HypervisorError> {
        static SILENCE: Once = Once::new();
        // libvirt prints every error to stderr by default; ours carry the message instead.
        SILENCE.call_once(virt::error::clear_error_callback);
        let target = connect_uri(uri, credentials.and_then(|c| c.pki_dir.as_deref()));
        let opened = match credentials {
            Some(c) if c.username.is_some() || c.password.is_some() => {
                PENDING_CREDENTIALS.with(|p| *p.borrow_mut() = Some((c.username.clone(), c.password.clone())));
                let _guard = PendingCredentialsGuard;
                let mut auth = ConnectAuth::new(
                    vec![
                        ConnectCredentialType::UserName,
                        ConnectCredentialType::AuthName,
                        ConnectCredentialType::EchoPrompt,
                        ConnectCredentialType::Passphrase,
                        ConnectCredentialType::NoEchoPrompt,
                    ],
                    answer_credentials,
                );
                Connect::open_auth(Some(&target), &mut auth, 0)
            }
            _ => Connect::open(Some(&target)),
        };
        let shown_uri = redact(uri);
        let conn = opened
            .map_err(|e| HypervisorError::Unreachable { uri: shown_uri.clone(), message: e.message().to_string() })?;
        Ok(Hypervisor { conn, uri: uri.to_string(), shown_uri })
    }

    /// The URI this connection was opened with.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// CPUs, memory, versions and name of the host.
    pub fn facts(&self) -> Result<HostFacts, HypervisorError> {
        let node = self.conn.node_info().map_err(|e| self.fail("read the host's CPU and memory", e))?;
        let version = self.conn.lib_version().map_err(|e| self.fail("read the libvirt version", e))?;
        let hypervisor = self.conn.driver_type().map_err(|e| self.fail("read the driver type", e))?;
        let hostname = self.conn.hostname().map_err(|e| self.fail("read the host name", e))?;
        Ok(HostFacts {
            cpus: node.cpus,
            memory_bytes: node.memory.saturating_mul(1024),
            libvirt_version: format!("{}.{}.{}", version / 1_000_000, version / 1000 % 1000, version % 1000),
            hypervisor,
            hostname,
        })
    }

    /// Whether the host runs x86_64 guests with KVM (hardware acceleration); without it,
    /// guests are emulated in software (tests, nested setups).
    pub fn offers_kvm(&self) -> bool {
        self.conn.capabilities().is_ok_and(|caps| caps.contains("<domain type='kvm'"))
    }

    /// The libvirt connection, for the other modules.
    pub(crate) fn conn(&self) -> &Connect {
        &self.conn
    }

    /// The URI for messages, password removed.
    pub(crate) fn shown_uri(&self) -> &str {
        &self.shown_uri
    }

    /// Maps a libvirt error of `action` (e.g. "start domain web-1") to ours: connection
    /// problems become [`HypervisorError::Unreachable`], a driver without the call
    /// [`HypervisorError::Unsupported`], the rest [`HypervisorError::Libvirt`].
    pub(crate) fn fail(&self, action: impl Into<String>, error: VirtError) -> HypervisorError {
        let lost = [ErrorNumber::Rpc, ErrorNumber::NoConnect, ErrorNumber::InvalidConn, ErrorNumber::AuthFailed];
        if lost.into_iter().any(|code| has_code(&error, code)) {
            HypervisorError::Unreachable { uri: self.shown_uri.clone(), message: error.message().to_string() }
        } else if has_code(&error, ErrorNumber::NoSupport) {
            HypervisorError::Unsupported { uri: self.shown_uri.clone(), action: action.into() }
        } else {
            HypervisorError::Libvirt {
                uri: self.shown_uri.clone(),
                action: action.into(),
                message: error.message().to_string(),
            }
        }
    }

    /// A [`HypervisorError::NotFound`] for `what` on this host.
    pub(crate) fn not_found(&self, what: impl Into<String>, hint: impl Into<String>) -> HypervisorError {
        HypervisorError::NotFound { uri: self.shown_uri.clone(), what: what.into(), hint: hint.into() }
    }

    /// A [`HypervisorError::Refused`] on this host.
    pub(crate) fn refused(&self, reason: impl Into<String>) -> HypervisorError {
        HypervisorError::Refused { uri: self.shown_uri.clone(), reason: reason.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pki_path_goes_only_to_tls_uris() {
        let dir = Path::new("/etc/makonis/pki/host a");
        assert_eq!(
            connect_uri("qemu+tls://h1.example/system", Some(dir)),
            "qemu+tls://h1.example/system?pkipath=/etc/makonis/pki/host%20a"
        );
        assert_eq!(
            connect_uri("qemu+tls://h1/system?no_verify=0", Some(dir)),
            "qemu+tls://h1/system?no_verify=0&pkipath=/etc/makonis/pki/host%20a"
        );
        assert_eq!(connect_uri("qemu+ssh://h1/system", Some(dir)), "qemu+ssh://h1/system");
        assert_eq!(connect_uri("qemu+tls://h1/system", None), "qemu+tls://h1/system");
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(redact("qemu+tcp://admin:Secret1@h1:16509/system"), "qemu+tcp://admin:***@h1:16509/system");
        assert_eq!(redact("qemu+ssh://root@h1/system"), "qemu+ssh://root@h1/system");
        assert_eq!(redact("test:///default"), "test:///default");
    }

    #[test]
    fn unreachable_host_names_the_uri() {
        let error = Hypervisor::open("qemu+unix:///session?socket=/nonexistent/sock", None).unwrap_err();
        assert_eq!(error.category(), "unreachable");
        assert!(error.to_string().contains("qemu+unix:///session?socket=/nonexistent/sock"), "{error}");
    }
}
