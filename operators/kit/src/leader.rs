//! Leader election with a `coordination.k8s.io` Lease, so that several replicas of an
//! operator can run and exactly one reconciles.
//!
//! The decision is pure ([`next_step`]); [`LeaderElection`] is the IO around it. A
//! replica that loses its lease stops (the process exits and is restarted to campaign
//! again) rather than risk two leaders writing at once. On a clean shutdown the lease is
//! released so that another replica takes over at once instead of waiting for it to
//! expire.

use std::time::Duration;

use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
    jiff::{SignedDuration, Timestamp},
};
use kube::{
    Api, Client,
    api::{PostParams, ResourceExt},
};
use prometheus::{IntGaugeVec, Opts, Registry};

use crate::apply::ApiCallError;

/// What a candidate should do with the lease it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseStep {
    /// Nobody holds it (or the holder let it expire): take it.
    Take {
        /// The lease's transition count after taking it.
        transitions: i32,
    },
    /// This candidate holds it: renew it.
    Renew,
    /// Someone else holds it until it expires in this long.
    Wait(Duration),
}

/// Decides what `me` should do with `spec` at `now`. An empty holder means the lease was
/// released; an absent renew time counts as expired.
pub fn next_step(spec: Option<&LeaseSpec>, me: &str, now: Timestamp) -> LeaseStep {
    let Some(spec) = spec else { return LeaseStep::Take { transitions: 0 } };
    let transitions = spec.lease_transitions.unwrap_or(0);
    match spec.holder_identity.as_deref() {
        Some(holder) if holder == me => LeaseStep::Renew,
        None | Some("") => LeaseStep::Take { transitions: transitions + 1 },
        Some(_) => {
            let seconds = i64::from(spec.lease_duration_seconds.unwrap_or(0).max(0));
            let expires = spec.renew_time.as_ref().map(|t| t.0 + SignedDuration::from_secs(seconds));
            match expires {
                Some(expires) if expires > now => {
                    LeaseStep::Wait(Duration::try_from(expires.duration_since(now)).unwrap_or_default())
                }
                _ => LeaseStep::Take { transitions: transitions + 1 },
            }
        }
    }
}

/// One candidate for one Lease.
pub struct LeaderElection {
    api: Api<Lease>,
    name: String,
    identity: String,
    duration: Duration,
    leader: IntGaugeVec,
}

impl LeaderElection {
    /// A candidate `identity` for the Lease `namespace/name` held for `duration` at a time.
    /// Registers `makonis_operator_leader{lease}` (1 while leading) in `registry`.
    pub fn new(
        client: Client,
        namespace: &str,
        name: &str,
        identity: String,
        duration: Duration,
        registry: &Registry,
    ) -> prometheus::Result<Self> {
        let leader = IntGaugeVec::new(
            Opts::new("makonis_operator_leader", "1 while this process holds the leader lease, else 0."),
            &["lease"],
        )?;
        registry.register(Box::new(leader.clone()))?;
        leader.with_label_values(&[name]).set(0);
        Ok(Self { api: Api::namespaced(client, namespace), name: name.into(), identity, duration, leader })
    }

    /// Waits until this candidate holds the lease.
    pub async fn acquire(&self) -> Result<(), ApiCallError> {
        let mut reported = false;
        loop {
            let lease = self.api.get_opt(&self.name).await.map_err(|e| self.fail("reading", e))?;
            match next_step(lease.as_ref().and_then(|l| l.spec.as_ref()), &self.identity, Timestamp::now()) {
                LeaseStep::Wait(remaining) => {
                    if !reported {
                        let holder = lease.and_then(|l| l.spec?.holder_identity).unwrap_or_default();
                        tracing::info!(lease = %self.name, %holder, "another replica leads; standing by");
                        reported = true;
                    }
                    tokio::time::sleep(remaining.min(self.duration / 2).max(Duration::from_millis(200))).await;
                }
                step => {
                    if self.write(lease, &step).await? {
                        self.leader.with_label_values(&[&self.name]).set(1);
                        tracing::info!(lease = %self.name, identity = %self.identity, "leading");
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Renews the lease until it is lost; returns why. Renewal is retried until the
    /// lease would have expired, so a short API outage does not cost the leadership.
    pub async fn hold(&self) -> String {
        let mut last_renewal = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.duration / 3).await;
            let outcome = match self.api.get_opt(&self.name).await {
                Ok(lease) => {
                    match next_step(lease.as_ref().and_then(|l| l.spec.as_ref()), &self.identity, Timestamp::now()) {
                        LeaseStep::Renew => self.write(lease, &LeaseStep::Renew).await.map_err(|e| e.to_string()),
                        _ => {
                            let holder = lease.and_then(|l| l.spec?.holder_identity).unwrap_or_default();
                            return self.lost(format!("the lease is now held by {holder:?}"));
                        }
                    }
                }
                Err(error) => Err(self.fail("reading", error).to_string()),
            };
            match outcome {
                Ok(true) => last_renewal = tokio::time::Instant::now(),
                Ok(false) => {}
                Err(error) if last_renewal.elapsed() >= self.duration => {
                    return self.lost(format!("it could not be renewed in time: {error}"));
                }
                Err(error) => tracing::warn!(lease = %self.name, %error, "renewing the lease failed; retrying"),
            }
        }
    }

    /// Gives the lease up so that another replica can lead at once.
    pub async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.name).await else { return };
        let Some(spec) = lease.spec.as_mut().filter(|s| s.holder_identity.as_deref() == Some(&self.identity)) else {
            return;
        };
        spec.holder_identity = None;
        spec.renew_time = None;
        match self.api.replace(&self.name, &PostParams::default(), &lease).await {
            Ok(_) => tracing::info!(lease = %self.name, "released the leader lease"),
            Err(error) => tracing::warn!(lease = %self.name, %error, "could not release the leader lease"),
        }
        self.leader.with_label_values(&[&self.name]).set(0);
    }

    /// Takes or renews the lease; `false` when another replica won the race (409).
    async fn write(&self, existing: Option<Lease>, step: &LeaseStep) -> Result<bool, ApiCallError> {
        let now = MicroTime(Timestamp::now());
        let mut lease = existing.unwrap_or_else(|| Lease {
            metadata: ObjectMeta { name: Some(self.name.clone()), ..ObjectMeta::default() },
            spec: None,
        });
        let mut spec = lease.spec.take().unwrap_or_default();
        if let LeaseStep::Take { transitions } = step {
            spec.holder_identity = Some(self.identity.clone());
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions = Some(*transitions);
        }
        spec.lease_duration_seconds = Some(self.duration.as_secs().max(1) as i32);
        spec.renew_time = Some(now);
        lease.spec = Some(spec);
        let result = if lease.resource_version().is_some() {
            self.api.replace(&self.name, &PostParams::default(), &lease).await
        } else {
            self.api.create(&PostParams::default(), &lease).await
        };
        match result {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(error) => Err(self.fail("writing", error)),
        }
    }

    fn lost(&self, why: String) -> String {
        self.leader.with_label_values(&[&self.name]).set(0);
        format!("lost the leader lease {}: {why}", self.name)
    }

    fn fail(&self, action: &'static str, error: kube::Error) -> ApiCallError {
        ApiCallError { action, kind: "Lease".into(), name: self.name.clone(), error }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn held_by(holder: &str, renewed: i64, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(at(renewed))),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn a_missing_lease_is_taken() {
        assert_eq!(next_step(None, "a", at(0)), LeaseStep::Take { transitions: 0 });
    }

    #[test]
    fn own_lease_is_renewed() {
        assert_eq!(next_step(Some(&held_by("a", 0, 2)), "a", at(100)), LeaseStep::Renew);
    }

    #[test]
    fn a_live_foreign_lease_is_waited_for_until_it_expires() {
        assert_eq!(next_step(Some(&held_by("b", 0, 2)), "a", at(10)), LeaseStep::Wait(Duration::from_secs(5)));
    }

    #[test]
    fn an_expired_or_released_lease_is_taken_with_one_more_transition() {
        assert_eq!(next_step(Some(&held_by("b", 0, 2)), "a", at(15)), LeaseStep::Take { transitions: 3 });
        let released = LeaseSpec { holder_identity: None, ..held_by("b", 0, 4) };
        assert_eq!(next_step(Some(&released), "a", at(1)), LeaseStep::Take { transitions: 5 });
        let never_renewed = LeaseSpec { renew_time: None, ..held_by("b", 0, 0) };
        assert_eq!(next_step(Some(&never_renewed), "a", at(1)), LeaseStep::Take { transitions: 1 });
    }
}
