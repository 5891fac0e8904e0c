//! The TLS client settings that trust only the operator's CA file.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

use super::error::DirectoryError;

/// A rustls client configuration (ring, TLS 1.2 and 1.3) that verifies servers against the
/// PEM certificates in `ca_file` only.
pub(super) fn client_config(ca_file: &Path) -> Result<Arc<ClientConfig>, DirectoryError> {
    let misconfigured = |why: String| DirectoryError::Misconfigured(format!("CA file {}: {why}", ca_file.display()));
    let pem = std::fs::read(ca_file).map_err(|e| misconfigured(e.to_string()))?;
    let roots = root_store(&pem).map_err(misconfigured)?;
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| misconfigured(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The trust anchors of the PEM text `pem`: at least one certificate, every one usable.
/// Also the SIEM client's (`crate::siem::client`).
pub(crate) fn root_store(pem: &[u8]) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("not a PEM certificate: {e}"))?;
        roots.add(cert).map_err(|e| format!("unusable CA certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err("no CERTIFICATE block in the file".into());
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed CA (P-256) whose key was thrown away: a valid trust anchor that signs nothing.
    const CA: &str = "-----BEGIN CERTIFICATE-----
MIIBoDCCAUWgAwIBAgIUTG0txy/9k2cdqiYWNCSxboRB7q0wCgYIKoZIzj0EAwIw
JDEiMCAGA1UEAwwZTWFrb25pcyB1bnRydXN0ZWQgdGVzdCBDQTAgFw0yNjExMjgw
NTE1MDZaGA8yMTI2MTEwNDA1MTUwNlowJDEiMCAGA1UEAwwZTWFrb25pcyB1bnRy
dXN0ZWQgdGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABCMw/MvDCl1j
GbTbiOMnXrQbuyP2RkPE86URE4dJi+v1YbHDO/9vL9CfaOgJnX2Z0vuXU6x2xQSG
Q9d24HrxGMejUzBRMB0GA1UdDgQWBBS/8qDzXPJ/MGlH+YZjsxCShBylmjAfBgNV
HSMEGDAWgBS/8qDzXPJ/MGlH+YZjsxCShBylmjAPBgNVHRMBAf8EBTADAQH/MAoG
CCqGSM49BAMCA0kAMEYCIQD5Sc6vkhGFmQmwuvmye16rbELtBmwO/fpmSqr+Qjdd
zgIhAI8G+3MjPKmMnMcPdYgS0qaBEhYrRMjGD88G9Ar0vyv4
-----END CERTIFICATE-----
";

    #[test]
    fn pem_without_certificates_is_refused() {
        assert!(root_store(b"").unwrap_err().contains("no CERTIFICATE"));
        assert!(root_store(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").is_err());
        assert!(root_store(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").is_err());
    }

    #[test]
    fn certificates_become_trust_anchors() {
        let twice = format!("{CA}{CA}");
        assert_eq!(root_store(twice.as_bytes()).map(|roots| roots.len()), Ok(2));
    }

    #[test]
    fn a_ca_file_gives_a_client_config() {
        let path = std::env::temp_dir().join(format!("makonis-ldap-tls-{}.pem", std::process::id()));
        std::fs::write(&path, CA).unwrap();
        let config = client_config(&path);
        std::fs::remove_file(&path).unwrap();
        assert!(config.is_ok());
    }

    #[test]
    fn a_missing_file_is_a_configuration_error() {
        let error = client_config(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(matches!(&error, DirectoryError::Misconfigured(why) if why.contains("/nonexistent/ca.pem")), "{error}");
    }
}
