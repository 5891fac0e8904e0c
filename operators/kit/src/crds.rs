//! Start-up check: wait until the CRDs a controller needs are established.
//!
//! A controller started before its CRDs are installed would crash-loop on its watches.
//! Instead it waits, says once which CRDs are missing and how to install them, and keeps
//! checking; `/readyz` stays unready meanwhile.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{Api, Client};

use crate::apply::{ApiCallError, api_error_category};

/// How to install the CRDs, printed when they are missing.
pub const INSTALL_HINT: &str =
    "install them with `makonis crds | kubectl apply --server-side -f -` (or `kubectl apply -f crds/generated/`)";

/// The state of one CRD in the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrdState {
    /// No such CRD.
    Missing,
    /// Present, but the API server does not serve it yet.
    NotEstablished,
    /// Served.
    Established,
}

/// Reads the state of the CRD called `name` (e.g. `agencies.tenancy.makonis.lv`).
pub async fn crd_state(client: &Client, name: &str) -> Result<CrdState, ApiCallError> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = api.get_opt(name).await.map_err(|error| ApiCallError {
        action: "reading",
        kind: "CustomResourceDefinition".into(),
        name: name.into(),
        error,
    })?;
    Ok(match crd {
        None => CrdState::Missing,
        Some(crd) => {
            let established = crd
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established { CrdState::Established } else { CrdState::NotEstablished }
        }
    })
}

/// Waits until every CRD in `names` is established, checking every `interval`.
///
/// Missing CRDs are reported once with [`INSTALL_HINT`]; API errors are logged with their
/// category and retried (a controller must survive an API server that restarts).
pub async fn wait_for_crds(client: &Client, names: &[&str], interval: Duration) {
    let mut reported_missing = false;
    loop {
        let mut pending = Vec::new();
        for name in names {
            match crd_state(client, name).await {
                Ok(CrdState::Established) => {}
                Ok(state) => pending.push((*name, state)),
                Err(error) => {
                    tracing::warn!(crd = name, category = api_error_category(&error.error), error = %crate::error::error_chain(&error), "cannot read CRD; retrying");
                    pending.push((*name, CrdState::NotEstablished));
                }
            }
        }
        if pending.is_empty() {
            tracing::info!(crds = ?names, "CRDs established");
            return;
        }
        let missing: Vec<&str> = pending.iter().filter(|(_, s)| *s == CrdState::Missing).map(|(n, _)| *n).collect();
        if !missing.is_empty() && !reported_missing {
            tracing::error!(crds = ?missing, "required CRDs are not installed; {INSTALL_HINT}");
            reported_missing = true;
        }
        tokio::time::sleep(interval).await;
    }
}
