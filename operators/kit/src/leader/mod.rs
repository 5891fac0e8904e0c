//! Leader election with a `coordination.k8s.io` Lease, so that several replicas of an
//! operator can run and exactly one acts.
//!
//! The decisions are pure ([`decide`]) and use only this process's monotonic clock: a
//! standby takes the lease once it has seen the same version of it for the lease's whole
//! duration, and the leader must stop acting once its renew deadline (shorter than the
//! lease) has passed since it sent its last successful renewal. So two leaders never
//! overlap, whatever the machines' clocks say. [`LeaderElection`] is the IO around them;
//! every request has a timeout. A replica that loses its lease stops (the process exits
//! and is restarted to campaign again). On a clean shutdown the lease is released so that
//! another replica takes over at once instead of waiting for it to expire.

pub mod decide;
pub mod timings;

use std::{future::Future, sync::Mutex, time::Duration};

use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
    jiff::Timestamp,
};
use kube::{
    Api, Client,
    api::{PostParams, ResourceExt},
};
use prometheus::{IntGaugeVec, Opts, Registry};
use tokio::time::Instant;

pub use decide::{Candidate, LeaseStep, Sighting};
pub use timings::{LeaseTimings, TimingsError};

use crate::{
    apply::ApiCallError,
    error::{ErrorCategory, error_chain},
};

/// A failed request about the Lease.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// The API server refused or failed the request.
    #[error(transparent)]
    Api(#[from] ApiCallError),
    /// No answer came in time (a stalled connection, an overloaded API server).
    #[error("{action} Lease {name}: no answer within {after:?}")]
    TimedOut {
        /// What was being done: `reading`, `writing`.
        action: &'static str,
        /// The Lease's name.
        name: String,
        /// The timeout.
        after: Duration,
    },
}

impl ErrorCategory for LeaseError {
    fn category(&self) -> &'static str {
        match self {
            LeaseError::Api(error) => error.category(),
            LeaseError::TimedOut { .. } => "Timeout",
        }
    }
}

impl LeaseError {
    /// Whether trying again may help: an outage or a timeout, not a refusal.
    fn is_transient(&self) -> bool {
        matches!(self.category(), "ApiUnavailable" | "Timeout" | "Conflict")
    }
}

/// What this replica holds: the Lease as it last wrote it, and when it sent that write.
struct Held {
    lease: Lease,
    sent: Instant,
}

/// The outcome of one renewal attempt.
enum Renewal {
    /// Renewed; the Lease as written.
    Renewed(Box<Lease>),
    /// Another replica holds the lease now.
    HeldBy(String),
    /// Someone wrote the Lease twice while this replica renewed it; try again later.
    Raced,
}

/// One candidate for one Lease.
pub struct LeaderElection {
    api: Api<Lease>,
    name: String,
    identity: String,
    timings: LeaseTimings,
    leader: IntGaugeVec,
    held: Mutex<Option<Held>>,
}

impl LeaderElection {
    /// A candidate `identity` for the Lease `namespace/name`, with `timings`.
    /// Registers `makonis_operator_leader{lease}` (1 while leading) in `registry`.
    pub fn new(
        client: Client,
        namespace: &str,
        name: &str,
        identity: String,
        timings: LeaseTimings,
        registry: &Registry,
    ) -> prometheus::Result<Self> {
        let leader = IntGaugeVec::new(
            Opts::new("makonis_operator_leader", "1 while this process holds the leader lease, else 0."),
            &["lease"],
        )?;
        registry.register(Box::new(leader.clone()))?;
        leader.with_label_values(&[name]).set(0);
        Ok(Self {
            api: Api::namespaced(client, namespace),
            name: name.into(),
            identity,
            timings,
            leader,
            held: Mutex::new(None),
        })
    }

    /// Waits until this candidate holds the lease. Outages and timeouts are retried;
    /// a refusal (no right to the Lease, say) is returned.
    pub async fn acquire(&self) -> Result<(), LeaseError> {
        let mut candidate = Candidate::default();
        let mut reported = false;
        loop {
            let lease = match self.bounded("reading", self.api.get_opt(&self.name)).await {
                Ok(lease) => lease,
                Err(error) => {
                    if let Some(error) = self.fatal(error) {
                        return Err(error);
                    }
                    tokio::time::sleep(self.timings.retry_period).await;
                    continue;
                }
            };
            let sighting = lease.as_ref().map(|l| Sighting {
                version: l.metadata.resource_version.as_deref().unwrap_or_default(),
                spec: l.spec.as_ref(),
            });
            match candidate.step(sighting, &self.identity, Instant::now(), self.timings.duration) {
                LeaseStep::Wait(left) => {
                    if !reported {
                        let holder = lease.and_then(|l| l.spec?.holder_identity).unwrap_or_default();
                        tracing::info!(lease = %self.name, %holder, "another replica leads; standing by");
                        reported = true;
                    }
                    tokio::time::sleep(left.min(self.timings.retry_period)).await;
                }
                step => {
                    let sent = Instant::now();
                    match self.write(lease, &step).await {
                        Ok(Some(lease)) => {
                            *self.held.lock().expect("lease state") = Some(Held { lease, sent });
                            self.leader.with_label_values(&[&self.name]).set(1);
                            tracing::info!(lease = %self.name, identity = %self.identity, "leading");
                            return Ok(());
                        }
                        Ok(None) => {}
                        Err(error) => {
                            if let Some(error) = self.fatal(error) {
                                return Err(error);
                            }
                            tokio::time::sleep(self.timings.retry_period).await;
                        }
                    }
                }
            }
        }
    }

    /// Renews the lease until it is lost; returns why. Returns at the latest when the
    /// renew deadline has passed since the last successful renewal was sent, before any
    /// other replica may take the lease: the caller must stop acting at once.
    pub async fn hold(&self) -> String {
        let mut last_attempt = Instant::now();
        loop {
            let deadline = match self.held.lock().expect("lease state").as_ref() {
                Some(held) => decide::acting_deadline(held.sent, self.timings.renew_deadline),
                None => return self.lost("it was never taken".into()),
            };
            tokio::time::sleep_until((last_attempt + self.timings.retry_period).min(deadline)).await;
            let sent = Instant::now();
            if sent >= deadline {
                return self.lost(format!(
                    "it could not be renewed within the renew deadline of {:?}",
                    self.timings.renew_deadline
                ));
            }
            last_attempt = sent;
            match tokio::time::timeout_at(deadline, self.renew()).await {
                Ok(Ok(Renewal::Renewed(lease))) => {
                    *self.held.lock().expect("lease state") = Some(Held { lease: *lease, sent });
                }
                Ok(Ok(Renewal::HeldBy(holder))) => return self.lost(format!("the lease is now held by {holder:?}")),
                Ok(Ok(Renewal::Raced)) => {
                    tracing::warn!(lease = %self.name, "the lease changed while renewing it; retrying")
                }
                Ok(Err(error)) => {
                    tracing::warn!(lease = %self.name, error = %error_chain(&error), "renewing the lease failed; retrying")
                }
                Err(_) => {
                    tracing::warn!(lease = %self.name, "renewing the lease did not finish before the renew deadline")
                }
            }
        }
    }

    /// Gives the lease up so that another replica can lead at once. Call only once
    /// everything this replica does as leader has stopped.
    pub async fn release(&self) {
        self.leader.with_label_values(&[&self.name]).set(0);
        let Some(held) = self.held.lock().expect("lease state").take() else { return };
        let mut lease = held.lease;
        for _ in 0..2 {
            if let Some(spec) = lease.spec.as_mut() {
                spec.holder_identity = None;
                spec.renew_time = None;
            }
            let result = self.bounded("writing", self.api.replace(&self.name, &PostParams::default(), &lease)).await;
            match result {
                Ok(_) => {
                    tracing::info!(lease = %self.name, "released the leader lease");
                    return;
                }
                Err(LeaseError::Api(ApiCallError { error: kube::Error::Api(status), .. })) if status.code == 409 => {
                    match self.bounded("reading", self.api.get_opt(&self.name)).await {
                        Ok(Some(fresh)) if self.holds(&fresh) => lease = fresh,
                        _ => return,
                    }
                }
                Err(error) => {
                    tracing::warn!(lease = %self.name, error = %error_chain(&error), "could not release the leader lease");
                    return;
                }
            }
        }
    }

    /// One renewal: a write over the Lease as this replica last wrote it; when someone
    /// else wrote in between, a fresh read decides whether this replica still holds it.
    async fn renew(&self) -> Result<Renewal, LeaseError> {
        let Some(mut lease) = self.held.lock().expect("lease state").as_ref().map(|h| h.lease.clone()) else {
            return Ok(Renewal::HeldBy(String::new()));
        };
        for _ in 0..2 {
            if let Some(written) = self.write(Some(lease), &LeaseStep::Renew).await? {
                return Ok(Renewal::Renewed(Box::new(written)));
            }
            match self.bounded("reading", self.api.get_opt(&self.name)).await? {
                Some(fresh) if self.holds(&fresh) => lease = fresh,
                fresh => {
                    let holder = fresh.and_then(|l| l.spec?.holder_identity).unwrap_or_default();
                    return Ok(Renewal::HeldBy(holder));
                }
            }
        }
        Ok(Renewal::Raced)
    }

    /// Takes or renews the lease; `None` when another replica wrote it first (409).
    async fn write(&self, existing: Option<Lease>, step: &LeaseStep) -> Result<Option<Lease>, LeaseError> {
        let now = MicroTime(Timestamp::now());
        let mut lease = existing.unwrap_or_else(|| Lease {
            metadata: ObjectMeta { name: Some(self.name.clone()), ..ObjectMeta::default() },
            spec: None,
        });
        let mut spec = lease.spec.take().unwrap_or_default();
        if let LeaseStep::Take { transitions } = step {
            spec = LeaseSpec {
                holder_identity: Some(self.identity.clone()),
                acquire_time: Some(now.clone()),
                lease_transitions: Some(*transitions),
                ..spec
            };
        }
        // The renew time is for people reading the Lease; no replica relies on it.
        spec.lease_duration_seconds = Some(self.timings.duration_seconds());
        spec.renew_time = Some(now);
        lease.spec = Some(spec);
        let result = if lease.resource_version().is_some() {
            self.bounded("writing", self.api.replace(&self.name, &PostParams::default(), &lease)).await
        } else {
            self.bounded("writing", self.api.create(&PostParams::default(), &lease)).await
        };
        match result {
            Ok(written) => Ok(Some(written)),
            Err(LeaseError::Api(ApiCallError { error: kube::Error::Api(status), .. })) if status.code == 409 => {
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// Runs one request with the request timeout.
    async fn bounded<T>(
        &self,
        action: &'static str,
        request: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, LeaseError> {
        match tokio::time::timeout(self.timings.request_timeout, request).await {
            Ok(result) => result.map_err(|error| LeaseError::Api(self.fail(action, error))),
            Err(_) => {
                Err(LeaseError::TimedOut { action, name: self.name.clone(), after: self.timings.request_timeout })
            }
        }
    }

    /// The error when trying again cannot help; `None` (after a warning) when it may.
    fn fatal(&self, error: LeaseError) -> Option<LeaseError> {
        if !error.is_transient() {
            return Some(error);
        }
        tracing::warn!(lease = %self.name, error = %error_chain(&error), category = error.category(), "cannot reach the leader lease; retrying");
        None
    }

    fn holds(&self, lease: &Lease) -> bool {
        lease.spec.as_ref().and_then(|s| s.holder_identity.as_deref()) == Some(self.identity.as_str())
    }

    fn lost(&self, why: String) -> String {
        self.leader.with_label_values(&[&self.name]).set(0);
        *self.held.lock().expect("lease state") = None;
        tracing::error!(lease = %self.name, %why, "lost the leader lease; stopping");
        format!("lost the leader lease {}: {why}", self.name)
    }

    fn fail(&self, action: &'static str, error: kube::Error) -> ApiCallError {
        ApiCallError { action, kind: "Lease".into(), name: self.name.clone(), error }
    }
}
