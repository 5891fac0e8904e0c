//! The alerts, for the portal only:
//! `POST /v1/alerts` lists them (a page, or a feed of those raised after a row),
//! `POST /v1/alerts/one` gives one with its history and its events from the store, and
//! `POST /v1/alerts/triage` records what a person did to one and answers the alert with
//! its handling now.
//!
//! The portal sends the agencies its user may see; an alert of another agency (or the
//! platform's own, to an agency's user) is answered as if it did not exist. The portal
//! records every look and action in its audit trail; the SIEM keeps each action with who
//! did it, from where and when, beside the alert.

use std::time::Instant;

use axum::{
    Extension, Json, Router,
    extract::{State, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use jiff::Timestamp;
use makonis_siem_core::alerts::{
    AlertDetail, AlertList, AlertListRequest, AlertRequest, AlertView, TriageError, TriageRecord, TriageRequest,
    visible,
};

use crate::{
    intake::Peer,
    store::{Store, StoreError},
};

use super::reader::{Reader, answer, failed, from_portal, refusal};

/// Where alerts are listed.
pub const ALERTS_PATH: &str = "/v1/alerts";

/// Where one alert is asked for.
pub const ALERT_PATH: &str = "/v1/alerts/one";

/// Where an action on an alert is posted.
pub const TRIAGE_PATH: &str = "/v1/alerts/triage";

/// The alerts' routes.
pub fn routes(reader: Reader) -> Router {
    Router::new()
        .route(ALERTS_PATH, post(list))
        .route(ALERT_PATH, post(one))
        .route(TRIAGE_PATH, post(triage))
        .with_state(reader)
}

fn no_such_alert() -> (&'static str, Response) {
    ("invalid", answer(StatusCode::NOT_FOUND, "no such alert"))
}

async fn open(reader: &Reader) -> Result<Store, StoreError> {
    Store::open_for_alerts(reader.store.clone()).await
}

async fn list(
    State(reader): State<Reader>,
    Extension(sender): Extension<Peer>,
    request: Result<Json<AlertListRequest>, JsonRejection>,
) -> Response {
    let started = Instant::now();
    let (outcome, response) = answer_list(&reader, &sender, request).await;
    reader.count("alerts", outcome, started);
    response
}

async fn answer_list(
    reader: &Reader,
    sender: &Peer,
    request: Result<Json<AlertListRequest>, JsonRejection>,
) -> (&'static str, Response) {
    let request = match from_portal(reader, sender, request) {
        Ok(request) => request,
        Err((status, words)) => return refusal(status, words),
    };
    if let Err(error) = request.check() {
        return refusal(StatusCode::BAD_REQUEST, error.to_string());
    }
    let listed = match open(reader).await {
        Ok(mut store) => store.list_alerts(&request).await,
        Err(error) => Err(error),
    };
    let views = listed.and_then(|alerts| alerts.into_iter().map(|a| a.view()).collect::<Result<Vec<_>, _>>());
    match views {
        Ok(alerts) => {
            let next = (request.after.is_none() && alerts.len() == request.limit)
                .then(|| alerts.last().map(|a| a.row))
                .flatten();
            ("answered", Json(AlertList { alerts, next }).into_response())
        }
        Err(error) => ("failed", failed(&error)),
    }
}

async fn one(
    State(reader): State<Reader>,
    Extension(sender): Extension<Peer>,
    request: Result<Json<AlertRequest>, JsonRejection>,
) -> Response {
    let started = Instant::now();
    let (outcome, response) = answer_one(&reader, &sender, request).await;
    reader.count("alert", outcome, started);
    response
}

/// The alert `id` if a user who may see `agencies` may see it.
async fn visible_detail(
    store: &mut Store,
    id: &str,
    agencies: Option<&[String]>,
) -> Result<Option<AlertDetail>, StoreError> {
    let detail = store.alert_detail(id).await?;
    Ok(detail.filter(|d| visible(agencies, d.alert.agency.as_deref())))
}

async fn answer_one(
    reader: &Reader,
    sender: &Peer,
    request: Result<Json<AlertRequest>, JsonRejection>,
) -> (&'static str, Response) {
    let request = match from_portal(reader, sender, request) {
        Ok(request) => request,
        Err((status, words)) => return refusal(status, words),
    };
    let detail = match open(reader).await {
        Ok(mut store) => visible_detail(&mut store, &request.id, request.agencies.as_deref()).await,
        Err(error) => Err(error),
    };
    match detail {
        Ok(Some(detail)) => ("answered", Json(detail).into_response()),
        Ok(None) => no_such_alert(),
        Err(error) => ("failed", failed(&error)),
    }
}

async fn triage(
    State(reader): State<Reader>,
    Extension(sender): Extension<Peer>,
    request: Result<Json<TriageRequest>, JsonRejection>,
) -> Response {
    let started = Instant::now();
    let (outcome, response) = answer_triage(&reader, &sender, request).await;
    reader.count("alert_triage", outcome, started);
    response
}

async fn answer_triage(
    reader: &Reader,
    sender: &Peer,
    request: Result<Json<TriageRequest>, JsonRejection>,
) -> (&'static str, Response) {
    let request = match from_portal(reader, sender, request) {
        Ok(request) => request,
        Err((status, words)) => return refusal(status, words),
    };
    let mut store = match open(reader).await {
        Ok(store) => store,
        Err(error) => return ("failed", failed(&error)),
    };
    let alert = match store.alert(&request.id).await {
        Ok(Some(alert)) if visible(request.agencies.as_deref(), alert.agency.as_deref()) => alert,
        Ok(_) => return no_such_alert(),
        Err(error) => return ("failed", failed(&error)),
    };
    let record = TriageRecord {
        at: Timestamp::now().to_string(),
        actor: request.actor.clone(),
        address: request.address.clone(),
        action: request.action.clone(),
    };
    match store.triage_alert(&request.id, &record).await {
        Ok(Some(Ok(triage))) => {
            tracing::info!(alert = %request.id, actor = %record.actor, address = %record.address,
                action = record.action.name(), state = triage.state.as_str(), "an alert was handled");
            ("answered", Json(AlertView { triage, ..alert }).into_response())
        }
        Ok(Some(Err(refused))) => {
            let status = match refused {
                TriageError::Field { .. } => StatusCode::BAD_REQUEST,
                TriageError::State { .. } => StatusCode::CONFLICT,
            };
            refusal(status, refused.to_string())
        }
        Ok(None) => no_such_alert(),
        Err(error) => ("failed", failed(&error)),
    }
}
