//! Posting to the SIEM's HTTPS listener (a batch of the trail, or a search): rustls with the portal's client
//! certificate, HTTP/1.1, one connection per batch. The files are read for every batch,
//! so a renewed certificate is used from the next one on.

use std::{sync::Arc, time::Duration};

use http_body_util::{BodyExt, Full};
use hyper::{
    Method, Request,
    body::Bytes,
    client::conn::http1,
    header::{CONNECTION, CONTENT_TYPE, HOST},
};
use hyper_util::rt::TokioIo;
use rustls::{
    ClientConfig,
    pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject},
};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::SiemSink;
use crate::identity::ldap::tls::root_store;

/// How long one batch may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The most of an answer's body read (the SIEM's answers to a batch are a line of JSON).
const MAX_ANSWER: usize = 64 * 1024;

/// The most of a search's answer read (a page of 500 events with their documents and
/// originals stays far below).
const MAX_SEARCH_ANSWER: usize = 64 * 1024 * 1024;

/// Why a batch was not confirmed; each is tried again on the next round.
#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    /// The certificate, key or CA cannot be used.
    #[error("the SIEM client's credentials: {0}")]
    Credentials(String),
    /// The URL names no host.
    #[error("the SIEM's URL {0} names no host")]
    Url(String),
    /// The SIEM could not be reached or the TLS handshake failed.
    #[error("connecting to the SIEM: {0}")]
    Connect(std::io::Error),
    /// The HTTP exchange failed.
    #[error("HTTP exchange with the SIEM: {0}")]
    Http(#[from] hyper::Error),
    /// The SIEM answered, but not 200.
    #[error("the SIEM answered {status}: {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The answer's text.
        body: String,
    },
    /// The answer could not be read whole.
    #[error("reading the SIEM's answer: {0}")]
    Answer(String),
    /// No answer within the time allowed.
    #[error("no answer from the SIEM within {0:?}")]
    Timeout(Duration),
}

impl ShipError {
    /// A bounded name for metrics.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Credentials(_) | Self::Url(_) => "configuration",
            Self::Connect(_) => "connect",
            Self::Http(_) | Self::Answer(_) => "http",
            Self::Refused { .. } => "refused",
            Self::Timeout(_) => "timeout",
        }
    }
}

/// Posts `body` (a JSON array of records) to the sink; `Ok` once the SIEM confirmed it
/// stored the batch.
pub async fn post(sink: &SiemSink, body: Vec<u8>) -> Result<(), ShipError> {
    let exchanged = exchange(sink, sink.url.clone(), body, MAX_ANSWER);
    tokio::time::timeout(TIMEOUT, exchanged).await.map_err(|_| ShipError::Timeout(TIMEOUT))?.map(drop)
}

/// Posts a JSON question to the SIEM's search API at `path` (e.g. `/v1/search`), on the
/// host of the sink's URL; the answer's body once it is 200.
pub async fn ask(sink: &SiemSink, path: &str, body: Vec<u8>) -> Result<Vec<u8>, ShipError> {
    let mut url = sink.url.clone();
    url.set_path(path);
    url.set_query(None);
    tokio::time::timeout(TIMEOUT, exchange(sink, url, body, MAX_SEARCH_ANSWER))
        .await
        .map_err(|_| ShipError::Timeout(TIMEOUT))?
}

async fn exchange(sink: &SiemSink, url: url::Url, body: Vec<u8>, max_answer: usize) -> Result<Vec<u8>, ShipError> {
    let config = client_config(sink)?;
    let host = url.host_str().ok_or_else(|| ShipError::Url(url.to_string()))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = url.port_or_known_default().unwrap_or(443);
    let name = ServerName::try_from(host.to_owned()).map_err(|_| ShipError::Url(url.to_string()))?;
    let tcp = TcpStream::connect((host, port)).await.map_err(ShipError::Connect)?;
    let tls = TlsConnector::from(Arc::new(config)).connect(name, tcp).await.map_err(ShipError::Connect)?;
    let (mut sender, connection) = http1::handshake::<_, Full<Bytes>>(TokioIo::new(tls)).await?;
    let driver = tokio::spawn(connection);
    let path = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(HOST, url.authority())
        .header(CONTENT_TYPE, "application/json")
        .header(CONNECTION, "close")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| ShipError::Url(e.to_string()))?;
    let response = sender.send_request(request).await;
    let result = match response {
        Ok(response) => {
            let status = response.status().as_u16();
            let limited = http_body_util::Limited::new(response.into_body(), max_answer);
            match (status, limited.collect().await.map(|b| b.to_bytes().to_vec())) {
                (200, Ok(body)) => Ok(body),
                (200, Err(error)) => Err(ShipError::Answer(error.to_string())),
                (status, body) => Err(ShipError::Refused {
                    status,
                    body: String::from_utf8_lossy(&body.unwrap_or_default()).into_owned(),
                }),
            }
        }
        Err(error) => Err(ShipError::Http(error)),
    };
    driver.abort();
    result
}

/// A client configuration that trusts the SIEM's CA and presents the portal's
/// certificate.
fn client_config(sink: &SiemSink) -> Result<ClientConfig, ShipError> {
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| ShipError::Credentials(format!("reading {}: {e}", path.display())))
    };
    let pem_error =
        |path: &std::path::Path, e: &dyn std::fmt::Display| ShipError::Credentials(format!("{}: {e}", path.display()));
    let roots = root_store(&read(&sink.server_ca)?).map_err(|e| pem_error(&sink.server_ca, &e))?;
    let chain = CertificateDer::pem_slice_iter(&read(&sink.certificate)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(&sink.certificate, &e))?;
    let key = PrivateKeyDer::from_pem_slice(&read(&sink.key)?).map_err(|e| pem_error(&sink.key, &e))?;
    ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| ShipError::Credentials(e.to_string()))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| ShipError::Credentials(e.to_string()))
}
