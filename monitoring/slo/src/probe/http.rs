//! The HTTP(S) check: one `GET` on a fresh connection, then status, body and latency checks.

use std::{
    borrow::Cow,
    fmt::Write,
    future::{Future, poll_fn},
    pin::pin,
    task::Poll,
};

use bytes::Bytes;
use http::{
    HeaderValue, Method, Request, Uri,
    header::{CONNECTION, HOST, USER_AGENT},
    uri::{PathAndQuery, Scheme},
};
use http_body_util::{BodyExt, Empty};
use hyper::{
    body::Incoming,
    client::conn::http1::{self, SendRequest},
};
use hyper_util::rt::TokioIo;

use super::{Failure, FailureCategory, HttpCheck, Human, Phase, Prober, RunState, error_chain, tcp, tls};
use crate::targets::AgencyGuard;

/// How much of the body is read and matched.
const BODY_CAP: usize = 64 * 1024;
/// The `User-Agent` of every probe request.
const AGENT: HeaderValue = HeaderValue::from_static("makonis-slo-probe");
/// Every probe uses its connection once.
const CLOSE: HeaderValue = HeaderValue::from_static("close");

/// Runs the HTTP check. Redirects are not followed: a `3xx` is the answer.
pub(super) async fn run(
    prober: &Prober,
    check: &HttpCheck,
    guard: Option<&AgencyGuard>,
    state: &mut RunState,
) -> Result<(), Failure> {
    let invalid = |cause: &dyn std::fmt::Display| {
        Failure::new(FailureCategory::Protocol, format!("invalid URL `{}`: {cause}", check.url))
    };
    let uri: Uri = check.url.parse().map_err(|e| invalid(&e))?;
    let target = Target::new(&uri).map_err(|cause| invalid(&cause))?;
    let stream = tcp::connect(prober, target.host, target.port, guard, state).await?;
    if target.https {
        let stream = tls::handshake(prober, target.host, stream, state).await?;
        exchange(TokioIo::new(stream), &target, check, state).await
    } else {
        exchange(TokioIo::new(stream), &target, check, state).await
    }
}

/// Where a probe URL connects, read exactly as a run reads it (for the admission checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTarget {
    /// `https://`.
    pub https: bool,
    /// The host, without IPv6 brackets.
    pub host: String,
    /// The port, explicit or the scheme's.
    pub port: u16,
    /// Whether the authority carries user info (`user@`).
    pub user_info: bool,
}

impl UrlTarget {
    /// The target of `url`, or why it is not an absolute `http`/`https` URL with a host.
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: Uri = url.parse().map_err(|e| format!("invalid URL `{url}`: {e}"))?;
        let target = Target::new(&uri).map_err(|e| format!("invalid URL `{url}`: {e}"))?;
        let user_info = uri.authority().is_some_and(|authority| authority.as_str().contains('@'));
        Ok(Self { https: target.https, host: target.host.to_owned(), port: target.port, user_info })
    }
}

/// The parts of a probe URL.
struct Target<'a> {
    /// `https://`.
    https: bool,
    /// The host, without IPv6 brackets: resolved, connected to, and the TLS server name.
    host: &'a str,
    /// The port, explicit or the scheme's.
    port: u16,
    /// The `Host` header: the authority without user info.
    host_header: &'a str,
    /// The request target.
    path: PathAndQuery,
}

impl<'a> Target<'a> {
    /// The parts of `uri`, which must be absolute `http` or `https`.
    fn new(uri: &'a Uri) -> Result<Self, &'static str> {
        let https = match uri.scheme() {
            Some(scheme) if *scheme == Scheme::HTTPS => true,
            Some(scheme) if *scheme == Scheme::HTTP => false,
            Some(_) => return Err("only http:// and https:// are probed"),
            None => return Err("expected an absolute http:// or https:// URL"),
        };
        let authority = uri.authority().ok_or("no host")?;
        let host = authority.host();
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        if host.is_empty() {
            return Err("no host");
        }
        let host_header = authority.as_str().rsplit_once('@').map_or(authority.as_str(), |(_, h)| h);
        Ok(Self {
            https,
            host,
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
            host_header,
            path: uri.path_and_query().cloned().unwrap_or_else(|| PathAndQuery::from_static("/")),
        })
    }
}

/// The HTTP/1.1 exchange over an established (TLS) connection, and the checks on the answer.
async fn exchange<T>(io: T, target: &Target<'_>, check: &HttpCheck, state: &mut RunState) -> Result<(), Failure>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    state.phase = Phase::WaitingForResponse;
    let (sender, connection) =
        http1::handshake::<_, Empty<Bytes>>(io).await.map_err(|error| protocol("HTTP", &error))?;
    // The connection is driven here rather than spawned: nothing outlives the run (a timed-out
    // run closes its socket at once), and no task is allocated per probe.
    drive(connection, request(sender, target, check, state)).await
}

/// Polls `work` to completion while driving `connection` alongside.
async fn drive<C: Future, W: Future>(connection: C, work: W) -> W::Output {
    let mut connection = pin!(connection);
    let mut work = pin!(work);
    let mut connection_done = false;
    poll_fn(move |cx| {
        if let Poll::Ready(output) = work.as_mut().poll(cx) {
            return Poll::Ready(output);
        }
        if !connection_done && connection.as_mut().poll(cx).is_ready() {
            // The connection has ended: whatever it had for `work` has been delivered.
            connection_done = true;
            return work.as_mut().poll(cx);
        }
        Poll::Pending
    })
    .await
}

/// Sends the request, reads the answer as far as needed and checks it.
async fn request(
    mut sender: SendRequest<Empty<Bytes>>,
    target: &Target<'_>,
    check: &HttpCheck,
    state: &mut RunState,
) -> Result<(), Failure> {
    let host = HeaderValue::from_str(target.host_header)
        .map_err(|_| Failure::new(FailureCategory::Protocol, format!("invalid Host `{}`", target.host_header)))?;
    let request = Request::builder()
        .method(Method::GET)
        .uri(Uri::from(target.path.clone()))
        .header(HOST, host)
        .header(USER_AGENT, AGENT)
        .header(CONNECTION, CLOSE)
        .body(Empty::new())
        .map_err(|e| Failure::new(FailureCategory::Protocol, format!("building the request: {e}")))?;
    let response = sender.send_request(request).await.map_err(|e| protocol("HTTP", &e))?;
    let mut latency = state.finish();

    let status = response.status().as_u16();
    let expected = if check.expected_status.is_empty() {
        (200..=399).contains(&status)
    } else {
        check.expected_status.contains(&status)
    };
    if !expected {
        return Err(Failure::new(
            FailureCategory::Status,
            format!("HTTP {status} (expected {})", expected_text(check)),
        ));
    }

    if let Some(pattern) = &check.body_match {
        state.phase = Phase::ReadingBody;
        let mut body = response.into_body();
        let bytes = read_capped(&mut body).await.map_err(|e| protocol("reading the body", &e))?;
        latency = state.finish();
        if !pattern.is_match(&text(&bytes)) {
            return Err(Failure::new(FailureCategory::Body, format!("body does not match `{}`", pattern.as_str())));
        }
    }

    match check.latency_threshold {
        Some(threshold) if latency > threshold => Err(Failure::new(
            FailureCategory::Latency,
            format!("answered in {} (threshold {})", Human(latency), Human(threshold)),
        )),
        _ => Ok(()),
    }
}

/// "200–399", or the expected statuses.
fn expected_text(check: &HttpCheck) -> String {
    if check.expected_status.is_empty() {
        return "200–399".into();
    }
    let mut text = String::with_capacity(check.expected_status.len() * 5);
    for (i, status) in check.expected_status.iter().enumerate() {
        let separator = if i > 0 { ", " } else { "" };
        // Writing to a String cannot fail.
        let _ = write!(text, "{separator}{status}");
    }
    text
}

/// The body up to [`BODY_CAP`]; stops reading there. A body in one frame is not copied.
async fn read_capped(body: &mut Incoming) -> Result<Bytes, hyper::Error> {
    let mut single: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(mut data) = frame?.into_data() else { continue };
        let have = single.as_ref().map_or(joined.len(), Bytes::len);
        let full = have + data.len() >= BODY_CAP;
        data.truncate(BODY_CAP.saturating_sub(have));
        match single.take() {
            None if joined.is_empty() => single = Some(data),
            Some(previous) => {
                joined.reserve(previous.len() + data.len());
                joined.extend_from_slice(&previous);
                joined.extend_from_slice(&data);
            }
            None => joined.extend_from_slice(&data),
        }
        if full {
            break;
        }
    }
    Ok(single.unwrap_or_else(|| Bytes::from(joined)))
}

/// The body as text for matching: UTF-8 as is (a character cut by the cap dropped), else lossy.
fn text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(error) if error.error_len().is_none() => {
            let valid = bytes.get(..error.valid_up_to()).unwrap_or_default();
            Cow::Borrowed(std::str::from_utf8(valid).unwrap_or_default())
        }
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// A protocol failure while `doing`.
fn protocol(doing: &str, error: &hyper::Error) -> Failure {
    let cause = if error.is_incomplete_message() {
        format!("{doing}: the server closed the connection before a complete answer")
    } else if error.is_parse() {
        format!("{doing}: invalid response: {}", error_chain(error))
    } else {
        format!("{doing}: {}", error_chain(error))
    };
    Failure::new(FailureCategory::Protocol, cause)
}
