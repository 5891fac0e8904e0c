//! The JSON API: everything the pages do, under the same authorisation, for scripts and
//! automation (API tokens: `Authorization: Bearer mkt_…`). Errors are JSON with a stable
//! `code` and a human `message`; invalid input lists each field's problem.

mod body;
pub mod openapi;
mod routes;

use axum::{
    Router,
    routing::{get, post},
};

use super::AppState;

/// The API's routes, mounted under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/v1/catalog", get(routes::catalog))
        .route("/v1/catalog/{item}", get(routes::item))
        .route("/v1/agencies", get(routes::agencies))
        .route("/v1/agencies/{agency}/tokens", get(routes::agency_tokens))
        .route("/v1/agencies/{agency}/tokens/{id}/revoke", post(routes::revoke_agency_token))
        .route("/v1/requests", get(routes::requests).post(routes::create_request))
        .route("/v1/requests/{id}", get(routes::request))
        .route("/v1/requests/{id}/approve", post(routes::approve))
        .route("/v1/requests/{id}/reject", post(routes::reject))
        .route("/v1/requests/{id}/cancel", post(routes::cancel))
        .route("/v1/services", get(routes::services))
        .route("/v1/services/{agency}/{name}", get(routes::service))
        .route("/v1/services/{agency}/{name}/retire", post(routes::retire))
        .route("/v1/audit", get(routes::audit))
}
