//! `makonis operator`: run the selected controllers.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use makonis_catalog::render::PlatformVars;
use makonis_catalog_operator::{CatalogConfig, CatalogController, approval::ApprovalGate};
use makonis_compute::{ComputeConfig, ComputeController, ComputeMetrics};
use makonis_identity::{IdentityConfig, ldap::LdapMetrics};
use makonis_mail::{MailConfig, MailMetrics, render::Layout};
use makonis_operator_kit::{
    client::{ApiRequestMetrics, counted_client},
    crds::wait_for_crds,
    leader::{LeaderElection, LeaseTimings},
    metrics::ReconcileMetrics,
    server::{OpsState, Readiness, serve},
};
use makonis_tenancy::TenancyConfig;
use prometheus::Registry;
use tokio::sync::watch;

use crate::cli::{ControllerName, OperatorArgs};

/// How often the start-up check looks for missing CRDs again.
const CRD_POLL: Duration = Duration::from_secs(5);

/// Starts the operations endpoint, waits for the CRDs, takes the leader lease when asked
/// to, then runs the controllers until SIGTERM or Ctrl-C (or until the lease is lost).
pub async fn run(args: OperatorArgs) -> anyhow::Result<()> {
    let registry = Registry::new();
    let metrics = ReconcileMetrics::register(&registry)?;
    let selected = |name| args.controllers.contains(&name);
    let kind_metrics = KindMetrics {
        compute: selected(ControllerName::Compute).then(|| ComputeMetrics::register(&registry)).transpose()?,
        ldap: selected(ControllerName::Identity).then(|| LdapMetrics::register(&registry)).transpose()?,
        mail: selected(ControllerName::Mail).then(|| MailMetrics::register(&registry)).transpose()?,
    };
    let readiness = Readiness::default();
    let ops = OpsState { registry: registry.clone(), readiness: readiness.clone() };
    let address = args.metrics_address;
    let mut server = Box::pin(server_failed(tokio::spawn(async move { serve(address, ops).await })));

    let config = kube::Config::infer().await.context(
        "cannot build a Kubernetes client: set KUBECONFIG or run inside a cluster (tests/cluster/cluster.sh env prints the local one)",
    )?;
    let client = counted_client(config, ApiRequestMetrics::register(&registry)?)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    });

    let mut crds: Vec<&str> = args.controllers.iter().flat_map(|c| c.crds().iter().copied()).collect();
    crds.dedup();
    tokio::select! {
        () = wait_for_crds(&client, &crds, CRD_POLL) => {}
        () = stopped(stop_rx.clone()) => return Ok(()),
        result = &mut server => return result,
    }
    readiness.set(true);

    let mut webhook = Box::pin(webhook_task(&args, &client));

    let instance = args.instance.clone().or_else(|| std::env::var("HOSTNAME").ok());
    let election = if args.leader_election {
        let identity = format!("{}-{}", instance.as_deref().unwrap_or("makonis"), std::process::id());
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
            () = stopped(stop_rx.clone()) => return Ok(()),
            result = &mut server => return result,
            result = &mut webhook => return result,
        }
        Some(election)
    } else {
        None
    };

    let controllers = start_controllers(&args, &client, &metrics, &kind_metrics, instance, &stop_rx);
    let all_done = futures::future::try_join_all(controllers);
    let lost = async {
        match &election {
            Some(election) => election.hold().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        done = all_done => {
            done.context("a controller task panicked")?;
            if let Some(election) = &election {
                election.release().await;
            }
            Ok(())
        }
        result = &mut server => result,
        result = &mut webhook => result,
        why = lost => step_down(&why),
        () = stopped_for(stop_rx, SHUTDOWN_GRACE) => {
            tracing::warn!(
                grace_seconds = SHUTDOWN_GRACE.as_secs(),
                "the controllers did not stop in time (a watch had not finished its first listing); exiting anyway"
            );
            if let Some(election) = &election {
                election.release().await;
            }
            Ok(())
        }
    }
}

/// How long the controllers get to finish after the stop signal before the process exits
/// anyway. A controller whose watch has not finished its first listing never notices the
/// signal (kube-runtime's controller waits for that listing first), and a stop must not
/// hang on it; everything a reconcile writes is idempotent, so cutting one short is safe.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The timings of the leader lease from the flags.
pub fn lease_timings(lease_seconds: u64, renew_deadline_seconds: Option<u64>) -> anyhow::Result<LeaseTimings> {
    LeaseTimings::new(Duration::from_secs(lease_seconds), renew_deadline_seconds.map(Duration::from_secs))
        .context("--lease-renew-deadline-seconds")
}

/// Ends the process at once after the leader lease was lost: by the renew deadline
/// nothing of this replica may act any more, including blocking work that an orderly
/// shutdown of the runtime would wait for. A restart campaigns again.
pub fn step_down(why: &str) -> ! {
    tracing::error!(%why, "exiting so that a restart campaigns again");
    std::process::exit(1)
}

/// The metrics of the selected controllers that have their own besides the reconcile
/// metrics every controller shares; registered only when the controller runs.
struct KindMetrics {
    compute: Option<ComputeMetrics>,
    ldap: Option<LdapMetrics>,
    mail: Option<MailMetrics>,
}

/// Spawns the selected controllers; each runs until the shutdown flag is raised.
fn start_controllers(
    args: &OperatorArgs,
    client: &kube::Client,
    metrics: &ReconcileMetrics,
    kind_metrics: &KindMetrics,
    instance: Option<String>,
    stop: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    args.controllers
        .iter()
        .map(|controller| match controller {
            ControllerName::Tenancy => {
                let config = TenancyConfig {
                    platform_namespace: args.platform_namespace.clone(),
                    group_prefix: args.group_prefix.clone(),
                    catalog_service_account: args.catalog_service_account.clone(),
                    identity_service_account: args.identity_service_account.clone(),
                    portal_service_account: args.portal_service_account.clone(),
                };
                let ctx = Arc::new(makonis_tenancy::Context::new(
                    client.clone(),
                    config,
                    metrics.clone(),
                    Duration::from_secs(args.resync_seconds),
                    instance.clone(),
                ));
                tracing::info!(controller = "tenancy", selector = ?args.agency_selector, "starting controller");
                tokio::spawn(makonis_tenancy::run(ctx, args.agency_selector.clone(), stopped(stop.clone())))
            }
            ControllerName::Catalog => {
                let controller = CatalogController::new(
                    client.clone(),
                    CatalogConfig { platform: platform_vars(args) },
                    metrics.clone(),
                    Duration::from_secs(args.resync_seconds),
                    instance.clone(),
                    args.instance_selector.as_deref(),
                    stopped(stop.clone()),
                );
                tracing::info!(controller = "catalog", selector = ?args.instance_selector, "starting controller");
                tokio::spawn(controller.run())
            }
            ControllerName::Compute => {
                let config = ComputeConfig {
                    platform_namespace: args.platform_namespace.clone(),
                    runner: runner_identity(instance.as_deref()),
                    pki_root: args.libvirt_pki_dir.clone(),
                    selector: args.compute_selector.clone(),
                };
                let controller = ComputeController::new(
                    client.clone(),
                    config,
                    metrics.clone(),
                    kind_metrics.compute.clone().expect("registered when the compute controller is selected"),
                    Duration::from_secs(args.resync_seconds),
                    instance.clone(),
                    stopped(stop.clone()),
                );
                tracing::info!(controller = "compute", selector = ?args.compute_selector, "starting controller");
                tokio::spawn(controller.run())
            }
            ControllerName::Identity => {
                let config = IdentityConfig {
                    platform_namespace: args.platform_namespace.clone(),
                    ldap_timeout: Duration::from_secs(args.ldap_timeout_seconds),
                    resync: Duration::from_secs(args.resync_seconds),
                    selector: args.agency_selector.clone(),
                };
                tracing::info!(controller = "identity", selector = ?args.agency_selector, "starting controller");
                tokio::spawn(makonis_identity::run(
                    client.clone(),
                    config,
                    metrics.clone(),
                    kind_metrics.ldap.clone().expect("registered when the identity controller is selected"),
                    instance.clone(),
                    stopped(stop.clone()),
                ))
            }
            ControllerName::Mail => {
                tracing::info!(controller = "mail", directory = %args.mail.mail_directory, "starting controller");
                tokio::spawn(makonis_mail::run(
                    client.clone(),
                    mail_config(args),
                    metrics.clone(),
                    kind_metrics.mail.clone().expect("registered when the mail controller is selected"),
                    instance.clone(),
                    stopped(stop.clone()),
                ))
            }
        })
        .collect()
}

/// The mail controller's settings from the flags.
fn mail_config(args: &OperatorArgs) -> MailConfig {
    let mail = &args.mail;
    MailConfig {
        namespace: mail.mail_namespace.clone(),
        directory: mail.mail_directory.clone(),
        bind_secret: mail.mail_bind_secret.clone(),
        layout: Layout {
            hostname: mail.mail_hostname.clone(),
            listen: mail.mail_listen.clone(),
            smtp_port: mail.mail_smtp_port,
            submission_port: mail.mail_submission_port,
            imaps_port: mail.mail_imaps_port,
            lmtp_port: mail.mail_lmtp_port,
            quota_status_port: mail.mail_quota_status_port,
            auth_port: mail.mail_auth_port,
            dkim_port: mail.mail_dkim_port,
            relayhost: mail.mail_relayhost.clone(),
            config_dir: mail.mail_config_dir.clone(),
            state_dir: mail.mail_state_dir.clone(),
            mail_root: mail.mail_root.clone(),
            mail_user: mail.mail_user.clone(),
            tls_cert: mail.mail_tls_cert.clone(),
            tls_key: mail.mail_tls_key.clone(),
            dovecot_lda: mail.mail_dovecot_lda.clone(),
        },
        postfix: mail.mail_postfix.clone(),
        doveadm: mail.mail_doveadm.clone(),
        selector: args.agency_selector.clone(),
        resync: Duration::from_secs(args.resync_seconds),
    }
}

/// Serves the admission webhook of the selected controller (catalog or compute) when
/// `--webhook-address` is set; otherwise never resolves. Resolves with an error if it
/// cannot serve.
async fn webhook_task(args: &OperatorArgs, client: &kube::Client) -> anyhow::Result<()> {
    if args.webhook.webhook_address.is_none() {
        return std::future::pending().await;
    }
    let with_webhook: Vec<ControllerName> = args
        .controllers
        .iter()
        .copied()
        .filter(|c| matches!(c, ControllerName::Catalog | ControllerName::Compute))
        .collect();
    let controller = match with_webhook.as_slice() {
        [] => return std::future::pending().await,
        [one] => *one,
        _ => anyhow::bail!(
            "--webhook-address serves one controller's webhook, but both catalog and compute are selected; run them as separate processes"
        ),
    };
    let Some(settings) = args.webhook.settings(controller.name(), &args.platform_namespace) else {
        return std::future::pending().await;
    };
    match controller {
        ControllerName::Compute => makonis_compute::webhook::run(client.clone(), settings)
            .await
            .map_err(|error| anyhow::anyhow!(error))
            .context("the compute admission webhook failed")?,
        _ => makonis_catalog_operator::webhook::run(client.clone(), settings, platform_vars(args), approval_gate(args))
            .await
            .context("the catalog admission webhook failed")?,
    }
    anyhow::bail!("the admission webhook stopped")
}

/// Who may order items that need approval without the portal's approval chain.
fn approval_gate(args: &OperatorArgs) -> ApprovalGate {
    ApprovalGate {
        portal_user: format!("system:serviceaccount:{}:{}", args.platform_namespace, args.portal_service_account),
        platform_admin_groups: args.platform_admin_groups.clone(),
    }
}

/// This process, as a backup's runner: a run marked with another runner was
/// interrupted. The instance name plus the process id and start time, so a restart
/// of the same pod is a new runner.
fn runner_identity(instance: Option<&str>) -> String {
    format!(
        "{}/{}/{}",
        instance.unwrap_or("makonis"),
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    )
}

/// The `platform.*` template variables from the flags.
fn platform_vars(args: &OperatorArgs) -> PlatformVars {
    PlatformVars {
        apps_domain: args.platform.apps_domain.clone(),
        ingress_class: args.platform.ingress_class.clone(),
        tls_issuer: args.platform.tls_issuer.clone(),
        storage_class: args.platform.storage_class.clone(),
        host_pool: args.platform.host_pool.clone(),
        backup_host: args.platform.backup_host.clone(),
        backup_storage_pool: args.platform.backup_storage_pool.clone(),
    }
}

/// Resolves once the shutdown flag is raised.
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// Resolves `grace` after the shutdown flag is raised.
async fn stopped_for(stop: watch::Receiver<bool>, grace: Duration) {
    stopped(stop).await;
    tokio::time::sleep(grace).await;
}

/// Resolves with an error if the operations endpoint stops (for example: address in use).
async fn server_failed(server: tokio::task::JoinHandle<std::io::Result<()>>) -> anyhow::Result<()> {
    match server.await {
        Ok(Ok(())) => anyhow::bail!("the operations endpoint stopped"),
        Ok(Err(error)) => Err(error).context("the operations endpoint failed"),
        Err(error) => Err(error).context("the operations endpoint panicked"),
    }
}

/// SIGTERM (Kubernetes stopping the pod) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the operator");
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
