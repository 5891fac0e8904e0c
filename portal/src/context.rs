//! The portal's one state: storage, the cluster view, configuration and the few shared
//! mutable parts. Handlers and the background worker receive it explicitly.

use std::{collections::BTreeMap, sync::Mutex, time::Duration};

use makonis_slo::ledger::Ledger;
use tokio::sync::Notify;

use crate::{
    cluster::ClusterView,
    identity::{access::PlatformGroups, ldap::DirectoryConfig, ratelimit::LoginLimiter},
    store::Store,
};

/// How the portal is set up.
#[derive(Debug, Clone)]
pub struct PortalConfig {
    /// The directory users sign in against; `None` for local accounts only.
    pub directory: Option<DirectoryConfig>,
    /// The groups that hold the platform roles.
    pub platform_groups: PlatformGroups,
    /// How long a session lasts.
    pub session_ttl: Duration,
    /// Whether cookies carry `Secure` (off only for plain-HTTP development).
    pub secure_cookies: bool,
    /// Failed sign-ins allowed per address and per username in `login_window`.
    pub login_max_failures: usize,
    /// The sliding window of the sign-in limit.
    pub login_window: Duration,
    /// Labels put on every instance the portal applies, e.g. to hand them to a catalog
    /// operator started with `--instance-selector`.
    pub instance_labels: BTreeMap<String, String>,
    /// The availability the platform's own services promise together each month, in
    /// percent: the SLA report measures the platform against it.
    pub sla_platform_target_percent: f64,
    /// The DNS domain instances are named under (the catalog operator's `platform.appsDomain`):
    /// host names in orders must lie under `<agency>.<apps_domain>` or the agency's own domains.
    pub apps_domain: String,
}

/// The platform's availability target by default: 97 % a month, the sector's target for
/// its central infrastructure.
pub const SLA_PLATFORM_TARGET_PERCENT: f64 = 97.0;

impl Default for PortalConfig {
    fn default() -> Self {
        Self {
            directory: None,
            platform_groups: PlatformGroups {
                admins: "Makonis-Platform-Admins".into(),
                operators: "Makonis-Platform-Operators".into(),
            },
            session_ttl: Duration::from_secs(8 * 3600),
            secure_cookies: true,
            login_max_failures: 5,
            login_window: Duration::from_secs(300),
            instance_labels: BTreeMap::new(),
            sla_platform_target_percent: SLA_PLATFORM_TARGET_PERCENT,
            apps_domain: "apps.makonis.lv".into(),
        }
    }
}

/// Everything a handler or the worker needs.
pub struct Context {
    /// SQL storage.
    pub store: Store,
    /// The SLA ledger (objectives, outages, incidents), in the same database.
    pub ledger: Ledger,
    /// Agencies, items and instances.
    pub view: ClusterView,
    /// The Kubernetes client the worker applies with; `None` when the portal runs without
    /// a cluster (handler tests): granted requests then wait in `approved`.
    pub client: Option<kube::Client>,
    /// Configuration.
    pub config: PortalConfig,
    /// Sign-in failures.
    pub limiter: Mutex<LoginLimiter>,
    /// Wakes the worker when a request was granted.
    pub granted: Notify,
}

impl Context {
    /// A context over `store` and `view`.
    pub fn new(store: Store, view: ClusterView, client: Option<kube::Client>, config: PortalConfig) -> Self {
        let limiter = LoginLimiter::new(config.login_max_failures, config.login_window.as_millis() as i64);
        let ledger = Ledger::new(store.pool().clone());
        Self { store, view, client, config, ledger, limiter: Mutex::new(limiter), granted: Notify::new() }
    }
}
