//! The identity layer's metrics: credential checks, throttled sign-ins, re-checks of tokens
//! and sessions, live streams, password changes. Labels are bounded (fixed words, never a user or address).

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

/// Counters of the identity layer, in a registry of their own that `/metrics` gathers too.
pub struct IdentityMetrics {
    registry: Registry,
    /// Passwords checked, by `method` (`local`, `decoy`, `directory`).
    pub password_checks: IntCounterVec,
    /// Sign-in attempts refused before any password check, by the full counter's `scope`.
    pub sign_ins_throttled: IntCounterVec,
    /// Re-checks of a token's or session's owner, by `credential` and `outcome`
    /// (`current`, `gone`, `unavailable`).
    pub rechecks: IntCounterVec,
    /// Open live (server-sent event) streams.
    pub live_streams: IntGauge,
    /// Password changes asked of the directory, by `outcome` (`changed`, a refusal's code,
    /// `invalid_credentials`, `unavailable`).
    pub password_changes: IntCounterVec,
}

impl IdentityMetrics {
    /// Creates the metrics in a fresh registry.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let password_checks = IntCounterVec::new(
            Opts::new("makonis_portal_password_checks_total", "Passwords checked at sign-in, by method"),
            &["method"],
        )?;
        let sign_ins_throttled = IntCounterVec::new(
            Opts::new(
                "makonis_portal_sign_ins_throttled_total",
                "Sign-in attempts refused before any password check, by the counter that was full",
            ),
            &["scope"],
        )?;
        let rechecks = IntCounterVec::new(
            Opts::new(
                "makonis_portal_identity_rechecks_total",
                "Re-checks of the owner of a token or session against the directory or the local accounts",
            ),
            &["credential", "outcome"],
        )?;
        let live_streams = IntGauge::new("makonis_portal_live_streams", "Open live status streams")?;
        let password_changes = IntCounterVec::new(
            Opts::new(
                "makonis_portal_password_changes_total",
                "People's changes of their own directory password, by outcome",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(password_checks.clone()))?;
        registry.register(Box::new(sign_ins_throttled.clone()))?;
        registry.register(Box::new(rechecks.clone()))?;
        registry.register(Box::new(live_streams.clone()))?;
        registry.register(Box::new(password_changes.clone()))?;
        Ok(Self { registry, password_checks, sign_ins_throttled, rechecks, live_streams, password_changes })
    }

    /// The current values, for `/metrics`.
    pub fn gather(&self) -> Vec<prometheus::proto::MetricFamily> {
        self.registry.gather()
    }
}
