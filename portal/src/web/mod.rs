//! The HTTP face of the portal: server-rendered pages, the JSON API, live updates
//! (server-sent events), static assets and the operational endpoints, in one router.

pub mod api;
pub mod assets;
pub mod charts;
pub mod client_address;
pub mod cookies;
pub mod csv;
pub mod error;
pub mod live;
pub mod ops;
pub mod pages;
pub mod redirect;
pub mod render;
pub mod viewer;

use std::sync::Arc;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    middleware,
    routing::{get, post},
};

use crate::context::Context;
pub use render::Templates;

/// What every handler receives. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Storage, cluster view, configuration.
    pub context: Arc<Context>,
    /// The compiled templates.
    pub templates: Arc<Templates>,
    /// The portal's metrics.
    pub metrics: Arc<ops::Metrics>,
}

/// The portal's router: pages, API, assets and the health endpoints. `/metrics` is not
/// here: [`metrics_app`] serves it on a listener of its own, out of the ingress's reach.
pub fn app(state: AppState) -> Router {
    let pages = Router::new()
        .route("/", get(pages::catalog::home))
        .route("/login", get(pages::session::login_form).post(pages::session::login))
        .route("/logout", post(pages::session::logout))
        .route("/password", get(pages::password::form).post(pages::password::post))
        .route("/language", post(pages::session::language))
        .route("/catalog", get(pages::catalog::list))
        .route("/catalog/{item}", get(pages::catalog::item))
        .route("/catalog/{item}/order", get(pages::order::form).post(pages::order::post))
        .route("/requests", get(pages::requests::list))
        .route("/requests/{id}", get(pages::requests::show))
        .route("/requests/{id}/approve", post(pages::requests::approve))
        .route("/requests/{id}/reject", post(pages::requests::reject))
        .route("/requests/{id}/cancel", post(pages::requests::cancel))
        .route("/approvals", get(pages::requests::approvals))
        .route("/services", get(pages::services::list))
        .route("/services/{agency}/{name}", get(pages::services::show))
        .route("/services/{agency}/{name}/resize", post(pages::services::resize))
        .route("/services/{agency}/{name}/retire", post(pages::services::retire))
        .route("/services/{agency}/{name}/events", get(live::instance_events))
        .route("/admin/agencies", get(pages::admin::agencies))
        .route("/admin/items", get(pages::admin::items))
        .route("/audit", get(pages::audit::list))
        .route("/audit.csv", get(pages::audit::csv_export))
        .route("/reports/sla", get(pages::reports::page))
        .route("/reports/sla.csv", get(pages::reports::csv_export))
        .route("/security", get(pages::security::search))
        .route("/security/events.csv", get(pages::security::csv_export))
        .route("/security/sources", get(pages::security::sources))
        .route("/security/report", get(pages::security::report))
        .route("/security/alerts", get(pages::alerts::list))
        .route("/security/alerts/{id}", get(pages::alerts::show).post(pages::alerts::act))
        .route("/security/incidents", get(pages::alerts::incidents))
        .route("/tokens", get(pages::tokens::list).post(pages::tokens::create))
        .route("/tokens/{id}/revoke", post(pages::tokens::revoke))
        .route("/people", get(pages::people::agencies))
        .route("/agencies/{agency}/people", get(pages::people::list).post(pages::people::add))
        .route("/agencies/{agency}/new-person", get(pages::people::new_form))
        .route("/agencies/{agency}/people/{name}", get(pages::people::show).post(pages::people::change))
        .route("/agencies/{agency}/groups", post(pages::people::add_group))
        .route("/agencies/{agency}/tokens", get(pages::tokens::agency_list))
        .route("/agencies/{agency}/tokens/{id}/revoke", post(pages::tokens::agency_revoke))
        .fallback(pages::not_found);
    let api = api::router();
    Router::new()
        .merge(pages)
        .nest("/api", api)
        .route("/static/{file}", get(assets::serve))
        .layer(middleware::from_fn_with_state(state.clone(), viewer::resolve))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .layer(middleware::from_fn_with_state(state.clone(), ops::observe))
        .layer(middleware::from_fn(ops::security_headers))
        .layer(DefaultBodyLimit::max(viewer::MAX_FORM_BYTES))
        .with_state(state)
}

/// The metrics listener's router: `/metrics` (Prometheus), `/healthz` and `/readyz`, for
/// the platform's monitoring on an address the ingress does not route to.
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(ops::metrics))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .with_state(state)
}
