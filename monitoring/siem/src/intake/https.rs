//! JSON records over HTTPS: the Kubernetes API server's audit webhook, the portal's
//! audit trail, and log shippers that post JSON (Winlogbeat, NXLog, Fluent Bit).
//!
//! `POST /v1/events` takes a JSON array of records, an `EventList` (what the API server's
//! audit webhook backend posts) or JSON lines; every sender presents a client
//! certificate from the platform CA, claimed like a TLS syslog sender (see
//! [`super::tls`]). The answer comes only once every record is durable in the store:
//! `200` with how many were stored and how many quarantined, or `503` when the store
//! cannot take them (the sender sends again; a resent batch is recognised and stored
//! once). A request is one delivery for deduplication, so records repeated from an
//! earlier request are counted as duplicates and not stored twice.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Extension, Json, Router,
    extract::{Request, State},
    http::{StatusCode, header::CONTENT_LENGTH},
    response::{IntoResponse, Response},
    routing::post,
};
use hyper_util::{rt::TokioIo, service::TowerToHyperService};
use jiff::Timestamp;
use rustls::ServerConfig;
use serde_json::json;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
};

use super::{Batch, Intake, Peer, decode::decode_body, next_delivery, tls::handshake};

/// The largest request body taken, in bytes (the API server's batches of 400 audit
/// events at level Metadata are about 1 MiB).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// The path records are posted to.
pub const EVENTS_PATH: &str = "/v1/events";

/// The HTTP routes; each connection adds its sender as an extension.
pub fn app(intake: Intake) -> Router {
    Router::new().route(EVENTS_PATH, post(events)).with_state(intake)
}

/// Accepts HTTPS connections until the task is stopped; each completes its TLS
/// handshake with a client certificate, then serves HTTP/1.1 requests as that sender.
pub async fn serve(listener: TcpListener, config: watch::Receiver<Arc<ServerConfig>>, intake: Intake) {
    serve_with(listener, config, intake, Router::new()).await;
}

/// [`serve`], with more routes beside the intake's (the search API's), answered to the
/// same senders.
pub async fn serve_with(
    listener: TcpListener,
    config: watch::Receiver<Arc<ServerConfig>>,
    intake: Intake,
    more: Router,
) {
    let routes = app(intake.clone()).merge(more);
    super::accept(listener, intake, "https", move |stream, peer, _| {
        connection(config.clone(), routes.clone(), stream, peer)
    })
    .await;
}

async fn connection(
    config: watch::Receiver<Arc<ServerConfig>>,
    routes: Router,
    stream: TcpStream,
    peer: SocketAddr,
) -> std::io::Result<()> {
    let (stream, sender) = handshake(&config, stream, peer).await?;
    let service = TowerToHyperService::new(routes.layer(Extension(sender)));
    hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await
        .map_err(std::io::Error::other)
}

/// `POST /v1/events`: reads the body (refusing one over [`MAX_BODY`] by its declared
/// length before reading it), decodes it, waits until it is stored, then answers.
async fn events(State(intake): State<Intake>, Extension(sender): Extension<Peer>, request: Request) -> Response {
    let too_large = || {
        let message = format!("a request body may hold at most {MAX_BODY} bytes; send smaller batches");
        (StatusCode::PAYLOAD_TOO_LARGE, Json(json!({ "error": message }))).into_response()
    };
    let declared = request.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY as u64) {
        return too_large();
    }
    let Ok(body) = axum::body::to_bytes(request.into_body(), MAX_BODY).await else {
        return too_large();
    };
    let received = Timestamp::now();
    let claims = intake.claims.borrow().clone();
    let mut batch = Batch::default();
    decode_body(&body, &sender, &claims, received, &mut batch);
    let (stored, quarantined) = (batch.events.len(), batch.quarantined.len());
    batch.resend_candidates = stored;
    batch.resendable = Some(next_delivery());
    if intake.store(batch).await.is_err() {
        let message = "the store cannot take events now; nothing was stored, send them again";
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": message }))).into_response();
    }
    (StatusCode::OK, Json(json!({ "stored": stored, "quarantined": quarantined }))).into_response()
}
