//! The portal's one state: storage, the cluster view, configuration and the few shared
//! mutable parts. Handlers and the background worker receive it explicitly.

use std::{collections::BTreeMap, sync::RwLock, time::Duration};

use makonis_slo::ledger::Ledger;
use tokio::sync::{Notify, Semaphore};

use crate::{
    cluster::ClusterView,
    identity::{
        access::PlatformGroups, ldap::DirectoryConfig, metrics::IdentityMetrics, ratelimit::LoginLimits,
        role_groups::RoleGroupDns,
    },
    store::Store,
    web::{client_address::TrustedProxies, live::LiveStreams},
};

/// How the portal is set up.
#[derive(Debug, Clone)]
pub struct PortalConfig {
    /// The directory users sign in against; `None` for local accounts only.
    pub directory: Option<DirectoryConfig>,
    /// The groups that hold the platform roles.
    pub platform_groups: PlatformGroups,
    /// How often the role groups' names are resolved to DNs again, and the domain's
    /// password policy the password form shows is read again.
    pub group_refresh: Duration,
    /// How long a session lasts.
    pub session_ttl: Duration,
    /// Whether cookies carry `Secure` and the `__Host-` prefix (off only for plain-HTTP
    /// development).
    pub secure_cookies: bool,
    /// How many sign-in attempts are allowed.
    pub login: LoginLimits,
    /// How many passwords are checked (argon2) at once.
    pub password_checks: usize,
    /// How long an API token's or session's owner, once checked, is believed before they
    /// are looked up again.
    pub identity_recheck: Duration,
    /// Which proxies' forwarding headers give the client's address.
    pub trusted_proxies: TrustedProxies,
    /// How many live status streams one user may have open at once (per replica).
    pub live_streams_per_user: usize,
    /// How often an open live stream checks that its viewer may still see it.
    pub live_recheck: Duration,
    /// Labels put on every instance the portal applies, e.g. to hand them to a catalog
    /// operator started with `--instance-selector`.
    pub instance_labels: BTreeMap<String, String>,
    /// The availability the platform's own services promise together each month, in
    /// percent: the SLA report measures the platform against it.
    pub sla_platform_target_percent: f64,
    /// The DNS domain instances are named under (the catalog operator's `platform.appsDomain`):
    /// host names in orders must lie under `<agency>.<apps_domain>` or the agency's own domains.
    pub apps_domain: String,
    /// The SIEM the audit trail is shipped to and the Security pages search; `None`: the
    /// trail is not shipped and the Security pages say the log store is not connected.
    pub siem: Option<crate::siem::SiemSink>,
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
                security: "Makonis-Platform-Security".into(),
            },
            group_refresh: Duration::from_secs(300),
            session_ttl: Duration::from_secs(8 * 3600),
            secure_cookies: true,
            login: LoginLimits::default(),
            password_checks: std::thread::available_parallelism().map_or(2, |n| n.get().min(8)),
            identity_recheck: Duration::from_secs(300),
            trusted_proxies: TrustedProxies::default(),
            live_streams_per_user: 8,
            live_recheck: Duration::from_secs(30),
            instance_labels: BTreeMap::new(),
            sla_platform_target_percent: SLA_PLATFORM_TARGET_PERCENT,
            apps_domain: "apps.makonis.lv".into(),
            siem: None,
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
    /// The role groups' DNs, as last resolved from their names.
    pub role_groups: RwLock<RoleGroupDns>,
    /// Permits for password checks (argon2) running at once.
    pub password_checks: Semaphore,
    /// The identity layer's metrics.
    pub identity_metrics: IdentityMetrics,
    /// The domain's password policy, as the password form last read it.
    pub password_policy: crate::identity::policy::PolicyCache,
    /// Shipping the audit trail to the SIEM (zero while it is not shipped).
    pub audit_shipping: crate::siem::ship::ShippingMetrics,
    /// Opening security incidents from the SIEM's alerts (zero without a SIEM).
    pub incident_feed: crate::siem::incidents::IncidentFeedMetrics,
    /// Open live streams per user.
    pub live_streams: LiveStreams,
    /// Wakes the worker when a request was granted.
    pub granted: Notify,
}

impl Context {
    /// A context over `store` and `view`.
    pub fn new(store: Store, view: ClusterView, client: Option<kube::Client>, config: PortalConfig) -> Self {
        let ledger = Ledger::new(store.pool().clone());
        let role_groups = RwLock::new(RoleGroupDns::new(config.directory.as_ref().map(|d| d.group_base.as_str())));
        Self {
            store,
            view,
            client,
            ledger,
            role_groups,
            password_checks: Semaphore::new(config.password_checks.max(1)),
            identity_metrics: IdentityMetrics::new().expect("the identity metrics register once in their own registry"),
            password_policy: Default::default(),
            audit_shipping: crate::siem::ship::ShippingMetrics::new()
                .expect("the shipping metrics register once in their own registry"),
            incident_feed: crate::siem::incidents::IncidentFeedMetrics::new()
                .expect("the incident feed's metrics register once in their own registry"),
            live_streams: LiveStreams::new(config.live_streams_per_user),
            config,
            granted: Notify::new(),
        }
    }
}
