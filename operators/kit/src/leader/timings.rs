//! How long a lease lasts, by when its leader must have renewed it, how often it tries,
//! and how long one request may take.

use std::time::Duration;

/// The timings of one leader election.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTimings {
    /// How long the lease holds without renewal, as the other replicas count it on their
    /// own clocks from when they first see a renewal. Whole seconds (the Lease stores
    /// seconds).
    pub duration: Duration,
    /// The leader stops acting this long after it sent its last successful renewal.
    /// Shorter than `duration`: the difference absorbs clocks that run at slightly
    /// different rates and the moment the process takes to stop.
    pub renew_deadline: Duration,
    /// How often the leader renews and a standby looks at the lease.
    pub retry_period: Duration,
    /// How long one request about the lease may take before it is abandoned.
    pub request_timeout: Duration,
}

/// Timings that cannot keep two leaders apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimingsError {
    /// The lease is shorter than one second, or not whole seconds.
    #[error("the lease duration must be a whole number of seconds, at least 1 (got {0:?})")]
    Duration(Duration),
    /// The renew deadline is not shorter than the lease.
    #[error(
        "the renew deadline ({deadline:?}) must be shorter than the lease duration ({duration:?}), so that a leader that cannot renew stops before another replica takes over"
    )]
    Deadline {
        /// The renew deadline asked for.
        deadline: Duration,
        /// The lease duration.
        duration: Duration,
    },
}

impl LeaseTimings {
    /// Timings for a lease of `duration`. The renew deadline defaults to two thirds of
    /// it (10 s of 15 s); the leader renews five times per deadline, and a request may
    /// take half the deadline.
    pub fn new(duration: Duration, renew_deadline: Option<Duration>) -> Result<Self, TimingsError> {
        if duration < Duration::from_secs(1) || duration.subsec_nanos() != 0 {
            return Err(TimingsError::Duration(duration));
        }
        let renew_deadline = renew_deadline.unwrap_or(duration * 2 / 3);
        if renew_deadline.is_zero() || renew_deadline >= duration {
            return Err(TimingsError::Deadline { deadline: renew_deadline, duration });
        }
        Ok(Self { duration, renew_deadline, retry_period: renew_deadline / 5, request_timeout: renew_deadline / 2 })
    }

    /// The lease duration in the Lease's own unit.
    pub fn duration_seconds(&self) -> i32 {
        i32::try_from(self.duration.as_secs()).unwrap_or(i32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn defaults_follow_the_lease() {
        let t = LeaseTimings::new(secs(15), None).unwrap();
        assert_eq!((t.renew_deadline, t.retry_period, t.request_timeout), (secs(10), secs(2), secs(5)));
        assert_eq!(t.duration_seconds(), 15);
        let short = LeaseTimings::new(secs(3), None).unwrap();
        assert_eq!(short.renew_deadline, secs(2));
        assert!(short.retry_period < short.request_timeout && short.request_timeout < short.renew_deadline);
    }

    #[test]
    fn a_deadline_as_long_as_the_lease_is_refused() {
        assert!(LeaseTimings::new(secs(15), Some(secs(12))).is_ok());
        let refused = LeaseTimings::new(secs(15), Some(secs(15))).unwrap_err();
        assert!(refused.to_string().contains("must be shorter than the lease duration"), "{refused}");
        assert!(LeaseTimings::new(secs(15), Some(Duration::ZERO)).is_err());
        assert!(LeaseTimings::new(Duration::from_millis(1500), None).is_err());
    }
}
