//! The loop that ships the audit trail: read the rows after the sink's mark, post them,
//! move the mark once the SIEM confirmed them.

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

use super::{SiemSink, client, ecs};
use crate::store::Store;

/// The most rows posted in one batch.
pub const BATCH: i64 = 500;

/// The shipping's metrics, in a registry of their own that `/metrics` gathers too.
#[derive(Debug, Clone)]
pub struct ShippingMetrics {
    registry: Registry,
    shipped: IntCounter,
    failures: IntCounterVec,
    behind: IntGauge,
}

impl ShippingMetrics {
    /// New, zeroed metrics.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let shipped = IntCounter::new("makonis_portal_audit_shipped_total", "Audit rows the SIEM confirmed stored")?;
        let failures = IntCounterVec::new(
            Opts::new("makonis_portal_audit_shipping_failures_total", "Batches the SIEM did not confirm, by reason"),
            &["reason"],
        )?;
        let behind = IntGauge::new("makonis_portal_audit_shipping_behind", "Audit rows not yet confirmed by the SIEM")?;
        registry.register(Box::new(shipped.clone()))?;
        registry.register(Box::new(failures.clone()))?;
        registry.register(Box::new(behind.clone()))?;
        Ok(Self { registry, shipped, failures, behind })
    }

    /// Everything, for `/metrics`.
    pub fn gather(&self) -> Vec<prometheus::proto::MetricFamily> {
        self.registry.gather()
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Round {
    /// Rows the SIEM confirmed.
    pub shipped: u64,
    /// Rows still to ship after the round.
    pub behind: i64,
}

/// Ships every row after the sink's mark, batch by batch, until none is left or a batch
/// fails (the error; the mark stays at the last confirmed batch).
pub async fn round(store: &Store, sink: &SiemSink, metrics: &ShippingMetrics) -> Result<Round, RoundError> {
    let name = sink.url.as_str();
    let mut done = Round::default();
    loop {
        let mark = store.audit_shipped(name).await?;
        let head = store.audit_last_seq().await?;
        done.behind = head - mark;
        metrics.behind.set(done.behind);
        let rows = store.audit_after(mark, BATCH).await?;
        let Some(last) = rows.last().and_then(|r| r.seq) else {
            return Ok(done);
        };
        let records: Vec<serde_json::Value> = rows.iter().map(ecs::record).collect();
        let body = serde_json::to_vec(&records).map_err(|e| RoundError::Encode(e.to_string()))?;
        if let Err(error) = client::post(sink, body).await {
            metrics.failures.with_label_values(&[error.category()]).inc();
            return Err(RoundError::Ship(error));
        }
        store.mark_audit_shipped(name, last).await?;
        metrics.shipped.inc_by(rows.len() as u64);
        done.shipped += rows.len() as u64;
        done.behind = head - last;
        metrics.behind.set(done.behind.max(0));
    }
}

/// Why a round stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RoundError {
    /// The portal's database.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The SIEM did not confirm a batch.
    #[error(transparent)]
    Ship(client::ShipError),
    /// A batch could not be written as JSON.
    #[error("encoding a batch: {0}")]
    Encode(String),
}

/// Ships on the sink's interval until the task is stopped. Failures are logged (and
/// counted) and the rows tried again on the next round; the trail itself never waits.
pub async fn run(store: Store, sink: SiemSink, metrics: ShippingMetrics) {
    let mut tick = tokio::time::interval(sink.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match round(&store, &sink, &metrics).await {
            Ok(Round { shipped: 0, .. }) => {}
            Ok(done) => tracing::debug!(shipped = done.shipped, "audit rows shipped to the SIEM"),
            Err(error) => {
                tracing::warn!(%error, sink = %sink.url, "shipping the audit trail to the SIEM failed; retried on the next round")
            }
        }
    }
}
