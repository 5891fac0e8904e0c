//! Live status: server-sent events that push an instance's status to its pages as the
//! watch sees it change.
//!
//! A stream outlives the request that opened it, so it checks its viewer again before
//! every event and at least every `live_recheck` (the session or token must still work,
//! after the owner's re-check, and still see the agency): a signed-out, expired or revoked
//! viewer, or one who lost the agency, gets no further event and the stream ends. Each user
//! may hold only so many streams open at once ([`LiveStreams`]), so that nobody ties up the
//! portal's connections.

use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{Arc, Mutex},
    time::Duration,
};

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
use prometheus::IntGauge;
use tokio::{sync::broadcast::error::RecvError, time::MissedTickBehavior};

use super::{
    AppState,
    error::WebError,
    viewer::{Credential, Viewer, identify},
};
use crate::{
    cluster::{ClusterView, InstanceKey, InstanceSummary},
    context::Context,
};

/// How many live streams each user has open, against a cap (per replica).
pub struct LiveStreams {
    cap: usize,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// One open stream of a user; closing (dropping) it frees the place.
pub struct LiveSlot {
    user: String,
    open: Arc<Mutex<HashMap<String, usize>>>,
    gauge: IntGauge,
}

impl LiveStreams {
    /// At most `cap` streams per user.
    pub fn new(cap: usize) -> Self {
        Self { cap, open: Arc::default() }
    }

    /// A place for one more stream of `user`, unless they hold `cap` already.
    pub fn try_open(&self, user: &str, gauge: &IntGauge) -> Option<LiveSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(user.to_string()).or_default();
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        gauge.inc();
        Some(LiveSlot { user: user.to_string(), open: Arc::clone(&self.open), gauge: gauge.clone() })
    }

    /// How many streams `user` has open.
    pub fn open_of(&self, user: &str) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).get(user).copied().unwrap_or(0)
    }
}

impl Drop for LiveSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.user);
            }
        }
        self.gauge.dec();
    }
}

fn status_event(view: &ClusterView, agency: &str, name: &str) -> Event {
    let instance = view.instance(agency, name);
    let summary = instance.as_deref().map(InstanceSummary::of);
    let data = serde_json::to_string(&summary).unwrap_or_else(|_| "null".into());
    Event::default().event("status").data(data)
}

/// Who is watching, to be checked again while the stream is open.
struct Watcher {
    context: Arc<Context>,
    credential: Credential,
    source_ip: String,
    user_agent: String,
    agency: String,
    /// Holds the user's place among their open streams until the stream ends.
    _slot: LiveSlot,
}

impl Watcher {
    /// Whether the credential still works and its owner still sees the agency.
    async fn still_allowed(&self) -> bool {
        match identify(&self.context, &self.credential, &self.source_ip, &self.user_agent).await {
            Ok(Some((actor, _))) => actor.access.sees(&self.agency),
            Ok(None) => false,
            Err(error) => {
                tracing::info!(%error, "a live stream ends: its viewer could not be confirmed");
                false
            }
        }
    }
}

/// The stream of `status` events for one instance: the current status at once, then one
/// per change (a `null` status when the instance is gone), as long as `watcher` may see it.
fn instance_stream(
    view: ClusterView,
    watcher: Watcher,
    name: String,
    recheck: Duration,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let key = InstanceKey { namespace: namespace_for_code(&watcher.agency), name: name.clone() };
    let first = status_event(&view, &watcher.agency, &name);
    let changes = view.subscribe();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + recheck, recheck);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let state = (view, changes, key, name, watcher, tick);
    let rest = stream::unfold(state, |(view, mut changes, key, name, watcher, mut tick)| async move {
        loop {
            let changed = tokio::select! {
                change = changes.recv() => match change {
                    Ok(changed) => changed == key,
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => return None,
                },
                _ = tick.tick() => false,
            };
            if !watcher.still_allowed().await {
                return None;
            }
            if changed {
                let event = status_event(&view, &watcher.agency, &name);
                return Some((Ok(event), (view, changes, key, name, watcher, tick)));
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
    let credential = viewer.credential.clone().ok_or(WebError::SignIn)?;
    let context = &state.context;
    let recheck = context.config.live_recheck;
    let slot = context
        .live_streams
        .try_open(&actor.identity.username, &context.identity_metrics.live_streams)
        .ok_or(WebError::RateLimited(recheck.as_secs().max(1)))?;
    let watcher = Watcher {
        context: Arc::clone(context),
        credential,
        source_ip: viewer.source_ip.clone(),
        user_agent: viewer.user_agent.clone(),
        agency,
        _slot: slot,
    };
    let stream = instance_stream(context.view.clone(), watcher, name, recheck);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_holds_at_most_the_cap_and_closing_frees_a_place() {
        let streams = LiveStreams::new(2);
        let gauge = IntGauge::new("streams", "test").unwrap();
        let first = streams.try_open("anna", &gauge).unwrap();
        let _second = streams.try_open("anna", &gauge).unwrap();
        assert!(streams.try_open("anna", &gauge).is_none());
        assert!(streams.try_open("janis", &gauge).is_some(), "others are not affected");
        assert_eq!((streams.open_of("anna"), gauge.get()), (2, 2));
        drop(first);
        assert_eq!(streams.open_of("anna"), 1);
        assert!(streams.try_open("anna", &gauge).is_some());
    }
}
