//! TLS: the client configuration (web PKI roots plus extra CAs), the handshake, and the
//! leaf certificate's expiry.

use std::{io, path::PathBuf, sync::Arc};

use rustls::{CertificateError, ClientConfig, RootCertStore, client::Resumption};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject};
use tokio::net::TcpStream;
use tokio_rustls::{TlsConnector, client::TlsStream};
use x509_parser::{certificate::X509CertificateParser, nom::Parser};

use super::{Failure, FailureCategory, Phase, Prober, ProberError, RunState, error_chain};

/// The client configuration shared by every HTTPS run: web PKI roots plus the CAs in
/// `extra_ca_files`, ALPN `http/1.1`, and no session resumption (each run does a full
/// handshake, so it verifies the certificate the server presents now).
pub(super) fn client_config(extra_ca_files: &[PathBuf]) -> Result<Arc<ClientConfig>, ProberError> {
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    for path in extra_ca_files {
        let fail = |reason: String| ProberError::CaFile { path: path.clone(), reason };
        let mut added = 0_usize;
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| fail(pem_error(e)))? {
            let cert = cert.map_err(|e| fail(pem_error(e)))?;
            roots.add(cert).map_err(|e| fail(format!("not a usable CA certificate: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(fail("no certificate in it (expected PEM `BEGIN CERTIFICATE` blocks)".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ProberError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}

/// A PEM reading error in words.
fn pem_error(error: rustls_pki_types::pem::Error) -> String {
    match error {
        rustls_pki_types::pem::Error::Io(error) => error.to_string(),
        other => format!("not a PEM file: {other}"),
    }
}

/// The TLS handshake with `host` (SNI and verification) over `stream`. Records the leaf
/// certificate's expiry in `state`, also when the handshake failed because it has expired.
pub(super) async fn handshake(
    prober: &Prober,
    host: &str,
    stream: TcpStream,
    state: &mut RunState,
) -> Result<TlsStream<TcpStream>, Failure> {
    state.phase = Phase::TlsHandshake;
    let Ok(name) = ServerName::try_from(host) else {
        return Err(Failure::new(FailureCategory::Tls, format!("TLS: `{host}` is not a valid server name")));
    };
    match TlsConnector::from(prober.tls.clone()).connect(name.to_owned(), stream).await {
        Ok(tls) => {
            state.not_after =
                tls.get_ref().1.peer_certificates().and_then(|chain| chain.first()).and_then(not_after_ms);
            Ok(tls)
        }
        Err(error) => Err(Failure::new(FailureCategory::Tls, handshake_failure(&error, state))),
    }
}

/// The leaf certificate's `notAfter`, Unix ms.
fn not_after_ms(der: &CertificateDer<'_>) -> Option<i64> {
    let (_, cert) = X509CertificateParser::new().with_deep_parse_extensions(false).parse(der.as_ref()).ok()?;
    Some(cert.validity().not_after.timestamp().saturating_mul(1000))
}

/// A failed handshake in words, e.g. "TLS: certificate expired 2026-01-01".
fn handshake_failure(error: &io::Error, state: &mut RunState) -> String {
    let Some(error) = error.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) else {
        return match error.kind() {
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => {
                "TLS: the server closed the connection during the handshake".into()
            }
            _ => format!("TLS handshake: {}", error_chain(error)),
        };
    };
    match error {
        rustls::Error::InvalidCertificate(error) => match error {
            CertificateError::Expired => "TLS: certificate expired".into(),
            CertificateError::ExpiredContext { not_after, .. } => {
                state.not_after = Some(i64::try_from(not_after.as_secs()).unwrap_or(i64::MAX).saturating_mul(1000));
                format!("TLS: certificate expired {}", date(*not_after))
            }
            CertificateError::NotValidYet => "TLS: certificate not valid yet".into(),
            CertificateError::NotValidYetContext { not_before, .. } => {
                format!("TLS: certificate not valid before {}", date(*not_before))
            }
            CertificateError::UnknownIssuer => "TLS: certificate issued by an untrusted CA".into(),
            CertificateError::NotValidForName => "TLS: certificate not valid for the host name".into(),
            CertificateError::NotValidForNameContext { expected, presented } => {
                format!("TLS: certificate not valid for {}; it names {}", expected.to_str(), names(presented))
            }
            CertificateError::Revoked => "TLS: certificate revoked".into(),
            CertificateError::BadSignature => {
                "TLS: certificate signature does not verify (signed by another key of a trusted CA's name?)".into()
            }
            CertificateError::BadEncoding => "TLS: certificate is malformed".into(),
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                "TLS: certificate not valid for server authentication".into()
            }
            other => format!("TLS: invalid certificate: {other}"),
        },
        rustls::Error::NoCertificatesPresented => "TLS: the server sent no certificate".into(),
        rustls::Error::AlertReceived(alert) => format!("TLS: the server refused the handshake ({alert:?})"),
        rustls::Error::PeerIncompatible(why) => {
            format!("TLS: no protocol version or cipher suite in common with the server ({why:?})")
        }
        rustls::Error::NoApplicationProtocol => "TLS: the server does not offer HTTP/1.1 (ALPN)".into(),
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "TLS: the server did not answer with TLS".into()
        }
        other => format!("TLS: {other}"),
    }
}

/// The names a certificate presents, e.g. "a.example, b.example and 3 more", from the
/// verifier's `DnsName("a.example")` / `IpAddress(10.0.0.1)` texts.
fn names(presented: &[String]) -> String {
    const SHOWN: usize = 4;
    if presented.is_empty() {
        return "no host".into();
    }
    let mut text = String::new();
    for (i, name) in presented.iter().take(SHOWN).enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        let inner = name.split_once('(').and_then(|(_, rest)| rest.strip_suffix(')')).unwrap_or(name);
        text.push_str(inner.trim_matches('"'));
    }
    if presented.len() > SHOWN {
        text.push_str(&format!(" and {} more", presented.len() - SHOWN));
    }
    text
}

/// A certificate time as a UTC date.
fn date(time: UnixTime) -> String {
    let seconds = i64::try_from(time.as_secs()).unwrap_or(i64::MAX);
    match jiff::Timestamp::from_second(seconds) {
        Ok(timestamp) => timestamp.strftime("%Y-%m-%d").to_string(),
        Err(_) => format!("at Unix time {seconds}"),
    }
}
