//! What the engine's parts share: the [`Context`], the field manager, object keys.

use std::sync::Arc;

use kube::{Client, Resource, ResourceExt};
use makonis_api::tenancy::code_of_namespace;
use makonis_operator_kit::{events::EventPublisher, metrics::ReconcileMetrics};
use makonis_slo_core::HolidayCalendar;
use tokio::sync::Notify;

use crate::{
    caches::Caches, config::EngineConfig, ledger::Ledger, metrics::SloMetrics, probe::Prober, targets::AgencyGuard,
    world::ClusterWorld,
};

/// The field manager of every write the engine makes.
pub const MANAGER: &str = "makonis-slo";

/// A namespaced object's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl ObjectKey {
    /// The key of `object`.
    pub fn of<K: Resource>(object: &K) -> Self {
        Self { namespace: object.meta().namespace.clone().unwrap_or_default(), name: object.name_any() }
    }
}

/// Everything the engine's parts share.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// The settings.
    pub config: EngineConfig,
    /// The SLA ledger.
    pub ledger: Ledger,
    /// Runs probe checks.
    pub prober: Prober,
    /// The engine's metrics.
    pub metrics: SloMetrics,
    /// Status write counts (shared with the operators' metrics).
    pub reconcile: ReconcileMetrics,
    /// Kubernetes Events.
    pub events: EventPublisher,
    /// The Latvian calendar with the declared days off and working days.
    pub calendar: HolidayCalendar,
    /// The watch caches.
    pub caches: Caches,
    /// What the checks of agency probes read (the caches' agencies and Services).
    pub world: Arc<ClusterWorld>,
    /// Asks for an evaluation soon (an outage opened or closed).
    pub kick: Notify,
}

impl Context {
    /// The limits of the probes of `namespace`: an agency's probes get a guard; the
    /// platform's own (any other namespace) run unlimited.
    pub fn guard_for(&self, namespace: &str) -> Option<AgencyGuard> {
        code_of_namespace(namespace).map(|_| AgencyGuard { namespace: namespace.to_owned(), world: self.world.clone() })
    }
}
