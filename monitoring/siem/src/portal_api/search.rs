//! `POST /v1/search` (a page of stored events) and `POST /v1/report` (an agency's monthly
//! report, the month's partitions verified).

use std::time::Instant;

use axum::{
    Extension, Json, Router,
    extract::{State, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use makonis_siem_core::search::{ReportRequest, SearchRequest};

use super::reader::{Reader, failed, from_portal, open, refusal};
use crate::intake::Peer;

/// Where searches are posted.
pub const SEARCH_PATH: &str = "/v1/search";

/// Where monthly reports are asked for.
pub const REPORT_PATH: &str = "/v1/report";

/// The search and report routes.
pub fn routes(reader: Reader) -> Router {
    Router::new().route(SEARCH_PATH, post(search)).route(REPORT_PATH, post(report)).with_state(reader)
}

/// `POST /v1/search`: a page of events, newest first.
async fn search(
    State(reader): State<Reader>,
    Extension(sender): Extension<Peer>,
    request: Result<Json<SearchRequest>, JsonRejection>,
) -> Response {
    let started = Instant::now();
    let (outcome, response) = answer_search(&reader, &sender, request).await;
    reader.count("search", outcome, started);
    response
}

async fn answer_search(
    reader: &Reader,
    sender: &Peer,
    request: Result<Json<SearchRequest>, JsonRejection>,
) -> (&'static str, Response) {
    let request = match from_portal(reader, sender, request) {
        Ok(request) => request,
        Err((status, words)) => return refusal(status, words),
    };
    let search = match request.check() {
        Ok(search) => search,
        Err(error) => return refusal(StatusCode::BAD_REQUEST, error.to_string()),
    };
    let page = match open(reader).await {
        Ok(mut store) => store.search(&search).await,
        Err(error) => Err(error),
    };
    match page {
        Ok(page) => {
            tracing::info!(agencies = ?search.agencies, from = %search.from, to = %search.to, hits = page.hits.len(), "searched the store");
            ("answered", Json(page).into_response())
        }
        Err(error) => ("failed", failed(&error)),
    }
}

/// `POST /v1/report`: the month's report, its partitions verified now.
async fn report(
    State(reader): State<Reader>,
    Extension(sender): Extension<Peer>,
    request: Result<Json<ReportRequest>, JsonRejection>,
) -> Response {
    let started = Instant::now();
    let (outcome, response) = answer_report(&reader, &sender, request).await;
    reader.count("report", outcome, started);
    response
}

async fn answer_report(
    reader: &Reader,
    sender: &Peer,
    request: Result<Json<ReportRequest>, JsonRejection>,
) -> (&'static str, Response) {
    let request = match from_portal(reader, sender, request) {
        Ok(request) => request,
        Err((status, words)) => return refusal(status, words),
    };
    let (first, next) = match request.days() {
        Ok(days) => days,
        Err(error) => return refusal(StatusCode::BAD_REQUEST, error.to_string()),
    };
    let report = match open(reader).await {
        Ok(mut store) => store.report(&request, first, next, &reader.public_key, jiff::Timestamp::now()).await,
        Err(error) => Err(error),
    };
    match report {
        Ok(report) => {
            let broken = report.verified.iter().filter(|v| !v.problems.is_empty()).count();
            if broken > 0 {
                tracing::error!(month = %request.month, broken, "partitions failed verification: run makonis siem verify and investigate");
            }
            if let Some(metrics) = &reader.metrics {
                metrics.verified(report.verified.len() - broken, broken);
            }
            tracing::info!(agency = ?request.agency, month = %request.month, "made a monthly report");
            ("answered", Json(report).into_response())
        }
        Err(error) => ("failed", failed(&error)),
    }
}
