//! Syslog over TLS (RFC 5425, port 6514), senders identified by client certificates that
//! the platform CA issued.
//!
//! Every sender must present a certificate that verifies against the client CA bundle
//! (`--client-ca`); a sender without one, or with one from another CA, fails the
//! handshake and sends nothing. The certificate's DNS names are what LogSources claim,
//! and its subject's organisation (`O=`) names the namespace it was issued for (see
//! [`makonis_siem_core::claims`]). The server's own certificate and the CA bundle are
//! files (a mounted Secret that cert-manager renews): [`Credentials::refresh`] loads
//! them again when they change, for the connections that follow.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use makonis_siem_core::claims::Certified;
use rustls::{
    RootCertStore, ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::WebPkiClientVerifier,
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
};
use tokio_rustls::{TlsAcceptor, server::TlsStream};
use x509_parser::{extensions::GeneralName, prelude::FromDer};

use super::{Intake, Peer, tcp::read};

/// How long a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the TLS intake's credentials are.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The server's certificate chain (PEM).
    pub certificate: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// The CA certificates that issue senders' client certificates (PEM).
    pub client_ca: PathBuf,
}

/// Why the TLS credentials cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file holds no usable PEM.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// rustls refused the combination (e.g. the key does not fit the certificate).
    #[error("the TLS configuration is unusable: {0}")]
    Config(String),
}

/// The TLS intake's configuration, loaded from [`TlsFiles`] and loaded again when their
/// content changes (compared byte for byte: a renewed Secret's files may keep their
/// modification time's second).
#[derive(Debug)]
pub struct Credentials {
    files: TlsFiles,
    loaded: Contents,
    config: watch::Sender<Arc<ServerConfig>>,
}

impl Credentials {
    /// Loads the files; fails with the file and the reason when one is unusable.
    pub fn load(files: TlsFiles) -> Result<Self, TlsError> {
        let loaded = Contents::read(&files)?;
        let config = watch::Sender::new(Arc::new(server_config(&files, &loaded)?));
        Ok(Self { files, loaded, config })
    }

    /// The configuration each new connection uses.
    pub fn subscribe(&self) -> watch::Receiver<Arc<ServerConfig>> {
        self.config.subscribe()
    }

    /// Loads the files again if any changed since they were last loaded; true when the
    /// new ones are in use. A change that cannot be used (or a file that cannot be read,
    /// as in the middle of a rotation) keeps the previous configuration and is returned
    /// as the error, and tried again on the next call.
    pub fn refresh(&mut self) -> Result<bool, TlsError> {
        let now = Contents::read(&self.files)?;
        if now == self.loaded {
            return Ok(false);
        }
        let config = server_config(&self.files, &now)?;
        self.loaded = now;
        self.config.send_replace(Arc::new(config));
        Ok(true)
    }
}

/// What the three files hold.
#[derive(Debug, PartialEq, Eq)]
struct Contents {
    certificate: Vec<u8>,
    key: Vec<u8>,
    client_ca: Vec<u8>,
}

impl Contents {
    fn read(files: &TlsFiles) -> Result<Self, TlsError> {
        let read = |path: &PathBuf| std::fs::read(path).map_err(|source| TlsError::Read { path: path.clone(), source });
        Ok(Self { certificate: read(&files.certificate)?, key: read(&files.key)?, client_ca: read(&files.client_ca)? })
    }
}

/// A server configuration from `contents` of `files` that requires a client certificate
/// from the client CA.
fn server_config(files: &TlsFiles, contents: &Contents) -> Result<ServerConfig, TlsError> {
    let chain = certificates(&files.certificate, &contents.certificate)?;
    let key = PrivateKeyDer::from_pem_slice(&contents.key)
        .map_err(|e| TlsError::Pem { path: files.key.clone(), reason: format!("no private key: {e}") })?;
    let mut roots = RootCertStore::empty();
    for ca in certificates(&files.client_ca, &contents.client_ca)? {
        roots.add(ca).map_err(|e| TlsError::Pem {
            path: files.client_ca.clone(),
            reason: format!("not a CA certificate: {e}"),
        })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_client_cert_verifier(verifier).with_single_cert(chain, key))
        .map_err(|e| TlsError::Config(e.to_string()))
}

/// The certificates of the PEM `text` read from `path`; at least one.
fn certificates(path: &Path, text: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem { path: path.to_owned(), reason: e.to_string() })?;
    if certs.is_empty() {
        return Err(TlsError::Pem { path: path.to_owned(), reason: "no certificate in it".into() });
    }
    Ok(certs)
}

/// What a verified client certificate says about its sender: its DNS names (lower
/// case) and its subject's organisations. Names only from the subject alternative
/// names, as RFC 6125 asks, never from the common name.
pub fn certified(der: &[u8]) -> Result<Certified, String> {
    let (_, certificate) =
        x509_parser::certificate::X509Certificate::from_der(der).map_err(|e| format!("unreadable certificate: {e}"))?;
    let names = match certificate.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(dns) => Some(dns.to_ascii_lowercase()),
                _ => None,
            })
            .collect(),
        Ok(None) => Vec::new(),
        Err(e) => return Err(format!("unreadable subject alternative names: {e}")),
    };
    let organisations =
        certificate.subject().iter_organization().filter_map(|o| o.as_str().ok()).map(str::to_owned).collect();
    Ok(Certified { names, organisations })
}

/// Completes a sender's handshake (within [`HANDSHAKE_TIMEOUT`]) with the configuration
/// current when it connected; the stream and the sender as its certificate names it.
pub(super) async fn handshake(
    config: &watch::Receiver<Arc<ServerConfig>>,
    stream: TcpStream,
    peer: SocketAddr,
) -> std::io::Result<(TlsStream<TcpStream>, Peer)> {
    let acceptor = TlsAcceptor::from(config.borrow().clone());
    let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "the TLS handshake took too long"))??;
    let der = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .ok_or_else(|| std::io::Error::other("no client certificate"))?;
    let certificate = certified(der.as_ref()).map_err(std::io::Error::other)?;
    tracing::debug!(%peer, names = ?certificate.names, "a TLS sender connected");
    Ok((stream, Peer::Certificate { address: peer.ip(), certificate: Arc::new(certificate) }))
}

/// Accepts TLS connections until the task is stopped: each completes its
/// [`handshake`], then is read like a plain TCP connection, its frames claimed by
/// certificate.
pub async fn serve(listener: TcpListener, config: watch::Receiver<Arc<ServerConfig>>, intake: Intake) {
    super::accept(listener, intake, "syslog-tls", move |stream, peer, intake| {
        let config = config.clone();
        async move {
            let (stream, sender) = handshake(&config, stream, peer).await?;
            read(stream, sender, "tls", &intake).await
        }
    })
    .await;
}
