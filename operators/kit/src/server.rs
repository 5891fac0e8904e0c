//! The operations endpoint: `/metrics`, `/healthz` and `/readyz` on their own address.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use prometheus::{Registry, TextEncoder};

/// Whether the process is ready to do its work; shared with the endpoint.
#[derive(Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Marks the process ready (or not).
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::SeqCst);
    }

    /// Whether the process is ready.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What the endpoint serves.
#[derive(Clone)]
pub struct OpsState {
    /// The metrics registry to expose.
    pub registry: Registry,
    /// The readiness flag behind `/readyz`.
    pub readiness: Readiness,
}

/// The router of the operations endpoint.
pub fn app(state: OpsState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(state)
}

async fn metrics(State(state): State<OpsState>) -> impl IntoResponse {
    match TextEncoder::new().encode_to_string(&state.registry.gather()) {
        Ok(body) => (StatusCode::OK, [("content-type", "text/plain; version=0.0.4")], body),
        Err(error) => {
            tracing::error!(%error, "cannot encode metrics");
            (StatusCode::INTERNAL_SERVER_ERROR, [("content-type", "text/plain")], "metrics unavailable\n".to_string())
        }
    }
}

async fn readyz(State(state): State<OpsState>) -> (StatusCode, &'static str) {
    if state.readiness.get() { (StatusCode::OK, "ok\n") } else { (StatusCode::SERVICE_UNAVAILABLE, "not ready\n") }
}

/// Binds `address` and serves [`app`] until the task is dropped.
pub async fn serve(address: SocketAddr, state: OpsState) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    tracing::info!(address = %listener.local_addr()?, "serving /metrics, /healthz and /readyz");
    axum::serve(listener, app(state)).await
}
