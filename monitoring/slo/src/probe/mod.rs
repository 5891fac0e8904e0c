//! The network probes of the SLO engine: one HTTP(S) request or TCP connect per run, always
//! on a fresh connection, with every problem reported as a categorised [`Failure`].
//!
//! A [`Prober`] is built once per engine (it holds the TLS configuration and the resolve
//! overrides) and shared; [`Prober::run`] is called for every probe and never fails: a run
//! that went wrong is a [`ProbeResult`] with `ok: false` and a [`Failure`].

mod http;
mod resolve;
mod tcp;
#[cfg(test)]
mod tests;
mod tls;

use std::{
    fmt,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

pub use http::UrlTarget;
pub use resolve::{ResolveOverride, ResolveOverrideError};

use crate::targets::AgencyGuard;

/// What one probe run checks.
#[derive(Debug, Clone)]
pub enum Check {
    /// An HTTP(S) `GET` request.
    Http(HttpCheck),
    /// A TCP connect, closed as soon as it is established.
    Tcp {
        /// The host name or IP address to connect to.
        host: String,
        /// The port to connect to.
        port: u16,
    },
}

/// An HTTP(S) check: one `GET` request and the checks on its answer.
#[derive(Debug, Clone)]
pub struct HttpCheck {
    /// The URL requested: `http://` or `https://`, any path and query, optional port.
    pub url: String,
    /// The statuses that count as success; empty means any 200–399.
    pub expected_status: Vec<u16>,
    /// When set, must match the first 64 KiB of the body (read only then).
    pub body_match: Option<regex::Regex>,
    /// When set, an answer slower than this counts as a failure.
    pub latency_threshold: Option<Duration>,
    /// Warn ([`ProbeResult::certificate_expiring`]) when the server certificate expires within this.
    pub certificate_warning: Duration,
}

/// One probe: what to check, how long the whole run may take, and, for an agency's
/// probe, where it may connect.
#[derive(Debug, Clone)]
pub struct ProbeSpec {
    /// What to check.
    pub check: Check,
    /// The bound on the whole run, from resolving the host to the end of the checks.
    pub timeout: Duration,
    /// For a probe of an agency namespace: the checks of its host and of every address
    /// before connecting (see [`crate::targets`]). `None`: the platform's own probe.
    pub guard: Option<AgencyGuard>,
}

/// The outcome of one probe run.
#[derive(Debug, Clone)]
pub struct ProbeResult {
    /// Whether every check passed.
    pub ok: bool,
    /// From before resolving the host to the end of the checks (response headers, and the body
    /// when it is matched, for HTTP; the connect for TCP), or to the failure.
    pub latency: Duration,
    /// Why the run failed; set exactly when `!ok`.
    pub failure: Option<Failure>,
    /// When the server's leaf certificate expires, in Unix milliseconds (HTTPS only). Also set
    /// when the handshake failed because the certificate has expired.
    pub certificate_not_after: Option<i64>,
    /// Whether the certificate expires within the check's `certificate_warning` (or already has).
    /// A warning only: it does not make `ok` false.
    pub certificate_expiring: bool,
}

/// Why a probe run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The kind of failure, for metric labels and alert routing.
    pub category: FailureCategory,
    /// Short human text, e.g. "HTTP 503 (expected 200–399)" or "connection refused by 127.0.0.1:8443".
    pub cause: String,
}

impl Failure {
    /// A failure of `category` because of `cause`.
    pub fn new(category: FailureCategory, cause: impl Into<String>) -> Self {
        Self { category, cause: cause.into() }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.cause)
    }
}

/// The kind of a [`Failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureCategory {
    /// The host name did not resolve.
    Dns,
    /// The TCP connect failed (refused, unreachable, …).
    Connect,
    /// The run took longer than the probe's timeout.
    Timeout,
    /// The TLS handshake failed (untrusted or expired certificate, wrong name, …).
    Tls,
    /// The server did not speak HTTP properly, or closed the connection early.
    Protocol,
    /// The HTTP status was not an expected one.
    Status,
    /// The body did not match the expected pattern.
    Body,
    /// The answer came, but slower than the latency threshold.
    Latency,
    /// An agency's probe named, or resolved to, a target out of its reach; nothing was
    /// connected to.
    Forbidden,
}

impl FailureCategory {
    /// The lower-case name, for metric labels.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Tls => "tls",
            Self::Protocol => "protocol",
            Self::Status => "status",
            Self::Body => "body",
            Self::Latency => "latency",
            Self::Forbidden => "forbidden",
        }
    }
}

impl fmt::Display for FailureCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a [`Prober`] is set up.
#[derive(Debug, Clone, Default)]
pub struct ProberConfig {
    /// PEM bundles of CA certificates trusted in addition to the web PKI roots.
    pub extra_ca_files: Vec<PathBuf>,
    /// Host patterns connected to at a fixed address instead of resolving them.
    pub resolve: Vec<ResolveOverride>,
}

/// Why a [`Prober`] could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ProberError {
    /// A CA file could not be read or holds no usable certificate.
    #[error("CA file {}: {reason}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS client configuration was refused by the TLS library.
    #[error("TLS configuration: {0}")]
    Tls(String),
}

/// Runs probes. Built once per engine; cheap to clone (two reference counts), or share by `&`.
#[derive(Debug, Clone)]
pub struct Prober {
    /// The TLS client configuration, shared by every HTTPS run.
    tls: Arc<rustls::ClientConfig>,
    /// The resolve overrides, consulted before DNS.
    resolve: Arc<[ResolveOverride]>,
}

impl Prober {
    /// A prober trusting the web PKI roots plus `config.extra_ca_files`.
    pub fn new(config: ProberConfig) -> Result<Self, ProberError> {
        let tls = tls::client_config(&config.extra_ca_files)?;
        Ok(Self { tls, resolve: config.resolve.into() })
    }

    /// Runs one probe, bounded by `spec.timeout`. Never fails: every problem is a [`Failure`].
    ///
    /// Must be called within a Tokio runtime with IO and time enabled. The returned future is `Send`.
    pub async fn run(&self, spec: &ProbeSpec) -> ProbeResult {
        let mut state = RunState { start: Instant::now(), phase: Phase::Resolving, latency: None, not_after: None };
        let outcome = match &spec.check {
            Check::Http(check) => {
                tokio::time::timeout(spec.timeout, http::run(self, check, spec.guard.as_ref(), &mut state)).await
            }
            Check::Tcp { host, port } => {
                tokio::time::timeout(spec.timeout, tcp::run(self, host, *port, spec.guard.as_ref(), &mut state)).await
            }
        };
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(failure)) => Some(failure),
            Err(_) => Some(Failure::new(
                FailureCategory::Timeout,
                format!("timed out after {} {}", Human(spec.timeout), state.phase.describe()),
            )),
        };
        let latency = state.latency.unwrap_or_else(|| state.start.elapsed());
        let certificate_expiring = match (&spec.check, state.not_after) {
            (Check::Http(check), Some(not_after)) => expires_within(not_after, check.certificate_warning),
            _ => false,
        };
        if let Some(failure) = &failure {
            tracing::debug!(category = failure.category.as_str(), cause = %failure.cause, "probe failed");
        }
        ProbeResult {
            ok: failure.is_none(),
            latency,
            failure,
            certificate_not_after: state.not_after,
            certificate_expiring,
        }
    }
}

/// What a run has found out so far; kept outside the timed-out future so that a timeout can
/// say where it happened and keep the certificate expiry.
struct RunState {
    /// When the run started.
    start: Instant,
    /// What the run is doing.
    phase: Phase,
    /// Set when the checks are done (status and body checks fail after it is set); else the
    /// latency is the time to the end of the run.
    latency: Option<Duration>,
    /// The leaf certificate's expiry, Unix ms.
    not_after: Option<i64>,
}

impl RunState {
    /// Records that the checks are done now.
    fn finish(&mut self) -> Duration {
        let latency = self.start.elapsed();
        self.latency = Some(latency);
        latency
    }
}

/// The step a run is at, for timeout messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Resolving the host name.
    Resolving,
    /// Establishing the TCP connection.
    Connecting,
    /// In the TLS handshake.
    TlsHandshake,
    /// Request sent, waiting for the status line and headers.
    WaitingForResponse,
    /// Reading the body to match it.
    ReadingBody,
}

impl Phase {
    /// "while …" text for timeout messages.
    fn describe(self) -> &'static str {
        match self {
            Self::Resolving => "while resolving the host",
            Self::Connecting => "while connecting",
            Self::TlsHandshake => "in the TLS handshake",
            Self::WaitingForResponse => "waiting for the response",
            Self::ReadingBody => "while reading the body",
        }
    }
}

/// Whether `not_after` (Unix ms) is within `warning` from now (or past).
fn expires_within(not_after: i64, warning: Duration) -> bool {
    let now =
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let warning = i64::try_from(warning.as_millis()).unwrap_or(i64::MAX);
    not_after.saturating_sub(now) <= warning
}

/// A duration for humans: "300 ms", "2.4 s", "5 s".
struct Human(Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.as_millis();
        if millis == 0 {
            write!(f, "{} µs", self.0.as_micros())
        } else if millis < 1000 {
            write!(f, "{millis} ms")
        } else {
            let tenths = (millis + 50) / 100;
            match tenths % 10 {
                0 => write!(f, "{} s", tenths / 10),
                fraction => write!(f, "{}.{fraction} s", tenths / 10),
            }
        }
    }
}

/// An error and its sources, joined by ": " (hyper's and io's top-level texts are terse).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
