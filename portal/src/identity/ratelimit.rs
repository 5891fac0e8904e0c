//! Sign-in rate limiting: failed attempts are counted per source address and per
//! username in a sliding window; past the limit, sign-in is refused until the oldest
//! failure leaves the window. Pure: the caller passes the time.

use std::collections::{HashMap, VecDeque};

/// Failure counts in a sliding window.
#[derive(Debug)]
pub struct LoginLimiter {
    window_ms: i64,
    max_failures: usize,
    failures: HashMap<String, VecDeque<i64>>,
}

impl LoginLimiter {
    /// At most `max_failures` failures per key within `window_ms`.
    pub fn new(max_failures: usize, window_ms: i64) -> Self {
        Self { window_ms, max_failures, failures: HashMap::new() }
    }

    fn keys(source_ip: &str, username: &str) -> [String; 2] {
        [format!("ip:{source_ip}"), format!("user:{}", username.to_lowercase())]
    }

    fn prune(&mut self, now: i64) {
        let window = self.window_ms;
        self.failures.retain(|_, times| {
            while times.front().is_some_and(|t| *t <= now - window) {
                times.pop_front();
            }
            !times.is_empty()
        });
    }

    /// Milliseconds until a sign-in from `source_ip` as `username` may be tried, or
    /// `None` when it may be tried now.
    pub fn blocked_for(&mut self, source_ip: &str, username: &str, now: i64) -> Option<i64> {
        self.prune(now);
        Self::keys(source_ip, username)
            .iter()
            .filter_map(|key| self.failures.get(key))
            .filter(|times| times.len() >= self.max_failures)
            .filter_map(|times| times.front().map(|oldest| oldest + self.window_ms - now))
            .max()
    }

    /// Counts a failed sign-in.
    pub fn failed(&mut self, source_ip: &str, username: &str, now: i64) {
        for key in Self::keys(source_ip, username) {
            self.failures.entry(key).or_default().push_back(now);
        }
    }

    /// Forgets the username's failures after a successful sign-in.
    pub fn succeeded(&mut self, username: &str) {
        self.failures.remove(&format!("user:{}", username.to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_block_the_username_and_the_address_until_the_window_passes() {
        let mut limiter = LoginLimiter::new(5, 60_000);
        for t in 0..5 {
            assert_eq!(limiter.blocked_for("10.0.0.1", "anna", t * 1000), None);
            limiter.failed("10.0.0.1", "anna", t * 1000);
        }
        assert_eq!(limiter.blocked_for("10.0.0.1", "anna", 5_000), Some(55_000));
        assert_eq!(limiter.blocked_for("10.0.0.2", "ANNA", 5_000), Some(55_000), "the username, from anywhere");
        assert_eq!(limiter.blocked_for("10.0.0.1", "janis", 5_000), Some(55_000), "the address, for anyone");
        assert_eq!(limiter.blocked_for("10.0.0.2", "janis", 5_000), None);
        assert_eq!(limiter.blocked_for("10.0.0.1", "anna", 60_000), None, "the oldest failure left the window");
    }

    #[test]
    fn a_success_forgets_the_usernames_failures() {
        let mut limiter = LoginLimiter::new(2, 60_000);
        limiter.failed("a", "anna", 0);
        limiter.succeeded("anna");
        limiter.failed("b", "anna", 1);
        assert_eq!(limiter.blocked_for("c", "anna", 2), None);
    }
}
