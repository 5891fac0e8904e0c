//! Live status: server-sent events that push an instance's status to its pages as the
//! watch sees it change.

use std::{convert::Infallible, time::Duration};

use axum::{
    extract::{Path, State},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures::{
    StreamExt,
    stream::{self, Stream},
};
use makonis_api::tenancy::namespace_for_code;
use tokio::sync::broadcast::error::RecvError;

use super::{AppState, error::WebError, viewer::Viewer};
use crate::cluster::{ClusterView, InstanceKey, InstanceSummary};

fn status_event(view: &ClusterView, agency: &str, name: &str) -> Event {
    let instance = view.instance(agency, name);
    let summary = instance.as_deref().map(InstanceSummary::of);
    let data = serde_json::to_string(&summary).unwrap_or_else(|_| "null".into());
    Event::default().event("status").data(data)
}

/// The stream of `status` events for one instance: the current status at once, then one
/// per change (a `null` status when the instance is gone).
pub fn instance_stream(
    view: ClusterView,
    agency: String,
    name: String,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let key = InstanceKey { namespace: namespace_for_code(&agency), name: name.clone() };
    let first = status_event(&view, &agency, &name);
    let changes = view.subscribe();
    let rest =
        stream::unfold((view, changes, key, agency, name), |(view, mut changes, key, agency, name)| async move {
            loop {
                match changes.recv().await {
                    Ok(changed) if changed == key => {
                        let event = status_event(&view, &agency, &name);
                        return Some((Ok(event), (view, changes, key, agency, name)));
                    }
                    Ok(_) => continue,
                    Err(RecvError::Lagged(_)) => {
                        let event = status_event(&view, &agency, &name);
                        return Some((Ok(event), (view, changes, key, agency, name)));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        });
    stream::once(async move { Ok(first) }).chain(rest)
}

/// `GET /services/{agency}/{name}/events`.
pub async fn instance_events(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((agency, name)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    if !actor.access.sees(&agency) {
        return Err(WebError::NotFound);
    }
    let stream = instance_stream(state.context.view.clone(), agency, name);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}
