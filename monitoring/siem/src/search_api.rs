//! The search API on the HTTPS listener: `POST /v1/search` (a page of stored events) and
//! `POST /v1/report` (an agency's monthly report, the month's partitions verified); the
//! alerts' routes beside them are [`crate::alerts_api`]'s.
//!
//! Only the portal reads: a client certificate named `portal`, issued for the platform's
//! namespace. The portal decides which agencies each of its users may see, records every
//! search and export in its audit trail, and sends the agencies in the request; the SIEM
//! logs each request it answers. Every answer is JSON; errors name the field and never
//! the store's internals.

use std::{sync::Arc, time::Instant};

use axum::{
    Extension, Json, Router,
    extract::{State, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use makonis_siem_core::{
    claims::PlatformSender,
    search::{ReportRequest, SearchRequest},
};
use serde_json::json;

use crate::{
    intake::{Peer, metrics::SiemMetrics},
    store::{Backend, Store, StoreError},
};

/// Where searches are posted.
pub const SEARCH_PATH: &str = "/v1/search";

/// Where monthly reports are asked for.
pub const REPORT_PATH: &str = "/v1/report";

/// What the search API reads with.
#[derive(Debug, Clone)]
pub struct Reader {
    /// The store (opened read-only for each request).
    pub store: Backend,
    /// The checkpoint key's public half, for the report's verification.
    pub public_key: Arc<Vec<u8>>,
    /// The platform's namespace: the portal's certificate is issued for it.
    pub platform_namespace: String,
    /// Where questions and verifications are counted (none in tests that do not look).
    pub metrics: Option<SiemMetrics>,
}

impl Reader {
    pub(crate) fn count(&self, route: &str, outcome: &str, started: Instant) {
        if let Some(metrics) = &self.metrics {
            metrics.read(route, outcome, started.elapsed().as_secs_f64());
        }
    }
}

/// The portal's API: search, report and alerts ([`crate::alerts_api`]); each
/// connection adds its sender as an extension.
pub fn routes(reader: Reader) -> Router {
    Router::new()
        .route(SEARCH_PATH, post(search))
        .route(REPORT_PATH, post(report))
        .with_state(reader.clone())
        .merge(crate::alerts_api::routes(reader))
}

/// Whether the sender is the portal: its certificate's name, issued for the platform.
fn is_portal(sender: &Peer, platform_namespace: &str) -> bool {
    match sender {
        Peer::Certificate { certificate, .. } => {
            certificate.names.iter().any(|n| n == PlatformSender::Portal.certificate_name())
                && certificate.organisations.iter().any(|o| o == platform_namespace)
        }
        Peer::Address(_) => false,
    }
}

pub(crate) fn answer(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

pub(crate) fn failed(error: &StoreError) -> Response {
    tracing::error!(%error, category = error.category(), "reading the store failed");
    answer(StatusCode::INTERNAL_SERVER_ERROR, "the store could not be read; the SIEM's log says why")
}

pub(crate) async fn open(reader: &Reader) -> Result<Store, StoreError> {
    Store::open_read_only(reader.store.clone()).await
}

/// The question in a request's body, if the portal sent it and it is JSON of its shape;
/// otherwise the status and words that refuse it.
pub(crate) fn from_portal<T>(
    reader: &Reader,
    sender: &Peer,
    request: Result<Json<T>, JsonRejection>,
) -> Result<T, (StatusCode, String)> {
    if !is_portal(sender, &reader.platform_namespace) {
        tracing::warn!(peer = %sender.address(), "a search by a sender other than the portal was refused");
        return Err((StatusCode::FORBIDDEN, "only the portal's certificate may read the store".into()));
    }
    request.map(|Json(question)| question).map_err(|rejection| (StatusCode::BAD_REQUEST, rejection.body_text()))
}

/// How a question ended, for the metrics: `refused`, `invalid` or `failed`, and the
/// answer that says so.
pub(crate) fn refusal(status: StatusCode, words: String) -> (&'static str, Response) {
    let outcome = if status == StatusCode::FORBIDDEN { "refused" } else { "invalid" };
    (outcome, answer(status, words))
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

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use makonis_siem_core::claims::Certified;

    use super::*;

    fn certificate(name: &str, organisation: &str) -> Peer {
        Peer::Certificate {
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            certificate: Arc::new(Certified { names: vec![name.into()], organisations: vec![organisation.into()] }),
        }
    }

    #[test]
    fn only_the_portals_certificate_for_the_platform_reads() {
        assert!(is_portal(&certificate("portal", "makonis-system"), "makonis-system"));
        assert!(!is_portal(&certificate("portal", "vdi"), "makonis-system"), "an agency's certificate named portal");
        assert!(!is_portal(&certificate("kube-apiserver", "makonis-system"), "makonis-system"));
        assert!(!is_portal(&Peer::Address(IpAddr::V4(Ipv4Addr::LOCALHOST)), "makonis-system"));
    }
}
