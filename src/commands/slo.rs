//! `makonis slo`: the SLO engine, and the export of objectives as OpenSLO.

use std::time::Duration;

use anyhow::Context as _;
use kube::{Api, api::ListParams, core::DeserializeGuard};
use makonis_api::slo::ServiceLevelObjective;
use makonis_operator_kit::{
    client::{ApiRequestMetrics, counted_client},
    crds::wait_for_crds,
    leader::LeaderElection,
    metrics::ReconcileMetrics,
    server::{OpsState, Readiness, serve},
    webhook::WebhookSettings,
};
use makonis_portal::store::Store;
use makonis_slo::{
    config::EngineConfig,
    context::MANAGER,
    engine::Engine,
    ledger::Ledger,
    metrics::SloMetrics,
    targets::{ForbiddenRanges, TargetRules},
};
use prometheus::Registry;
use tokio::sync::watch;

use crate::{
    cli::{SloArgs, SloCommand, SloExportArgs, SloRunArgs},
    commands::operator::{lease_timings, shutdown_signal, step_down},
};

/// The CRDs the engine reads.
const CRDS: [&str; 2] = ["servicelevelobjectives.slo.makonis.lv", "probes.slo.makonis.lv"];

/// Runs the chosen `makonis slo` subcommand.
pub async fn run(args: SloArgs) -> anyhow::Result<()> {
    match args.command {
        SloCommand::Run(args) => engine(*args).await,
        SloCommand::ExportOpenslo(args) => export(args).await,
    }
}

async fn client() -> anyhow::Result<kube::Config> {
    kube::Config::infer().await.context(
        "cannot build a Kubernetes client: set KUBECONFIG or run inside a cluster (tests/cluster/cluster.sh env prints the local one)",
    )
}

/// Starts the operations endpoint, opens the ledger, waits for the CRDs, takes the lease
/// when asked to, then runs the engine until SIGTERM or Ctrl-C (or the lease is lost).
async fn engine(args: SloRunArgs) -> anyhow::Result<()> {
    // A contradictory calendar stops the engine before it connects anywhere.
    let calendar = args.calendar.holidays().context("--extra-day-off and --extra-working-day")?;
    let registry = Registry::new();
    let reconcile = ReconcileMetrics::register(&registry)?;
    let metrics = SloMetrics::register(&registry)?;
    let readiness = Readiness::default();
    let ops = OpsState { registry: registry.clone(), readiness: readiness.clone() };
    let address = args.metrics_address;
    let server = tokio::spawn(async move { serve(address, ops).await });

    let store = Store::connect(&args.database_url)
        .await
        .with_context(|| format!("opening the SLA ledger in {}", redact(&args.database_url)))?;
    let ledger = Ledger::new(store.pool().clone());
    let kube_config = client().await?;
    let targets = TargetRules {
        apps_domain: args.apps_domain.clone(),
        forbidden: ForbiddenRanges {
            api_server: api_server_addresses(&kube_config).await,
            cluster: args.probe_deny_cidrs.clone(),
        },
    };
    tracing::info!(api_server = ?targets.forbidden.api_server, cluster = ?targets.forbidden.cluster, "addresses agencies' probes may never reach");
    let client = counted_client(kube_config, ApiRequestMetrics::register(&registry)?)?;
    let mut webhook =
        Box::pin(webhook_task(args.webhook.settings("slo", &args.platform_namespace), client.clone(), targets.clone()));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    });
    let mut waiting = stop_rx.clone();
    tokio::select! {
        () = wait_for_crds(&client, &CRDS, Duration::from_secs(5)) => {}
        _ = waiting.wait_for(|s| *s) => return Ok(()),
        result = &mut webhook => return result,
    }
    // Built before the election, so that a standby with an unreadable CA file fails now
    // rather than when it takes over.
    let config = EngineConfig {
        max_concurrent_probes: args.max_concurrent_probes as usize,
        evaluation_interval: Duration::from_secs(args.evaluation_seconds),
        calendar,
        extra_ca_files: args.probe_ca_files,
        resolve: args.resolve,
        prometheus_url: args.prometheus_url,
        platform_namespace: args.platform_namespace.clone(),
        targets,
    };
    let engine = Engine::new(client.clone(), config, ledger, metrics, reconcile)?;
    // Ready once it can serve: a standby waiting for the lease is ready too, so that
    // rollouts of several replicas complete (as with the operators).
    readiness.set(true);
    let election = if args.leader_election {
        let identity = format!("{}-{}", std::env::var("HOSTNAME").as_deref().unwrap_or(MANAGER), std::process::id());
        let election = LeaderElection::new(
            client.clone(),
            &args.platform_namespace,
            &args.lease_name,
            identity,
            lease_timings(args.lease_seconds, args.lease_renew_deadline_seconds)?,
            &registry,
        )?;
        tokio::select! {
            acquired = election.acquire() => acquired.context("taking the leader lease")?,
            _ = waiting.wait_for(|s| *s) => return Ok(()),
            result = &mut webhook => return result,
        }
        Some(election)
    } else {
        None
    };
    let lost = async {
        match &election {
            Some(election) => election.hold().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        result = engine.run(stop_rx) => {
            result?;
            if let Some(election) = &election {
                election.release().await;
            }
            Ok(())
        }
        result = server => match result {
            Ok(Ok(())) => anyhow::bail!("the operations endpoint stopped"),
            Ok(Err(error)) => Err(error).context("the operations endpoint failed"),
            Err(error) => Err(error).context("the operations endpoint panicked"),
        },
        why = lost => step_down(&why),
        result = webhook => result,
    }
}

/// Serves the admission webhook with `settings`; without them, never resolves. Resolves
/// with an error if it stops.
async fn webhook_task(
    settings: Option<WebhookSettings>,
    client: kube::Client,
    targets: TargetRules,
) -> anyhow::Result<()> {
    let Some(settings) = settings else {
        return std::future::pending().await;
    };
    makonis_slo::webhook::run(client, settings, targets).await.context("the Probe admission webhook failed")?;
    anyhow::bail!("the Probe admission webhook stopped")
}

/// The API server's addresses, which agencies' probes may never reach: the host of the
/// client's URL (resolved when it is a name) and, in a pod, the `kubernetes` Service
/// address.
async fn api_server_addresses(config: &kube::Config) -> Vec<std::net::IpAddr> {
    let mut addresses = Vec::new();
    if let Some(host) = config.cluster_url.host() {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = config.cluster_url.port_u16().unwrap_or(443);
        match tokio::net::lookup_host((host, port)).await {
            Ok(found) => addresses.extend(found.map(|address| address.ip())),
            Err(error) => tracing::warn!(%error, host, "cannot resolve the API server's host"),
        }
    }
    if let Some(ip) = std::env::var("KUBERNETES_SERVICE_HOST").ok().and_then(|host| host.parse().ok()) {
        addresses.push(ip);
    }
    addresses.sort();
    addresses.dedup();
    addresses
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…@{}", &url[..scheme], &url[at + 1..]),
        _ => url.to_string(),
    }
}

/// Prints the objectives as a YAML stream of OpenSLO documents.
async fn export(args: SloExportArgs) -> anyhow::Result<()> {
    let client = kube::Client::try_from(client().await?)?;
    let api: Api<DeserializeGuard<ServiceLevelObjective>> = match &args.namespace {
        Some(namespace) => Api::namespaced(client, namespace),
        None => Api::all(client),
    };
    let list = api.list(&ListParams::default()).await.context("listing ServiceLevelObjectives")?;
    // An objective that cannot be decoded is named and skipped; the others are exported.
    let mut objectives = Vec::with_capacity(list.items.len());
    let mut undecodable = Vec::new();
    for guarded in list.items {
        match guarded.0 {
            Ok(objective) => objectives.push(objective),
            Err(invalid) => undecodable.push(format!(
                "{}/{}: cannot be decoded: {}",
                invalid.metadata.namespace.unwrap_or_default(),
                invalid.metadata.name.unwrap_or_default(),
                invalid.error
            )),
        }
    }
    let (documents, skipped) = makonis_slo::openslo::export(&objectives);
    for skip in undecodable.into_iter().chain(skipped) {
        eprintln!("skipped {skip}");
    }
    for document in documents {
        print!("---\n{}", serde_yaml_ng::to_string(&document)?);
    }
    Ok(())
}
