//! The portal's API on the SIEM's HTTPS listener, beside the intake: searching the store
//! and its monthly report ([`search`]), and the alerts with their triage ([`alerts`]).
//!
//! Only the portal asks: a client certificate named `portal`, issued for the platform's
//! namespace ([`reader`]). The portal decides which agencies each of its users may see,
//! records every look and action in its audit trail, and sends the agencies in each
//! request; the SIEM logs each request it answers and counts it by route and outcome.
//! Every answer is JSON; errors name the field and never the store's internals.

pub mod alerts;
pub mod reader;
pub mod search;

use axum::Router;

pub use alerts::{ALERT_PATH, ALERTS_PATH, TRIAGE_PATH};
pub use reader::Reader;
pub use search::{REPORT_PATH, SEARCH_PATH};

/// Every route of the portal's API; each connection adds its sender as an extension.
pub fn routes(reader: Reader) -> Router {
    search::routes(reader.clone()).merge(alerts::routes(reader))
}
