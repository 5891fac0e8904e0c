//! Operational endpoints and request metrics: `/healthz`, `/readyz` (database and
//! watch caches) and `/metrics` (Prometheus, on the metrics listener only), and a
//! middleware that counts and times every request by route.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};
use tracing::Instrument;

use super::AppState;

/// The portal's metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    undecodable: IntGaugeVec,
}

impl Metrics {
    /// Registers the portal's metrics in a registry of their own.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("makonis_portal_http_requests_total", "HTTP requests answered, by route and status class"),
            &["route", "method", "status"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "makonis_portal_http_request_duration_seconds",
                "Time to answer HTTP requests, by route",
            )
            .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            &["route", "method"],
        )?;
        let undecodable = IntGaugeVec::new(
            Opts::new(
                "makonis_portal_undecodable_objects",
                "Watched objects the portal cannot decode and leaves out of its view, by kind",
            ),
            &["kind"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(undecodable.clone()))?;
        Ok(Self { registry, requests, duration, undecodable })
    }
}

/// Counts and times each request under its route pattern (bounded labels: never the
/// raw path).
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route =
        request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let method = request.method().as_str().to_string();
    let started = Instant::now();
    let span = tracing::info_span!("http", method, route);
    let response = next.run(request).instrument(span).await;
    let class = format!("{}xx", response.status().as_u16() / 100);
    state.metrics.requests.with_label_values(&[&route, &method, &class]).inc();
    state.metrics.duration.with_label_values(&[&route, &method]).observe(started.elapsed().as_secs_f64());
    response
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers and the watch caches have listed once.
pub async fn readyz(State(state): State<AppState>) -> Response {
    if let Err(error) = state.context.store.ping().await {
        tracing::warn!(%error, "not ready: the database does not answer");
        return (StatusCode::SERVICE_UNAVAILABLE, "the database does not answer").into_response();
    }
    let ready = tokio::time::timeout(std::time::Duration::from_millis(50), state.context.view.wait_until_ready()).await;
    match ready {
        Ok(true) => "ok".into_response(),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "the cluster caches are not filled yet").into_response(),
    }
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> Response {
    state.metrics.undecodable.reset();
    for kind in ["Agency", "CatalogItem", "ServiceInstance"] {
        state.metrics.undecodable.with_label_values(&[kind]).set(0);
    }
    for (key, _) in state.context.view.undecodable() {
        state.metrics.undecodable.with_label_values(&[key.kind.as_str()]).inc();
    }
    let mut buffer = Vec::new();
    let mut families = state.metrics.registry.gather();
    families.extend(state.context.identity_metrics.gather());
    families.extend(state.context.audit_shipping.gather());
    families.extend(state.context.incident_feed.gather());
    match TextEncoder::new().encode(&families, &mut buffer) {
        Ok(()) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], buffer).into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

/// Headers every answer carries: pages load only the portal's own assets and cannot be
/// framed; browsers do not guess content types; other sites are not told our paths.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
    ] {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
    response
}
