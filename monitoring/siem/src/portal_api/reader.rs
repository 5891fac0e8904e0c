//! What both halves of the portal's API share: what they read with, who may ask, and how
//! a question is refused or fails (JSON that names the field, never the store's
//! internals).

use std::{sync::Arc, time::Instant};

use axum::{
    Json,
    extract::rejection::JsonRejection,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use makonis_siem_core::claims::PlatformSender;
use serde_json::json;

use crate::{
    intake::{Peer, metrics::SiemMetrics},
    store::{Backend, Store, StoreError},
};

/// What the portal's API reads with.
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
