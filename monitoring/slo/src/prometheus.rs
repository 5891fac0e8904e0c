//! Prometheus as an indicator (a ratio of good to total events, for teams that measure
//! their service themselves) and as an alerting system (PrometheusRules generated from
//! the burn-rate rules, where the Prometheus Operator is installed).

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use makonis_api::slo::PrometheusRatio;
use makonis_slo_core::{BurnRule, Interval, Objective, ObjectiveState, ObjectiveStatus, burn::firing};
use serde_json::Value;

/// Why a Prometheus query failed.
#[derive(Debug, thiserror::Error)]
pub enum PrometheusError {
    /// The URL is not `http://host:port`.
    #[error("--prometheus-url `{0}` is not an http://host:port URL")]
    Url(String),
    /// The server could not be reached or answered badly.
    #[error("Prometheus at {url}: {why}")]
    Query {
        /// The server.
        url: String,
        /// What went wrong.
        why: String,
    },
}

/// Runs the instant query `promql` at `at_ms`; `None` when the result is empty or not
/// a number (no events yet).
pub async fn query(url: &str, promql: &str, at_ms: i64) -> Result<Option<f64>, PrometheusError> {
    let fail = |why: String| PrometheusError::Query { url: url.to_string(), why };
    let base: Uri = url.parse().map_err(|_| PrometheusError::Url(url.into()))?;
    let authority = base
        .authority()
        .filter(|_| base.scheme_str() == Some("http"))
        .ok_or_else(|| PrometheusError::Url(url.into()))?;
    let path = format!(
        "{}/api/v1/query?query={}&time={:.3}",
        base.path().trim_end_matches('/'),
        form_encode(promql),
        at_ms as f64 / 1000.0
    );
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(authority.as_str()).await.map_err(|e| fail(e.to_string()))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| fail(e.to_string()))?;
        // One query per connection, closed by the server after its answer, so that
        // driving the connection ends with the exchange.
        let request = Request::get(path)
            .header(http::header::HOST, authority.as_str())
            .header(http::header::CONNECTION, "close")
            .body(Empty::<Bytes>::new())
            .map_err(|e| fail(e.to_string()))?;
        let response = async {
            let response = sender.send_request(request).await.map_err(|e| fail(e.to_string()))?;
            let status = response.status();
            let body = response.into_body().collect().await.map_err(|e| fail(e.to_string()))?.to_bytes();
            Ok::<_, PrometheusError>((status, body))
        };
        let (result, _) = tokio::join!(response, connection);
        result
    };
    let (status, body) = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| fail("no answer within 10 s".into()))??;
    let value: Value = serde_json::from_slice(&body).map_err(|e| fail(format!("HTTP {status}, not JSON: {e}")))?;
    if value["status"] != "success" {
        return Err(fail(format!("HTTP {status}: {}", value["error"].as_str().unwrap_or("no error text"))));
    }
    let sample = match value["data"]["resultType"].as_str() {
        Some("scalar") => value["data"]["result"][1].as_str(),
        Some("vector") => value["data"]["result"][0]["value"][1].as_str(),
        _ => None,
    };
    Ok(sample.and_then(|s| s.parse::<f64>().ok()).filter(|v| v.is_finite()))
}

fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The good-to-total ratio over the `seconds` before `at_ms`.
async fn ratio(url: &str, ratio: &PrometheusRatio, seconds: i64, at_ms: i64) -> Result<Option<f64>, PrometheusError> {
    let range = format!("{}s", seconds.max(1));
    let promql =
        format!("sum(increase({}[{range}])) / sum(increase({}[{range}]))", ratio.good.trim(), ratio.total.trim());
    query(url, &promql, at_ms).await
}

/// An objective whose indicator is a Prometheus ratio: availability is the ratio over
/// the window so far, and each burn rate the error ratio over its window divided by the
/// allowed one. Events have no support calendar: the ratio counts them all.
pub async fn evaluate_ratio(
    url: &str,
    indicator: &PrometheusRatio,
    objective: &Objective,
    now: i64,
    rules: &[BurnRule],
    windows: &[i64],
) -> Result<(ObjectiveStatus, Vec<(i64, f64)>), PrometheusError> {
    let window = objective.window.containing(now);
    let start = window.start.max(objective.measured_since);
    let availability = ratio(url, indicator, (now - start) / 1000, now).await?;
    let allowed = (1.0 - objective.target).max(f64::EPSILON);
    let mut burns = Vec::with_capacity(windows.len());
    for &length in windows {
        let good = ratio(url, indicator, length.min(now - objective.measured_since) / 1000, now).await?;
        burns.push((length, good.map(|g| (1.0 - g) / allowed).unwrap_or(0.0)));
    }
    let burn = |length: i64| burns.iter().find(|(w, _)| *w == length).map(|(_, b)| *b).unwrap_or(0.0);
    let firing = firing(rules, burn);
    let elapsed = now - start;
    let bad = availability.map(|a| ((1.0 - a) * elapsed as f64).round() as i64).unwrap_or(0);
    let budget = (allowed * window.len() as f64).round() as i64;
    let remaining_ratio = availability.map(|a| 1.0 - (1.0 - a) / allowed).unwrap_or(1.0);
    let state = if remaining_ratio < 0.0 && now >= window.end {
        ObjectiveState::Breached
    } else if !firing.is_empty() || availability.is_some_and(|a| a < objective.target) {
        ObjectiveState::AtRisk
    } else {
        ObjectiveState::Met
    };
    let status = ObjectiveStatus {
        window: Interval::new(window.start, window.end),
        elapsed_support_ms: elapsed,
        window_support_ms: window.len(),
        downtime_ms: bad,
        availability,
        budget_ms: budget,
        budget_remaining_ms: budget - bad,
        budget_remaining_ratio: remaining_ratio,
        burn_rate_1h: burn(3_600_000),
        firing,
        state,
    };
    Ok((status, burns))
}
