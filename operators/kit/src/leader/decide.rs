//! The decisions of leader election, pure and on this process's monotonic clock.
//!
//! Nothing here reads the Lease's timestamps: they come from another machine's clock. A
//! candidate counts a lease as expired once it has seen the same version of it (every
//! write changes the resource version) for the lease's whole duration on its own clock;
//! the leader stops acting once its renew deadline has passed since it *sent* its last
//! successful renewal. Because a candidate first sees a version only after the leader
//! sent the write that made it, and the renew deadline is shorter than the lease, the
//! leader has stopped before any candidate may take over, whatever the clocks say.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::LeaseSpec;
use tokio::time::Instant;

/// What a candidate should do with the lease it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseStep {
    /// Nobody holds it (or the holder stopped renewing it): take it.
    Take {
        /// The lease's transition count after taking it.
        transitions: i32,
    },
    /// This candidate holds it: renew it.
    Renew,
    /// Someone else holds it; look again within this long.
    Wait(Duration),
}

/// A look at the Lease: its resource version and its spec.
#[derive(Debug, Clone, Copy)]
pub struct Sighting<'a> {
    /// `metadata.resourceVersion`: changes with every write, renewals included.
    pub version: &'a str,
    /// The spec, if any.
    pub spec: Option<&'a LeaseSpec>,
}

/// What a candidate remembers between two looks at the lease: the version it saw last and
/// when (on its own monotonic clock) it first saw that version.
#[derive(Debug, Clone, Default)]
pub struct Candidate {
    seen: Option<(String, Instant)>,
}

impl Candidate {
    /// Decides what `me` should do about `lease` (`None`: there is none) at `now`. A
    /// foreign holder is waited for until its lease has not changed for the duration it
    /// declares (or `own_duration` when it declares none), counted from when this
    /// candidate first saw the current version.
    pub fn step(&mut self, lease: Option<Sighting<'_>>, me: &str, now: Instant, own_duration: Duration) -> LeaseStep {
        let Some(lease) = lease else {
            self.seen = None;
            return LeaseStep::Take { transitions: 0 };
        };
        let spec = lease.spec.cloned().unwrap_or_default();
        let transitions = spec.lease_transitions.unwrap_or(0);
        match spec.holder_identity.as_deref() {
            Some(holder) if holder == me => LeaseStep::Renew,
            None | Some("") => LeaseStep::Take { transitions: transitions + 1 },
            Some(_) => {
                let since = match &self.seen {
                    Some((version, since)) if version == lease.version => *since,
                    _ => {
                        self.seen = Some((lease.version.to_string(), now));
                        now
                    }
                };
                let duration = declared_duration(&spec).unwrap_or(own_duration);
                match (since + duration).checked_duration_since(now) {
                    Some(left) if !left.is_zero() => LeaseStep::Wait(left),
                    _ => LeaseStep::Take { transitions: transitions + 1 },
                }
            }
        }
    }
}

/// The lease duration the holder declared, if it declared a positive one.
fn declared_duration(spec: &LeaseSpec) -> Option<Duration> {
    let seconds = spec.lease_duration_seconds.filter(|s| *s > 0)?;
    Some(Duration::from_secs(u64::from(seconds.unsigned_abs())))
}

/// The instant a leader must have stopped acting by: `renew_deadline` after it sent its
/// last successful renewal (or the write that took the lease).
pub fn acting_deadline(renewal_sent: Instant, renew_deadline: Duration) -> Instant {
    renewal_sent + renew_deadline
}

#[cfg(test)]
mod tests {
    use k8s_openapi::{
        apimachinery::pkg::apis::meta::v1::MicroTime,
        jiff::{SignedDuration, Timestamp},
    };

    use super::*;

    const LEASE: Duration = Duration::from_secs(15);

    fn held_by(holder: &str, renewed: Timestamp, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(renewed)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    fn seen<'a>(version: &'a str, spec: &'a LeaseSpec) -> Option<Sighting<'a>> {
        Some(Sighting { version, spec: Some(spec) })
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_missing_lease_is_taken_and_own_lease_renewed() {
        let now = Instant::now();
        assert_eq!(Candidate::default().step(None, "a", now, LEASE), LeaseStep::Take { transitions: 0 });
        let mine = held_by("a", Timestamp::now(), 2);
        assert_eq!(Candidate::default().step(seen("1", &mine), "a", now, LEASE), LeaseStep::Renew);
    }

    #[test]
    fn a_released_lease_is_taken_at_once_with_one_more_transition() {
        let released = LeaseSpec { holder_identity: None, ..held_by("b", Timestamp::now(), 4) };
        let step = Candidate::default().step(seen("9", &released), "a", Instant::now(), LEASE);
        assert_eq!(step, LeaseStep::Take { transitions: 5 });
    }

    #[test]
    fn a_foreign_lease_is_waited_for_its_whole_duration_from_first_sight() {
        let t0 = Instant::now();
        let lease = held_by("b", Timestamp::now(), 2);
        let mut candidate = Candidate::default();
        assert_eq!(candidate.step(seen("7", &lease), "a", t0, LEASE), LeaseStep::Wait(secs(15)));
        assert_eq!(candidate.step(seen("7", &lease), "a", t0 + secs(10), LEASE), LeaseStep::Wait(secs(5)));
        assert_eq!(candidate.step(seen("7", &lease), "a", t0 + secs(15), LEASE), LeaseStep::Take { transitions: 3 });
    }

    #[test]
    fn every_renewal_restarts_the_wait() {
        let t0 = Instant::now();
        let lease = held_by("b", Timestamp::now(), 2);
        let mut candidate = Candidate::default();
        candidate.step(seen("7", &lease), "a", t0, LEASE);
        assert_eq!(candidate.step(seen("8", &lease), "a", t0 + secs(14), LEASE), LeaseStep::Wait(secs(15)));
        assert_eq!(candidate.step(seen("8", &lease), "a", t0 + secs(28), LEASE), LeaseStep::Wait(secs(1)));
    }

    #[test]
    fn the_holders_clock_does_not_matter() {
        let t0 = Instant::now();
        // A live holder whose clock is an hour behind: its renewals look long expired.
        let behind = held_by("b", Timestamp::now() - SignedDuration::from_hours(1), 1);
        let mut candidate = Candidate::default();
        assert_eq!(candidate.step(seen("3", &behind), "a", t0, LEASE), LeaseStep::Wait(secs(15)));
        // A dead holder whose clock was an hour ahead: its last renewal looks fresh for an hour.
        let ahead = held_by("c", Timestamp::now() + SignedDuration::from_hours(1), 1);
        let mut candidate = Candidate::default();
        candidate.step(seen("4", &ahead), "a", t0, LEASE);
        assert_eq!(candidate.step(seen("4", &ahead), "a", t0 + secs(15), LEASE), LeaseStep::Take { transitions: 2 });
    }

    #[test]
    fn the_declared_duration_counts_and_ours_stands_in_for_a_missing_one() {
        let t0 = Instant::now();
        let short = LeaseSpec { lease_duration_seconds: Some(3), ..held_by("b", Timestamp::now(), 0) };
        let mut candidate = Candidate::default();
        candidate.step(seen("1", &short), "a", t0, LEASE);
        assert_eq!(candidate.step(seen("1", &short), "a", t0 + secs(3), LEASE), LeaseStep::Take { transitions: 1 });
        let silent = LeaseSpec { lease_duration_seconds: None, ..short };
        let mut candidate = Candidate::default();
        assert_eq!(candidate.step(seen("1", &silent), "a", t0, LEASE), LeaseStep::Wait(LEASE));
    }

    #[test]
    fn the_leader_stops_before_any_candidate_may_take_over() {
        // The leader sends a renewal at `sent`; the API server stores it later, and a
        // candidate sees it later still. Whatever the delays, the leader's deadline
        // comes before the candidate's take-over.
        let sent = Instant::now();
        let (deadline, lease) = (secs(10), held_by("leader", Timestamp::now(), 0));
        for delay in [0, 1, 7, 30] {
            let mut candidate = Candidate::default();
            let first_seen = sent + secs(delay);
            candidate.step(seen("5", &lease), "a", first_seen, LEASE);
            let mut at = first_seen;
            while candidate.step(seen("5", &lease), "a", at, LEASE) != (LeaseStep::Take { transitions: 1 }) {
                at += Duration::from_millis(100);
            }
            assert!(acting_deadline(sent, deadline) < at, "delay {delay}s: leader acts until after the take-over");
        }
    }
}
