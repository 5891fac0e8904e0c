//! Probes against real servers started on 127.0.0.1 by each test.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::OffsetDateTime;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpListener,
    sync::mpsc,
};

use super::*;

const DAY: i64 = 86_400;

fn http_check(url: String) -> HttpCheck {
    HttpCheck {
        url,
        expected_status: Vec::new(),
        body_match: None,
        latency_threshold: None,
        certificate_warning: Duration::from_secs(14 * DAY as u64),
    }
}

fn spec(check: HttpCheck) -> ProbeSpec {
    ProbeSpec { check: Check::Http(check), timeout: Duration::from_secs(5), guard: None }
}

fn plain_prober() -> Prober {
    Prober::new(ProberConfig::default()).expect("prober")
}

fn failure(result: &ProbeResult) -> (FailureCategory, &str) {
    assert!(!result.ok, "expected a failure: {result:?}");
    let failure = result.failure.as_ref().expect("failure when !ok");
    (failure.category, failure.cause.as_str())
}

fn assert_ok(result: &ProbeResult) {
    assert!(result.ok, "expected success: {result:?}");
    assert!(result.failure.is_none());
}

/// A raw HTTP/1.1 response with a Content-Length.
fn response(status: &str, body: &[u8]) -> Vec<u8> {
    let mut raw =
        format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).into_bytes();
    raw.extend_from_slice(body);
    raw
}

/// Reads a request head (up to the blank line).
async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> String {
    let mut head = Vec::new();
    let mut buf = [0_u8; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Reads the request, waits `delay`, writes `raw` and closes.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, raw: &[u8], delay: Duration) -> String {
    let head = read_head(&mut stream).await;
    tokio::time::sleep(delay).await;
    let _ = stream.write_all(raw).await;
    let _ = stream.shutdown().await;
    head
}

/// A plain HTTP server answering every connection with `raw` after `delay`; the request heads
/// are sent to the returned channel.
async fn serve(raw: Vec<u8>, delay: Duration) -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let raw: Arc<[u8]> = raw.into();
    let (heads, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (raw, heads) = (raw.clone(), heads.clone());
            tokio::spawn(async move {
                let _ = heads.send(answer(stream, &raw, delay).await);
            });
        }
    });
    (address, received)
}

/// A server that accepts connections and never answers.
async fn silent() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    address
}

/// An address nothing listens on.
fn free_address() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

#[tokio::test]
async fn http_200_is_ok() {
    let (address, _) = serve(response("200 OK", b"fine"), Duration::ZERO).await;
    let result = plain_prober().run(&spec(http_check(format!("http://{address}/health")))).await;
    assert_ok(&result);
    assert!(result.latency > Duration::ZERO && result.latency < Duration::from_secs(5));
    assert_eq!(result.certificate_not_after, None);
    assert!(!result.certificate_expiring);
}

#[tokio::test]
async fn http_request_has_path_query_and_headers() {
    let (address, mut heads) = serve(response("200 OK", b""), Duration::ZERO).await;
    let result = plain_prober().run(&spec(http_check(format!("http://{address}/health/deep?full=1#x")))).await;
    assert_ok(&result);
    let head = heads.recv().await.expect("request head").to_ascii_lowercase();
    assert!(head.starts_with("get /health/deep?full=1 http/1.1\r\n"), "{head}");
    assert!(head.contains(&format!("\r\nhost: {address}\r\n")), "{head}");
    assert!(head.contains("\r\nuser-agent: makonis-slo-probe\r\n"), "{head}");
    assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
}

#[tokio::test]
async fn http_path_defaults_to_slash() {
    let (address, mut heads) = serve(response("204 No Content", b""), Duration::ZERO).await;
    assert_ok(&plain_prober().run(&spec(http_check(format!("http://{address}")))).await);
    assert!(heads.recv().await.expect("request head").starts_with("GET / HTTP/1.1\r\n"));
}

#[tokio::test]
async fn http_503_fails_with_status() {
    let (address, _) = serve(response("503 Service Unavailable", b"down"), Duration::ZERO).await;
    let result = plain_prober().run(&spec(http_check(format!("http://{address}/")))).await;
    assert_eq!(failure(&result), (FailureCategory::Status, "HTTP 503 (expected 200–399)"));
}

#[tokio::test]
async fn expected_status_is_exact() {
    let (address, _) = serve(response("200 OK", b""), Duration::ZERO).await;
    let prober = plain_prober();
    let mut check = http_check(format!("http://{address}/"));
    check.expected_status = vec![204];
    let result = prober.run(&spec(check.clone())).await;
    assert_eq!(failure(&result), (FailureCategory::Status, "HTTP 200 (expected 204)"));
    check.expected_status = vec![204, 301];
    let result = prober.run(&spec(check.clone())).await;
    assert_eq!(failure(&result), (FailureCategory::Status, "HTTP 200 (expected 204, 301)"));
    check.expected_status = vec![200, 204];
    assert_ok(&prober.run(&spec(check)).await);
}

#[tokio::test]
async fn expected_status_can_accept_an_error_status() {
    let (address, _) = serve(response("404 Not Found", b""), Duration::ZERO).await;
    let mut check = http_check(format!("http://{address}/"));
    check.expected_status = vec![404];
    assert_ok(&plain_prober().run(&spec(check)).await);
}

#[tokio::test]
async fn body_match_and_mismatch() {
    let (address, _) = serve(response("200 OK", b"{\"status\":\"ok\"}"), Duration::ZERO).await;
    let prober = plain_prober();
    let mut check = http_check(format!("http://{address}/"));
    check.body_match = Some(regex::Regex::new(r#""status":"ok""#).expect("regex"));
    assert_ok(&prober.run(&spec(check.clone())).await);

    check.body_match = Some(regex::Regex::new("degraded").expect("regex"));
    let result = prober.run(&spec(check)).await;
    assert_eq!(failure(&result), (FailureCategory::Body, "body does not match `degraded`"));
}

#[tokio::test]
async fn body_match_sees_only_the_first_64_kib() {
    let mut body = vec![b'a'; 70 * 1024];
    body.extend_from_slice(b"MARKER");
    let (address, _) = serve(response("200 OK", &body), Duration::ZERO).await;
    let prober = plain_prober();
    let mut check = http_check(format!("http://{address}/"));
    check.body_match = Some(regex::Regex::new("MARKER").expect("regex"));
    let result = prober.run(&spec(check.clone())).await;
    assert_eq!(failure(&result), (FailureCategory::Body, "body does not match `MARKER`"));
    check.body_match = Some(regex::Regex::new("^a{65536}$").expect("regex"));
    assert_ok(&prober.run(&spec(check)).await);
}

#[tokio::test]
async fn slower_than_the_threshold_fails_with_latency() {
    let (address, _) = serve(response("200 OK", b""), Duration::from_millis(300)).await;
    let mut check = http_check(format!("http://{address}/"));
    check.latency_threshold = Some(Duration::from_millis(100));
    let result = plain_prober().run(&spec(check)).await;
    let (category, cause) = failure(&result);
    assert_eq!(category, FailureCategory::Latency);
    assert!(cause.starts_with("answered in 3") && cause.ends_with(" ms (threshold 100 ms)"), "{cause}");
    assert!(result.latency >= Duration::from_millis(300));
}

#[tokio::test]
async fn silent_server_times_out() {
    let address = silent().await;
    let probe = ProbeSpec { timeout: Duration::from_millis(200), ..spec(http_check(format!("http://{address}/"))) };
    let result = plain_prober().run(&probe).await;
    assert_eq!(failure(&result), (FailureCategory::Timeout, "timed out after 200 ms waiting for the response"));
    assert!(result.latency >= Duration::from_millis(200) && result.latency < Duration::from_secs(2));
}

#[tokio::test]
async fn refused_connection_fails_with_connect() {
    let address = free_address();
    let result = plain_prober().run(&spec(http_check(format!("http://{address}/")))).await;
    let expected = format!("connection refused by {address}");
    assert_eq!(failure(&result), (FailureCategory::Connect, expected.as_str()));
}

#[tokio::test]
async fn unknown_host_fails_with_dns() {
    let result = plain_prober().run(&spec(http_check("http://nonexistent.invalid/".into()))).await;
    let (category, cause) = failure(&result);
    assert_eq!(category, FailureCategory::Dns);
    assert!(cause.contains("nonexistent.invalid"), "{cause}");
}

#[tokio::test]
async fn invalid_urls_fail_with_protocol() {
    let prober = plain_prober();
    for url in ["not a url", "ftp://example.com/", "/relative"] {
        let result = prober.run(&spec(http_check(url.into()))).await;
        let (category, cause) = failure(&result);
        assert_eq!(category, FailureCategory::Protocol, "{url}");
        assert!(cause.starts_with(&format!("invalid URL `{url}`")), "{cause}");
    }
}

#[tokio::test]
async fn garbage_answer_fails_with_protocol() {
    let (address, _) = serve(b"SSH-2.0-OpenSSH_9.6\r\n".to_vec(), Duration::ZERO).await;
    let result = plain_prober().run(&spec(http_check(format!("http://{address}/")))).await;
    let (category, cause) = failure(&result);
    assert_eq!(category, FailureCategory::Protocol);
    assert!(cause.starts_with("HTTP: "), "{cause}");
}

#[tokio::test]
async fn closed_without_answer_fails_with_protocol() {
    let (address, _) = serve(Vec::new(), Duration::ZERO).await;
    let result = plain_prober().run(&spec(http_check(format!("http://{address}/")))).await;
    let (category, cause) = failure(&result);
    assert_eq!(category, FailureCategory::Protocol);
    assert!(cause.contains("closed the connection"), "{cause}");
}

#[tokio::test]
async fn tcp_connect_ok_and_refused() {
    let prober = plain_prober();
    let address = silent().await;
    let tcp = |address: SocketAddr| ProbeSpec {
        check: Check::Tcp { host: address.ip().to_string(), port: address.port() },
        timeout: Duration::from_secs(5),
        guard: None,
    };
    let result = prober.run(&tcp(address)).await;
    assert_ok(&result);
    assert_eq!(result.certificate_not_after, None);

    let refused = free_address();
    let result = prober.run(&tcp(refused)).await;
    let expected = format!("connection refused by {refused}");
    assert_eq!(failure(&result), (FailureCategory::Connect, expected.as_str()));
}

#[tokio::test]
async fn tcp_uses_resolve_overrides() {
    let address = silent().await;
    let config = ProberConfig {
        resolve: vec![format!("db.internal.test={address}").parse().expect("override")],
        ..ProberConfig::default()
    };
    let probe = ProbeSpec {
        check: Check::Tcp { host: "db.internal.test".into(), port: 1 },
        timeout: Duration::from_secs(5),
        guard: None,
    };
    assert_ok(&Prober::new(config).expect("prober").run(&probe).await);
}

#[test]
fn run_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let prober = plain_prober();
    let probe = spec(http_check("http://127.0.0.1/".into()));
    assert_send(&prober.run(&probe));
}

// --- HTTPS ---

/// A private CA.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    /// A CA with a unique name (webpki looks issuers up by name).
    fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, format!("probe test CA {n}"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = unix(now() - DAY);
        params.not_after = unix(now() + 365 * DAY);
        Self { issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA") }
    }

    /// The CA certificate in a temporary PEM file.
    fn write_pem(&self) -> TempFile {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("makonis-probe-ca-{}-{n}.pem", std::process::id()));
        std::fs::write(&path, self.issuer.pem()).expect("write CA");
        TempFile(path)
    }

    /// A leaf for `host` valid from `not_before` to `not_after` (Unix seconds).
    fn leaf(&self, host: &str, not_before: i64, not_after: i64) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(vec![host.to_string()]).expect("params");
        params.distinguished_name.push(DnType::CommonName, host);
        params.not_before = unix(not_before);
        params.not_after = unix(not_after);
        let cert = params.signed_by(&key, &self.issuer).expect("leaf");
        (cert.der().clone(), PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())))
    }
}

/// A file removed on drop.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn unix(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).expect("time")
}

/// An HTTPS server with `leaf` answering 200 to every request.
async fn serve_tls(leaf: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![leaf], key)
        .expect("server config");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(stream) = acceptor.accept(stream).await {
                    answer(stream, &response("200 OK", b"secure ok"), Duration::ZERO).await;
                }
            });
        }
    });
    address
}

/// A prober trusting `ca` (unless `None`) and sending `*.apps.test` to `address`.
fn tls_prober(ca: Option<&TempFile>, address: SocketAddr) -> Prober {
    Prober::new(ProberConfig {
        extra_ca_files: ca.map(|file| file.0.clone()).into_iter().collect(),
        resolve: vec![format!("*.apps.test={address}").parse().expect("override")],
    })
    .expect("prober")
}

/// Probes `https://svc.apps.test/` served with a leaf expiring in `days`, warning at 14 days.
async fn probe_leaf_expiring_in(days: i64) -> (ProbeResult, i64) {
    let ca = Ca::new();
    let not_after = now() + days * DAY;
    let (leaf, key) = ca.leaf("svc.apps.test", now() - DAY, not_after);
    let address = serve_tls(leaf, key).await;
    let file = ca.write_pem();
    let mut check = http_check("https://svc.apps.test/health".into());
    check.body_match = Some(regex::Regex::new("secure ok").expect("regex"));
    (tls_prober(Some(&file), address).run(&spec(check)).await, not_after * 1000)
}

#[tokio::test]
async fn https_ok_reports_the_certificate_expiry() {
    let (result, not_after) = probe_leaf_expiring_in(60).await;
    assert_ok(&result);
    assert_eq!(result.certificate_not_after, Some(not_after));
    assert!(!result.certificate_expiring);
}

#[tokio::test]
async fn https_certificate_expiring_within_the_warning_is_still_ok() {
    let (result, not_after) = probe_leaf_expiring_in(5).await;
    assert_ok(&result);
    assert_eq!(result.certificate_not_after, Some(not_after));
    assert!(result.certificate_expiring);
}

#[tokio::test]
async fn https_untrusted_ca_fails_with_tls() {
    let ca = Ca::new();
    let (leaf, key) = ca.leaf("svc.apps.test", now() - DAY, now() + 60 * DAY);
    let address = serve_tls(leaf, key).await;
    let other = Ca::new().write_pem();
    let result = tls_prober(Some(&other), address).run(&spec(http_check("https://svc.apps.test/".into()))).await;
    assert_eq!(failure(&result), (FailureCategory::Tls, "TLS: certificate issued by an untrusted CA"));
    assert_eq!(result.certificate_not_after, None);
}

#[tokio::test]
async fn https_expired_certificate_fails_with_tls_and_its_date() {
    let ca = Ca::new();
    let not_after = now() - 2 * DAY;
    let (leaf, key) = ca.leaf("svc.apps.test", now() - 30 * DAY, not_after);
    let address = serve_tls(leaf, key).await;
    let file = ca.write_pem();
    let result = tls_prober(Some(&file), address).run(&spec(http_check("https://svc.apps.test/".into()))).await;
    let date = jiff::Timestamp::from_second(not_after).expect("date").strftime("%Y-%m-%d").to_string();
    let expected = format!("TLS: certificate expired {date}");
    assert_eq!(failure(&result), (FailureCategory::Tls, expected.as_str()));
    assert_eq!(result.certificate_not_after, Some(not_after * 1000));
    assert!(result.certificate_expiring);
}

#[tokio::test]
async fn https_wrong_name_fails_with_tls() {
    let ca = Ca::new();
    let (leaf, key) = ca.leaf("other.apps.test", now() - DAY, now() + 60 * DAY);
    let address = serve_tls(leaf, key).await;
    let file = ca.write_pem();
    let result = tls_prober(Some(&file), address).run(&spec(http_check("https://svc.apps.test/".into()))).await;
    assert_eq!(
        failure(&result),
        (FailureCategory::Tls, "TLS: certificate not valid for svc.apps.test; it names other.apps.test")
    );
}

#[tokio::test]
async fn https_status_failure_keeps_the_certificate_expiry() {
    let ca = Ca::new();
    let not_after = now() + 60 * DAY;
    let (leaf, key) = ca.leaf("svc.apps.test", now() - DAY, not_after);
    let address = serve_tls(leaf, key).await;
    let file = ca.write_pem();
    let mut check = http_check("https://svc.apps.test/".into());
    check.expected_status = vec![204];
    let result = tls_prober(Some(&file), address).run(&spec(check)).await;
    assert_eq!(failure(&result), (FailureCategory::Status, "HTTP 200 (expected 204)"));
    assert_eq!(result.certificate_not_after, Some(not_after * 1000));
}

// --- configuration ---

#[test]
fn extra_ca_file_errors_name_the_file() {
    let missing = PathBuf::from("/nonexistent/ca.pem");
    let error = Prober::new(ProberConfig { extra_ca_files: vec![missing], ..ProberConfig::default() })
        .expect_err("missing file");
    assert!(error.to_string().starts_with("CA file /nonexistent/ca.pem: "), "{error}");

    let empty = TempFile(std::env::temp_dir().join(format!("makonis-probe-empty-{}.pem", std::process::id())));
    std::fs::write(&empty.0, "no PEM here\n").expect("write");
    let error = Prober::new(ProberConfig { extra_ca_files: vec![empty.0.clone()], ..ProberConfig::default() })
        .expect_err("empty file");
    assert_eq!(
        error.to_string(),
        format!("CA file {}: no certificate in it (expected PEM `BEGIN CERTIFICATE` blocks)", empty.0.display())
    );
}

#[test]
fn resolve_override_parses() {
    let parsed: ResolveOverride = "*.Apps.Makonis.lv=10.0.0.5:443".parse().expect("valid");
    assert_eq!(parsed.host_pattern, "*.apps.makonis.lv");
    assert_eq!(parsed.address, "10.0.0.5:443".parse().expect("address"));
    assert_eq!(parsed.to_string(), "*.apps.makonis.lv=10.0.0.5:443");
    let v6: ResolveOverride = "dms.example.lv=[::1]:8443".parse().expect("valid");
    assert_eq!(v6.address, "[::1]:8443".parse().expect("address"));
}

#[test]
fn resolve_override_errors_are_clear() {
    let error = "*.apps.makonis.lv".parse::<ResolveOverride>().expect_err("no =");
    assert_eq!(
        error.to_string(),
        "`*.apps.makonis.lv` is not a resolve override: expected PATTERN=IP:PORT, e.g. `*.apps.makonis.lv=10.0.0.5:443`"
    );
    let error = "*.apps.makonis.lv=10.0.0.5".parse::<ResolveOverride>().expect_err("no port");
    assert_eq!(
        error.to_string(),
        "`*.apps.makonis.lv=10.0.0.5`: `10.0.0.5` is not an IP:PORT address (IPv6 as `[::1]:443`)"
    );
    let error = "*.apps.makonis.lv=gateway:443".parse::<ResolveOverride>().expect_err("name");
    assert!(matches!(error, ResolveOverrideError::BadAddress { .. }));
    for pattern in ["", "*", "*.", "a.*.lv", "**.lv", "a b.lv"] {
        let error = format!("{pattern}=10.0.0.5:443").parse::<ResolveOverride>().expect_err(pattern);
        assert_eq!(
            error.to_string(),
            format!(
                "`{pattern}=10.0.0.5:443`: `{pattern}` is not a host pattern: expected a host name, or `*.` and a domain"
            )
        );
    }
}

#[test]
fn resolve_override_matching() {
    let wildcard: ResolveOverride = "*.apps.makonis.lv=10.0.0.5:443".parse().expect("valid");
    assert!(wildcard.matches("dms.apps.makonis.lv"));
    assert!(wildcard.matches("DMS.Apps.Makonis.LV."));
    assert!(wildcard.matches("dms.vdi.apps.makonis.lv"));
    assert!(!wildcard.matches("apps.makonis.lv"));
    assert!(!wildcard.matches("xapps.makonis.lv"));
    assert!(!wildcard.matches(".apps.makonis.lv"));
    assert!(!wildcard.matches("makonis.lv"));
    let exact: ResolveOverride = "portal.makonis.lv=10.0.0.6:443".parse().expect("valid");
    assert!(exact.matches("portal.makonis.lv"));
    assert!(exact.matches("Portal.Makonis.lv"));
    assert!(!exact.matches("x.portal.makonis.lv"));
    assert!(!exact.matches("makonis.lv"));
}

#[test]
fn human_durations_and_category_names() {
    assert_eq!(Human(Duration::from_millis(300)).to_string(), "300 ms");
    assert_eq!(Human(Duration::from_millis(2400)).to_string(), "2.4 s");
    assert_eq!(Human(Duration::from_secs(5)).to_string(), "5 s");
    assert_eq!(Human(Duration::from_micros(250)).to_string(), "250 µs");
    let names: Vec<_> = [
        FailureCategory::Dns,
        FailureCategory::Connect,
        FailureCategory::Timeout,
        FailureCategory::Tls,
        FailureCategory::Protocol,
        FailureCategory::Status,
        FailureCategory::Body,
        FailureCategory::Latency,
    ]
    .iter()
    .map(FailureCategory::as_str)
    .collect();
    assert_eq!(names, ["dns", "connect", "timeout", "tls", "protocol", "status", "body", "latency"]);
}

/// A fixed world for agency probes in namespace `agency-vdi`: domains of agency `vdi`,
/// and Services `db` (cluster address 127.0.0.1, standing for a forged one) and `ext`
/// (an ExternalName).
struct FixedWorld(crate::targets::TargetRules);

impl crate::targets::TargetWorld for FixedWorld {
    fn rules(&self) -> &crate::targets::TargetRules {
        &self.0
    }

    fn domains(&self, _namespace: &str) -> Vec<String> {
        vec!["vdi.apps.makonis.lv".into()]
    }

    fn service_addresses(&self, namespace: &str, service: &str) -> Result<Vec<std::net::IpAddr>, String> {
        match service {
            "db" => Ok(vec!["127.0.0.1".parse().unwrap()]),
            "ext" => Err(format!("Service {namespace}/ext is of type ExternalName")),
            _ => Err(format!("there is no Service {service} in namespace {namespace}")),
        }
    }
}

fn agency_guard() -> crate::targets::AgencyGuard {
    crate::targets::AgencyGuard { namespace: "agency-vdi".into(), world: Arc::new(FixedWorld(Default::default())) }
}

/// A listener on 127.0.0.1 that counts the connections it accepts.
async fn counting() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            read_head(&mut stream).await;
            let _ = stream.write_all(&response("200 OK", b"secret")).await;
        }
    });
    (address, accepted)
}

#[tokio::test]
async fn an_agency_probe_never_connects_to_an_address_or_service_out_of_its_reach() {
    let (address, accepted) = counting().await;
    let guarded = |check: Check| ProbeSpec { check, timeout: Duration::from_secs(5), guard: Some(agency_guard()) };
    let prober = plain_prober();
    // An IP literal, over HTTP and TCP.
    let result = prober.run(&guarded(Check::Http(http_check(format!("http://{address}/"))))).await;
    let (category, cause) = failure(&result);
    assert_eq!(category, FailureCategory::Forbidden);
    assert!(cause.contains("127.0.0.1 is a loopback address"), "{cause}");
    let tcp = Check::Tcp { host: address.ip().to_string(), port: address.port() };
    assert_eq!(failure(&prober.run(&guarded(tcp)).await).0, FailureCategory::Forbidden);
    // A Service of the namespace whose recorded address is loopback.
    let service = Check::Tcp { host: "db.agency-vdi.svc".into(), port: address.port() };
    let result = prober.run(&guarded(service)).await;
    let (category, cause) = failure(&result);
    assert_eq!(category, FailureCategory::Forbidden);
    assert!(cause.contains("`db.agency-vdi.svc` resolves to 127.0.0.1"), "{cause}");
    // An ExternalName Service, a missing one, another namespace's and `localhost`.
    for host in ["ext.agency-vdi.svc", "nope.agency-vdi.svc", "db.agency-nva.svc", "localhost"] {
        let result = prober.run(&guarded(Check::Tcp { host: host.into(), port: address.port() })).await;
        assert_eq!(failure(&result).0, FailureCategory::Forbidden, "{host}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "nothing may have been connected to");
    // The same listener through an unguarded (platform) probe: it is reachable.
    assert_ok(&prober.run(&spec(http_check(format!("http://{address}/")))).await);
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_operators_resolve_override_is_trusted_for_the_agencys_own_host() {
    let (address, accepted) = counting().await;
    let config = ProberConfig {
        resolve: vec![format!("*.vdi.apps.makonis.lv={address}").parse().expect("override")],
        ..ProberConfig::default()
    };
    let prober = Prober::new(config).expect("prober");
    let check = Check::Http(http_check("http://web.vdi.apps.makonis.lv/".into()));
    assert_ok(&prober.run(&ProbeSpec { check, timeout: Duration::from_secs(5), guard: Some(agency_guard()) }).await);
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    // Another agency's host never reaches the override.
    let check = Check::Http(http_check("http://web.nva.apps.makonis.lv/".into()));
    let result = prober.run(&ProbeSpec { check, timeout: Duration::from_secs(5), guard: Some(agency_guard()) }).await;
    assert_eq!(failure(&result).0, FailureCategory::Forbidden);
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_redirect_is_the_answer_and_is_never_followed() {
    let (elsewhere, accepted) = counting().await;
    let redirect = format!(
        "HTTP/1.1 302 Found\r\nLocation: http://{elsewhere}/latest/meta-data/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let (address, _) = serve(redirect.into_bytes(), Duration::ZERO).await;
    assert_ok(&plain_prober().run(&spec(http_check(format!("http://{address}/")))).await);
    let mut check = http_check(format!("http://{address}/"));
    check.expected_status = vec![200];
    assert_eq!(failure(&plain_prober().run(&spec(check)).await), (FailureCategory::Status, "HTTP 302 (expected 200)"));
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "the redirect's target was connected to");
}
