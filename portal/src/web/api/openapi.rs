//! The API's OpenAPI 3.1 document, served at `/api/openapi.json` without sign-in.

use axum::{
    http::header,
    response::{IntoResponse, Response},
};

/// The document (`portal/api/openapi.json`); a test checks it against the router.
pub const DOCUMENT: &str = include_str!("../../../api/openapi.json");

/// `GET /api/openapi.json`.
pub async fn document() -> Response {
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "public, max-age=3600")], DOCUMENT)
        .into_response()
}
