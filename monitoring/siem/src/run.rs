//! `makonis siem run`: the intake (syslog over TCP, TLS, UDP and RELP, JSON over HTTPS),
//! the store and the LogSources' status, against the cluster.
//!
//! One task per listener reads senders; one writer owns the store (appends, closes past
//! days, applies retention). Every `status_interval` this loop reads the LogSources and
//! RetentionPolicies from its watch cache and the API, publishes the claims the readers
//! use, and writes each LogSource's status (server-side apply, only when it changed).

use std::{collections::BTreeMap, future::Future, net::SocketAddr, sync::Arc, time::Duration};

use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use kube::{
    Api, Client, ResourceExt,
    api::ListParams,
    core::DeserializeGuard,
    runtime::{reflector, watcher},
};
use makonis_api::security::{ClusterDetectionRule, DetectionRule};
use makonis_api::security::{LogSource, LogSourceState, RetentionPolicy};
use makonis_operator_kit::{
    metrics::ReconcileMetrics, server::Readiness, status::apply_status_if_changed, watch, webhook::WebhookSettings,
};
use makonis_siem_core::{
    chain::SigningKey,
    claims::{Claims, Source},
    event::Event,
    retention::Policy,
    retention::SourceCategory,
    silence::parse_silence,
};
use makonis_siem_detect::{correlate::Config as CorrelationConfig, detect::Preparation, mapping::SHIPPED};
use tokio::{
    net::{TcpListener, UdpSocket},
    sync::{mpsc, watch as channel},
};

use crate::{
    detection::{
        RuleObject,
        alertmanager::{Alertmanager, AlertmanagerError},
        engine::{Engine, MatchCounts, RuleObjectSource},
        metrics::DetectionMetrics,
        review::review,
        status::rule_status,
        stream, webhook,
    },
    health::{figures_of, status},
    intake::{
        Batch, Intake, Stats, https,
        metrics::SiemMetrics,
        relp, tcp,
        tls::{self, Credentials, TlsError, TlsFiles},
        udp, writer,
    },
    own_events::state_change,
    portal_api,
    retention::{policy_status, to_policy},
    sources::to_source,
    store::{Backend, Store, StoreError},
};

pub use crate::MANAGER;

/// Stored batches waiting for the detection engine at most; beyond, storing waits.
const DETECTION_QUEUE: usize = 64;

/// How `makonis siem run` runs.
#[derive(Debug)]
pub struct Settings {
    /// The store.
    pub store: Backend,
    /// Syslog over TCP: where to listen.
    pub syslog_tcp: SocketAddr,
    /// Syslog over UDP: where to listen.
    pub syslog_udp: SocketAddr,
    /// RELP: where to listen.
    pub relp: SocketAddr,
    /// Syslog over TLS and JSON over HTTPS; none: neither is listened on.
    pub tls: Option<TlsIntake>,
    /// Batches waiting for the writer at most.
    pub queue_capacity: usize,
    /// Bytes of received records waiting for the writer at most.
    pub queue_bytes: usize,
    /// How often LogSources' claims and status are refreshed.
    pub status_interval: Duration,
    /// How often past days are closed, open days signed so far and retention applied.
    pub maintenance_interval: Duration,
    /// How long after its day (UTC) a partition is closed.
    pub lateness: SignedDuration,
    /// The platform's namespace (its LogSources may claim platform senders).
    pub platform_namespace: String,
    /// Where the admission webhook for detection rules is served; none: not served.
    pub webhook: Option<WebhookSettings>,
    /// What every event goes through before the detection rules: the logsource mapping
    /// and the calendar of working time.
    pub preparation: Preparation,
    /// Correlation's allowed lateness and bounds.
    pub correlation: CorrelationConfig,
    /// Where alerts are sent besides the store and the log: an Alertmanager,
    /// `http://host:port`.
    pub alertmanager: Option<String>,
    /// How long after its last firing an alert takes the repeats of its rule and group.
    pub alert_suppression: SignedDuration,
}

/// The intakes that identify senders by client certificate.
#[derive(Debug, Clone)]
pub struct TlsIntake {
    /// Syslog over TLS (RFC 5425): where to listen.
    pub syslog: SocketAddr,
    /// JSON over HTTPS: where to listen.
    pub https: SocketAddr,
    /// The server's certificate and the client CA.
    pub files: TlsFiles,
}

/// What `makonis siem run` counts: its API writes, the intake and the store, detection.
#[derive(Clone)]
pub struct RunMetrics {
    /// Status writes to the API server.
    pub reconcile: ReconcileMetrics,
    /// The intake and the store.
    pub intake: SiemMetrics,
    /// The detection engine.
    pub detection: DetectionMetrics,
}

/// Why the SIEM stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store could not be opened.
    #[error("opening the store: {0}")]
    Store(#[from] StoreError),
    /// The writer stopped abnormally (a panic): what it held may not be stored.
    #[error("the store's writer failed: {0}")]
    Writer(String),
    /// The TLS intake's credentials cannot be used.
    #[error("the TLS intake's credentials: {0}")]
    Tls(#[from] TlsError),
    /// The Alertmanager URL cannot be used.
    #[error(transparent)]
    Alertmanager(#[from] AlertmanagerError),
    /// A listener could not be bound.
    #[error("listening on {address}: {source}")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs until `shutdown` completes, then stops the readers and lets the writer store
/// everything already received.
pub async fn run(
    settings: Settings,
    signer: SigningKey,
    client: Client,
    metrics: RunMetrics,
    readiness: Readiness,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RunError> {
    let RunMetrics { reconcile: metrics, intake: siem_metrics, detection: detection_metrics } = metrics;
    let public_key = signer.public_key();
    let store = Store::open(settings.store.clone(), signer).await?;
    let listen_error = |address| move |source| RunError::Listen { address, source };
    let tcp_listener = TcpListener::bind(settings.syslog_tcp).await.map_err(listen_error(settings.syslog_tcp))?;
    let udp_socket = UdpSocket::bind(settings.syslog_udp).await.map_err(listen_error(settings.syslog_udp))?;
    let relp_listener = TcpListener::bind(settings.relp).await.map_err(listen_error(settings.relp))?;
    let mut tls_intake = None;
    if let Some(tls) = &settings.tls {
        let credentials = Credentials::load(tls.files.clone())?;
        let syslog = TcpListener::bind(tls.syslog).await.map_err(listen_error(tls.syslog))?;
        let https = TcpListener::bind(tls.https).await.map_err(listen_error(tls.https))?;
        tls_intake = Some((syslog, https, credentials));
    }
    tracing::info!(
        tcp = %settings.syslog_tcp,
        udp = %settings.syslog_udp,
        relp = %settings.relp,
        tls = ?settings.tls.as_ref().map(|tls| tls.syslog),
        https = ?settings.tls.as_ref().map(|tls| tls.https),
        store = %settings.store,
        "receiving security logs"
    );

    let (claims_tx, claims_rx) = channel::channel(Arc::new(Claims::default()));
    let (policies_tx, policies_rx) = channel::channel(Vec::<Policy>::new());
    let (runs_tx, runs_rx) = channel::channel(None);
    let (queue_tx, queue_rx) = mpsc::channel(settings.queue_capacity);
    let stats = Arc::new(Stats::default());
    siem_metrics.queue_capacity.set(i64::try_from(settings.queue_capacity).unwrap_or(i64::MAX));
    stats.export(siem_metrics.clone());
    // The SIEM's own events go through the writer too; this sender is dropped with the
    // readers', so that the writer ends once they have all gone.
    let own_tx = queue_tx.clone();
    let intake = Intake::new(claims_rx, queue_tx, settings.queue_bytes, stats.clone());
    let maintenance = writer::Maintenance {
        every: settings.maintenance_interval,
        lateness: settings.lateness,
        policies: policies_rx,
        runs: runs_tx,
    };
    let (detection_tx, detection_rx) = mpsc::channel(DETECTION_QUEUE);
    let (objects_tx, objects_rx) = channel::channel(Arc::new(Vec::<RuleObjectSource>::new()));
    let counts = Arc::new(MatchCounts::default());
    let mut engine = Engine::new(
        settings.preparation.clone(),
        settings.correlation,
        counts.clone(),
        Some(detection_metrics.clone()),
    );
    if let Some(url) = &settings.alertmanager {
        engine = engine.with_alertmanager(Alertmanager::start(url, Some(detection_metrics))?);
    }
    let detection =
        tokio::spawn(stream::run(engine, settings.store.clone(), settings.alert_suppression, detection_rx, objects_rx));
    let writer = tokio::spawn(writer::run(store, queue_rx, stats.clone(), Some(maintenance), Some(detection_tx)));

    let sources_api: Api<DeserializeGuard<LogSource>> = Api::all(client.clone());
    let (cache, watch_stream) = watch::cached_guarded(
        sources_api,
        watcher::Config::default(),
        reflector::store::Writer::default(),
        |invalid| tracing::warn!(name = %invalid.metadata.name.clone().unwrap_or_default(), error = %invalid.error, "a LogSource cannot be read and is ignored"),
    );
    let driver = tokio::spawn(watch::drain(watch_stream.boxed()));
    tokio::pin!(shutdown);
    // Readers start once the claims are known: anything received before would be
    // quarantined as unclaimed (and acknowledged, over RELP) though its LogSource exists.
    let ready = async {
        while cache.wait_until_ready().await.is_err() {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    tokio::select! {
        () = ready => {}
        () = &mut shutdown => {
            driver.abort();
            return Ok(());
        }
    }
    publish_claims(&cache.state(), &settings.platform_namespace, &claims_tx);
    // Each source's figures go on from its status, so a restart does not reset them.
    for object in cache.state() {
        if let Some(status) = &object.status {
            stats.seed(&object.id(), figures_of(status));
        }
    }
    let mut readers = vec![
        tokio::spawn(tcp::serve(tcp_listener, intake.clone())),
        tokio::spawn(udp::serve(udp_socket, intake.clone())),
    ];
    let mut credentials = None;
    if let Some((syslog, https_listener, loaded)) = tls_intake {
        readers.push(tokio::spawn(tls::serve(syslog, loaded.subscribe(), intake.clone())));
        let reader = portal_api::Reader {
            store: settings.store.clone(),
            public_key: Arc::new(public_key.clone()),
            platform_namespace: settings.platform_namespace.clone(),
            metrics: Some(siem_metrics.clone()),
        };
        let routes = portal_api::routes(reader);
        readers.push(tokio::spawn(https::serve_with(https_listener, loaded.subscribe(), intake.clone(), routes)));
        credentials = Some(loaded);
    }
    readers.push(tokio::spawn(relp::serve(relp_listener, intake)));
    if let Some(webhook_settings) = settings.webhook.clone() {
        let client = client.clone();
        readers.push(tokio::spawn(async move {
            if let Err(error) = webhook::run(client, webhook_settings).await {
                tracing::error!(%error, "the admission webhook for detection rules stopped; changes to detection rules are refused until the SIEM is restarted");
            }
        }));
    }
    let refresh = async {
        let mut last_states = BTreeMap::new();
        let mut tick = tokio::time::interval(settings.status_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match credentials.as_mut().map(Credentials::refresh) {
                Some(Ok(true)) => {
                    tracing::info!("the TLS intake's certificate changed; new connections use the new one")
                }
                Some(Err(error)) => {
                    tracing::warn!(%error, "the TLS intake's changed credentials cannot be used; the previous ones stay in use")
                }
                Some(Ok(false)) | None => {}
            }
            let objects = cache.state();
            let refused = publish_claims(&objects, &settings.platform_namespace, &claims_tx);
            readiness.set(true);
            let states = write_statuses(&client, &objects, &refused, &stats, &metrics).await;
            report_state_changes(&last_states, &states, &settings.platform_namespace, &own_tx).await;
            last_states = states;
            let rule_objects = write_rule_statuses(&client, &counts, &metrics).await;
            objects_tx.send_replace(Arc::new(rule_objects));
            let api = Api::<RetentionPolicy>::all(client.clone());
            match api.list(&ListParams::default()).await {
                Ok(list) => {
                    let used: Vec<_> = list.items.iter().map(to_policy).collect();
                    let run = runs_rx.borrow().clone();
                    for (object, used) in list.items.iter().zip(&used) {
                        if let Err(error) = used {
                            tracing::warn!(policy = %object.name_any(), %error, "a RetentionPolicy is ignored");
                        }
                        let existing = object.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default();
                        let desired = policy_status(object, used, run.as_ref(), Timestamp::now(), existing);
                        if let Err(error) =
                            apply_status_if_changed(&api, object, object.status.as_ref(), &desired, MANAGER, &metrics)
                                .await
                        {
                            tracing::warn!(policy = %object.name_any(), %error, "writing a RetentionPolicy's status failed; retried on the next round");
                        }
                    }
                    policies_tx.send_replace(used.into_iter().filter_map(Result::ok).collect());
                }
                Err(error) => {
                    tracing::warn!(%error, "listing RetentionPolicies failed; the previous ones stay in force")
                }
            }
        }
    };
    tokio::select! {
        () = refresh => {}
        () = &mut shutdown => {}
    }
    readiness.set(false);
    drop(own_tx);
    driver.abort();
    for reader in readers {
        reader.abort();
        let _ = reader.await;
    }
    // Every sender of the queue is gone (the readers' connections with them): the writer
    // stores what is queued and returns.
    writer.await.map_err(|error| RunError::Writer(error.to_string()))?;
    // The writer has gone and with it the engine's queue: the engine evaluates what was
    // stored and returns.
    let _ = detection.await;
    tracing::info!("the SIEM stopped; everything received is stored and evaluated");
    Ok(())
}

/// Publishes the claims of every LogSource; returns why each refused one is refused.
fn publish_claims(
    objects: &[Arc<LogSource>],
    platform_namespace: &str,
    claims_tx: &channel::Sender<Arc<Claims>>,
) -> BTreeMap<String, Vec<String>> {
    let mut refused: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut sources: Vec<Source> = Vec::new();
    for object in objects {
        match to_source(object, platform_namespace) {
            Ok(source) => sources.push(source),
            Err(reason) => refused.entry(object.id()).or_default().push(reason),
        }
    }
    let (claims, conflicts) = Claims::new(sources);
    for conflict in conflicts {
        refused.entry(conflict.source).or_default().push(conflict.message);
    }
    claims_tx.send_replace(Arc::new(claims));
    refused
}

/// Compiles every DetectionRule and ClusterDetectionRule and writes its status where it
/// changed (compiled or why not, its rules, the mapping version, its matches); returns
/// them as the detection engine takes them.
async fn write_rule_statuses(
    client: &Client,
    counts: &MatchCounts,
    metrics: &ReconcileMetrics,
) -> Vec<RuleObjectSource> {
    let namespaced = |object: &DetectionRule| Api::namespaced(client.clone(), &object.namespace().unwrap_or_default());
    let agency_rules =
        write_rule_statuses_of(&Api::<DetectionRule>::all(client.clone()), namespaced, counts, metrics).await;
    let cluster: Api<ClusterDetectionRule> = Api::all(client.clone());
    let platform_rules = write_rule_statuses_of(&cluster, |_| cluster.clone(), counts, metrics).await;
    agency_rules
        .iter()
        .map(DetectionRule::source)
        .chain(platform_rules.iter().map(ClusterDetectionRule::source))
        .collect()
}

/// [`write_rule_statuses`] for one kind: `list` lists them, `api_of` writes one's status.
/// Returns the objects listed (none when listing failed: the engine keeps what it had
/// only until the next round that lists them).
async fn write_rule_statuses_of<K: RuleObject>(
    list: &Api<K>,
    api_of: impl Fn(&K) -> Api<K>,
    counts: &MatchCounts,
    metrics: &ReconcileMetrics,
) -> Vec<K> {
    let objects = match list.list(&ListParams::default()).await {
        Ok(objects) => objects.items,
        Err(error) => {
            tracing::warn!(kind = K::KIND, %error, "listing detection rules failed; their status is written next round");
            return Vec::new();
        }
    };
    let now = Timestamp::now();
    for object in &objects {
        let key = object.key();
        let added = counts.take(&key);
        let desired = rule_status(
            &review(&object.rule().sigma),
            SHIPPED.version,
            object.meta().generation,
            object.rule_status(),
            added,
            now,
        );
        if let Err(error) =
            apply_status_if_changed(&api_of(object), object, object.rule_status(), &desired, MANAGER, metrics).await
        {
            counts.give_back(&key, added);
            tracing::warn!(kind = K::KIND, rule = %object.name_any(), %error, "writing a detection rule's status failed; retried on the next round");
        }
    }
    objects
}

/// Writes each LogSource's status where it changed, and counts them by state; returns
/// each one's state and silence.
async fn write_statuses(
    client: &Client,
    objects: &[Arc<LogSource>],
    refused: &BTreeMap<String, Vec<String>>,
    stats: &Stats,
    metrics: &ReconcileMetrics,
) -> BTreeMap<String, (LogSourceState, SignedDuration)> {
    let mut found = BTreeMap::new();
    let now = Timestamp::now();
    let mut states: BTreeMap<&str, usize> = ["Waiting", "Receiving", "Silent", "Refused"].map(|s| (s, 0)).into();
    for object in objects {
        let id = object.id();
        let silence = parse_silence(&object.spec.silence_after).unwrap_or(SignedDuration::from_mins(15));
        let existing = object.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default();
        let desired = status(
            &stats.source(&id),
            refused.get(&id).map(Vec::as_slice).unwrap_or_default(),
            silence,
            now,
            existing,
            object.metadata.generation,
        );
        let state = match (refused.contains_key(&id), desired.state) {
            (true, _) => "Refused",
            (false, Some(LogSourceState::Receiving)) => "Receiving",
            (false, Some(LogSourceState::Silent)) => "Silent",
            (false, _) => "Waiting",
        };
        *states.entry(state).or_default() += 1;
        if let Some(state) = desired.state {
            found.insert(id.clone(), (state, silence));
        }
        let api: Api<LogSource> = Api::namespaced(client.clone(), &object.namespace().unwrap_or_default());
        if let Err(error) =
            apply_status_if_changed(&api, object.as_ref(), object.status.as_ref(), &desired, MANAGER, metrics).await
        {
            tracing::warn!(source = %id, %error, "writing a LogSource's status failed; retried on the next round");
        }
    }
    if let Some(metrics) = stats.metrics() {
        metrics.sources(&states.into_iter().collect::<Vec<_>>());
    }
    found
}

/// Stores the SIEM's own events of LogSources that went silent or send again since the
/// last round, through the writer like any other events.
async fn report_state_changes(
    before: &BTreeMap<String, (LogSourceState, SignedDuration)>,
    now_states: &BTreeMap<String, (LogSourceState, SignedDuration)>,
    platform_namespace: &str,
    queue: &mpsc::Sender<Batch>,
) {
    let now = Timestamp::now();
    let events: Vec<(Event, SourceCategory)> = now_states
        .iter()
        .filter_map(|(id, (state, silence))| {
            let agency = id.strip_prefix("agency-").and_then(|rest| rest.split('/').next());
            let event =
                state_change(id, agency, before.get(id).map(|(s, _)| *s), *state, *silence, platform_namespace, now)?;
            Some((event, SourceCategory::PlatformAudit))
        })
        .collect();
    if !events.is_empty() && queue.send(Batch { events, ..Batch::default() }).await.is_err() {
        tracing::warn!("the writer has stopped: the SIEM's own events of silent sources are not stored");
    }
}
