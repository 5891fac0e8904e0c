//! The engine: the watches of objectives and probes, the probe
//! runners and the evaluation loop, until told to stop.

use std::{collections::HashMap, sync::Arc, time::Duration};

use kube::Client;
use makonis_operator_kit::{events::EventPublisher, metrics::ReconcileMetrics};
use tokio::sync::{Notify, Semaphore, watch};

use crate::{
    caches::Caches,
    config::EngineConfig,
    context::{Context, MANAGER, ObjectKey},
    evaluate::Evaluator,
    ledger::Ledger,
    metrics::SloMetrics,
    probe::{Prober, ProberConfig},
    prometheus_rules::{Applied, sync_rules},
    runner::{ResumedOutage, Runners},
    undecodable::UndecodableReport,
    world::ClusterWorld,
};

/// How often the probe tasks are matched to the cached probes.
const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// How often PrometheusRules are brought up to date.
const RULES_INTERVAL: Duration = Duration::from_secs(60);

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A CA file for HTTPS probes could not be read.
    #[error(transparent)]
    Prober(#[from] crate::probe::ProberError),
    /// The ledger could not be read at start-up.
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
}

/// The engine, built but not yet running.
pub struct Engine {
    ctx: Arc<Context>,
    watches: Vec<futures::future::BoxFuture<'static, ()>>,
}

impl Engine {
    /// Builds the engine: its prober, caches and ledger.
    pub fn new(
        client: Client,
        config: EngineConfig,
        ledger: Ledger,
        metrics: SloMetrics,
        reconcile: ReconcileMetrics,
    ) -> Result<Self, EngineError> {
        let prober = Prober::new(ProberConfig {
            extra_ca_files: config.extra_ca_files.clone(),
            resolve: config.resolve.clone(),
        })?;
        let (caches, drive_caches) = Caches::watch(&client);
        let world = Arc::new(ClusterWorld {
            rules: config.targets.clone(),
            agencies: caches.agencies.clone(),
            services: caches.services.clone(),
        });
        let ctx = Arc::new(Context {
            events: EventPublisher::new(client.clone(), MANAGER, None),
            calendar: config.calendar.clone(),
            client,
            config,
            ledger,
            prober,
            metrics,
            reconcile,
            caches,
            world,
            kick: Notify::new(),
        });
        Ok(Self { ctx, watches: vec![drive_caches] })
    }

    /// Runs until `stop` turns true: probes, evaluations and PrometheusRules.
    pub async fn run(self, mut stop: watch::Receiver<bool>) -> Result<(), EngineError> {
        let ctx = self.ctx;
        let watches = tokio::spawn(futures::future::join_all(self.watches));
        tokio::select! {
            () = ctx.caches.wait_until_ready() => {}
            _ = stop.wait_for(|s| *s) => { watches.abort(); return Ok(()); }
        }
        ctx.ledger.set_calendar(&ctx.calendar).await?;
        let mut resumed: HashMap<_, _> = HashMap::new();
        for outage in ctx.ledger.open_outages().await? {
            ctx.metrics.resume_outage(&crate::spec::agency_of(&outage.namespace));
            let key = ObjectKey { namespace: outage.namespace, name: outage.probe };
            resumed.insert(key, ResumedOutage { id: outage.id, started_at: outage.started_at });
        }
        tracing::info!(resumed = resumed.len(), "SLO engine running");
        let semaphore = Arc::new(Semaphore::new(ctx.config.max_concurrent_probes.max(1)));
        let mut runners = Runners::default();
        let evaluation = tokio::spawn(evaluate_forever(ctx.clone()));
        let rules = tokio::spawn(rules_forever(ctx.clone()));
        runners.sync(&ctx, &semaphore, &mut resumed);
        close_orphaned_outages(&ctx, resumed).await;
        let mut ticker = tokio::time::interval(SYNC_INTERVAL);
        let mut undecodable = UndecodableReport::default();
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    runners.sync(&ctx, &semaphore, &mut HashMap::new());
                    report_undecodable(&ctx, &mut undecodable).await;
                }
                _ = stop.wait_for(|s| *s) => break,
            }
        }
        runners.stop();
        evaluation.abort();
        rules.abort();
        watches.abort();
        Ok(())
    }
}

/// Reports the watched objects the engine cannot decode (see [`crate::undecodable`]).
async fn report_undecodable(ctx: &Context, report: &mut UndecodableReport) {
    report.check(ctx, "Probe", &ctx.caches.probes).await;
    report.check(ctx, "ServiceLevelObjective", &ctx.caches.objectives).await;
    report.check(ctx, "Agency", &ctx.caches.agencies).await;
    report.check(ctx, "Service", &ctx.caches.services).await;
}

/// Closes the open outages of probes deleted while the engine was not running: nobody
/// will confirm their recovery. They close now, so the time until now still counts.
async fn close_orphaned_outages(ctx: &Context, orphans: HashMap<ObjectKey, ResumedOutage>) {
    let now = jiff::Timestamp::now().as_millisecond();
    for (key, outage) in orphans {
        match ctx.ledger.close_outage(&outage.id, now).await {
            Ok(()) => {
                ctx.metrics.record_outage(&crate::spec::agency_of(&key.namespace), false);
                tracing::warn!(
                    namespace = key.namespace,
                    probe = key.name,
                    outage = outage.id,
                    "closed the open outage of a deleted probe"
                );
            }
            Err(error) => tracing::warn!(%error, outage = outage.id, "cannot close the outage of a deleted probe"),
        }
    }
}

/// Evaluates every objective on the interval, and soon after an outage opens or closes.
async fn evaluate_forever(ctx: Arc<Context>) {
    let mut evaluator = Evaluator::default();
    loop {
        evaluator.pass(&ctx).await;
        tokio::select! {
            _ = tokio::time::sleep(ctx.config.evaluation_interval) => {}
            _ = ctx.kick.notified() => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Keeps the PrometheusRules in step with the objectives where the Prometheus Operator
/// is installed.
async fn rules_forever(ctx: Arc<Context>) {
    let mut ticker = tokio::time::interval(RULES_INTERVAL);
    let mut applied = Applied::default();
    loop {
        ticker.tick().await;
        sync_rules(&ctx, &mut applied).await;
    }
}
