//! Confirming a probe's failures and recoveries before they open or close an outage.
//!
//! A probe must fail `failure_threshold` times in a row before an outage opens, and
//! succeed `success_threshold` times in a row before it closes. The outage still starts
//! at the first failure of the confirming streak and ends at the first success of the
//! recovering one, so confirmation delays the record but does not shorten it.

use serde::{Deserialize, Serialize};

/// What the probe is confirmed to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProbeState {
    /// No streak confirmed yet (just started).
    Unknown,
    /// Confirmed up.
    Up,
    /// Confirmed down: an outage is open.
    Down,
}

/// What an observation changed, for the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Nothing to record.
    None,
    /// An outage opens, starting at the first failure of the streak.
    Down {
        /// The first failure of the confirming streak.
        since: i64,
        /// What the probe saw at the failure that confirmed it.
        cause: String,
    },
    /// The open outage closes at the first success of the streak.
    Up {
        /// The first success of the confirming streak.
        at: i64,
    },
}

/// A run of equal results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Streak {
    /// Whether the results were successes.
    ok: bool,
    /// When the first of them came.
    since: i64,
    /// How many came.
    count: u32,
}

/// The confirmation state machine of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmer {
    /// Failures in a row that confirm an outage.
    failure_threshold: u32,
    /// Successes in a row that confirm a recovery.
    success_threshold: u32,
    /// The confirmed state.
    state: ProbeState,
    /// The current run of equal results, if any.
    streak: Option<Streak>,
}

impl Confirmer {
    /// A probe in state `Unknown`; thresholds below 1 count as 1.
    pub fn new(failure_threshold: u32, success_threshold: u32) -> Self {
        Self {
            failure_threshold: failure_threshold.max(1),
            success_threshold: success_threshold.max(1),
            state: ProbeState::Unknown,
            streak: None,
        }
    }

    /// A probe whose outage since `since` is open in the ledger at start-up: it is `Down`
    /// and its failure streak continues from `since`.
    pub fn resume_down(failure_threshold: u32, success_threshold: u32, since: i64) -> Self {
        let mut confirmer = Self::new(failure_threshold, success_threshold);
        confirmer.state = ProbeState::Down;
        confirmer.streak = Some(Streak { ok: false, since, count: confirmer.failure_threshold });
        confirmer
    }

    /// The confirmed state.
    pub fn state(&self) -> ProbeState {
        self.state
    }

    /// Takes one probe result at `at` (`cause` describes a failure) and returns what
    /// changed. A result unlike the previous one starts a new streak.
    pub fn observe(&mut self, at: i64, ok: bool, cause: &str) -> Transition {
        let Streak { since, count, .. } = self.extend(at, ok);
        match self.state {
            ProbeState::Down if ok && count >= self.success_threshold => {
                self.state = ProbeState::Up;
                Transition::Up { at: since }
            }
            ProbeState::Unknown if ok && count >= self.success_threshold => {
                self.state = ProbeState::Up;
                Transition::None
            }
            ProbeState::Unknown | ProbeState::Up if !ok && count >= self.failure_threshold => {
                self.state = ProbeState::Down;
                Transition::Down { since, cause: cause.to_owned() }
            }
            _ => Transition::None,
        }
    }

    /// Adds the result to the current streak, or starts a new one, and returns it.
    fn extend(&mut self, at: i64, ok: bool) -> Streak {
        let streak = match self.streak {
            Some(streak) if streak.ok == ok => Streak { count: streak.count.saturating_add(1), ..streak },
            _ => Streak { ok, since: at, count: 1 },
        };
        self.streak = Some(streak);
        streak
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down(since: i64, cause: &str) -> Transition {
        Transition::Down { since, cause: cause.to_owned() }
    }

    #[test]
    fn failures_confirm_an_outage_from_the_first_failure() {
        let mut probe = Confirmer::new(3, 2);
        assert_eq!(probe.observe(10, true, ""), Transition::None);
        assert_eq!(probe.observe(20, true, ""), Transition::None);
        assert_eq!(probe.state(), ProbeState::Up);
        assert_eq!(probe.observe(30, false, "HTTP 503"), Transition::None);
        assert_eq!(probe.observe(40, false, "HTTP 503"), Transition::None);
        assert_eq!(probe.state(), ProbeState::Up);
        // The third failure confirms; the outage starts at the first, 30.
        assert_eq!(probe.observe(50, false, "timeout"), down(30, "timeout"));
        assert_eq!(probe.state(), ProbeState::Down);
        // Further failures change nothing.
        assert_eq!(probe.observe(60, false, "timeout"), Transition::None);
    }

    #[test]
    fn successes_confirm_a_recovery_from_the_first_success() {
        let mut probe = Confirmer::new(1, 3);
        assert_eq!(probe.observe(0, false, "refused"), down(0, "refused"));
        assert_eq!(probe.observe(10, true, ""), Transition::None);
        assert_eq!(probe.observe(20, true, ""), Transition::None);
        assert_eq!(probe.state(), ProbeState::Down);
        assert_eq!(probe.observe(30, true, ""), Transition::Up { at: 10 });
        assert_eq!(probe.state(), ProbeState::Up);
        assert_eq!(probe.observe(40, true, ""), Transition::None);
    }

    #[test]
    fn unknown_becomes_up_silently() {
        let mut probe = Confirmer::new(2, 2);
        assert_eq!(probe.state(), ProbeState::Unknown);
        assert_eq!(probe.observe(0, true, ""), Transition::None);
        assert_eq!(probe.state(), ProbeState::Unknown);
        assert_eq!(probe.observe(10, true, ""), Transition::None);
        assert_eq!(probe.state(), ProbeState::Up);
    }

    #[test]
    fn unknown_can_go_straight_down() {
        let mut probe = Confirmer::new(2, 2);
        assert_eq!(probe.observe(0, false, "DNS"), Transition::None);
        assert_eq!(probe.observe(10, false, "DNS"), down(0, "DNS"));
    }

    #[test]
    fn interleaved_results_reset_the_streak() {
        let mut probe = Confirmer::new(2, 2);
        probe.observe(0, true, "");
        probe.observe(10, true, "");
        // fail, ok, fail, ok: never two failures in a row.
        for at in [20, 40, 60] {
            assert_eq!(probe.observe(at, false, "503"), Transition::None);
            assert_eq!(probe.observe(at + 10, true, ""), Transition::None);
        }
        assert_eq!(probe.state(), ProbeState::Up);
        // Two in a row now: the outage starts at the first of these, 80.
        probe.observe(80, false, "503");
        assert_eq!(probe.observe(90, false, "503"), down(80, "503"));
        // A recovery interrupted by a failure starts counting again.
        probe.observe(100, true, "");
        probe.observe(110, false, "503");
        assert_eq!(probe.observe(120, true, ""), Transition::None);
        assert_eq!(probe.observe(130, true, ""), Transition::Up { at: 120 });
    }

    #[test]
    fn resumed_outage_closes_on_recovery() {
        let mut probe = Confirmer::resume_down(3, 2, 1_000);
        assert_eq!(probe.state(), ProbeState::Down);
        // Failures after the restart continue the outage without a new record.
        assert_eq!(probe.observe(2_000, false, "503"), Transition::None);
        assert_eq!(probe.observe(3_000, true, ""), Transition::None);
        assert_eq!(probe.observe(4_000, true, ""), Transition::Up { at: 3_000 });
    }

    #[test]
    fn thresholds_are_at_least_one() {
        let mut probe = Confirmer::new(0, 0);
        assert_eq!(probe.observe(5, false, "503"), down(5, "503"));
        assert_eq!(probe.observe(6, true, ""), Transition::Up { at: 6 });
    }
}
