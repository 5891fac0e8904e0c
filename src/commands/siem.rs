//! `makonis siem`: run the intake and the store, check the store, make the checkpoint key.

use std::{io::Write as _, time::Duration};

use anyhow::{Context as _, bail};
use jiff::SignedDuration;
use makonis_operator_kit::{
    client::{ApiRequestMetrics, counted_client},
    crds::wait_for_crds,
    metrics::ReconcileMetrics,
    server::{OpsState, Readiness, serve},
};
use makonis_siem::{
    detection::metrics::DetectionMetrics,
    intake::{metrics::SiemMetrics, tls::TlsFiles},
    run::{RunMetrics, Settings, TlsIntake},
    store::{Backend, Config, PostgresConfig, Store},
};
use makonis_siem_core::{
    chain::{SigningKey, key_id},
    event::DEFAULT_SKEW_LIMIT,
};
use makonis_siem_detect::{correlate::Config as CorrelationConfig, detect::Preparation, mapping::SHIPPED};

use crate::{
    cli::{SiemArgs, SiemCommand, SiemKeygenArgs, SiemRunArgs, SiemStoreArgs, SiemVerifyArgs},
    commands::operator::shutdown_signal,
};

/// The CRDs the SIEM reads.
const CRDS: [&str; 2] = ["logsources.security.makonis.lv", "retentionpolicies.security.makonis.lv"];

/// Starts the operations endpoint, reads the key, waits for the CRDs, then runs the SIEM
/// until SIGTERM or Ctrl-C.
async fn run_siem(args: SiemRunArgs) -> anyhow::Result<()> {
    let key = std::fs::read(&args.signing_key)
        .with_context(|| format!("reading the checkpoint key {}", args.signing_key.display()))?;
    let signer = SigningKey::from_pkcs8(&key).with_context(|| format!("{}", args.signing_key.display()))?;
    tracing::info!(key_id = %signer.key_id(), "checkpoints are signed with this key");
    let registry = prometheus::Registry::new();
    let reconcile = ReconcileMetrics::register(&registry)?;
    let siem_metrics = SiemMetrics::register(&registry)?;
    let detection_metrics = DetectionMetrics::register(&registry)?;
    let readiness = Readiness::default();
    let ops = OpsState { registry: registry.clone(), readiness: readiness.clone() };
    let address = args.metrics_address;
    tokio::spawn(async move { serve(address, ops).await });
    let config = kube::Config::infer().await.context(
        "cannot build a Kubernetes client: set KUBECONFIG or run inside a cluster (tests/cluster/cluster.sh env prints the local one)",
    )?;
    let client = counted_client(config, ApiRequestMetrics::register(&registry)?)?;
    tokio::select! {
        () = wait_for_crds(&client, &CRDS, Duration::from_secs(5)) => {}
        () = shutdown_signal() => return Ok(()),
    }
    let settings = Settings {
        store: backend(args.store),
        syslog_tcp: args.syslog_tcp,
        syslog_udp: args.syslog_udp,
        relp: args.relp,
        tls: match (args.tls_certificate, args.tls_key, args.client_ca) {
            (Some(certificate), Some(key), Some(client_ca)) => Some(TlsIntake {
                syslog: args.syslog_tls,
                https: args.https,
                files: TlsFiles { certificate, key, client_ca },
            }),
            _ => None,
        },
        queue_capacity: args.queue as usize,
        queue_bytes: (args.queue_mib as usize) << 20,
        status_interval: Duration::from_secs(args.status_seconds),
        maintenance_interval: Duration::from_secs(args.maintenance_seconds),
        lateness: SignedDuration::from_mins(args.lateness_minutes as i64),
        webhook: args.webhook.settings("siem", &args.platform_namespace),
        preparation: Preparation {
            mapping: SHIPPED.clone(),
            calendar: args.calendar.holidays().context("--extra-day-off and --extra-working-day")?,
        },
        correlation: CorrelationConfig { allowed_lateness: args.allowed_lateness, ..CorrelationConfig::default() },
        alertmanager: args.alertmanager_url,
        alert_suppression: args.alert_suppression,
        platform_namespace: args.platform_namespace,
    };
    let shutdown = async {
        shutdown_signal().await;
        tracing::info!("shutting down: storing what is received");
    };
    let metrics = RunMetrics { reconcile, intake: siem_metrics, detection: detection_metrics };
    makonis_siem::run::run(settings, signer, client, metrics, readiness, shutdown).await?;
    Ok(())
}

/// The store the arguments name: the PostgreSQL database of `--store-url`, else the
/// directory of `--store`.
fn backend(args: SiemStoreArgs) -> Backend {
    let (checkpoint_log, skew_limit) = (args.checkpoint_log, DEFAULT_SKEW_LIMIT);
    match args.store_url {
        Some(url) => PostgresConfig { url, checkpoint_log, skew_limit }.into(),
        None => Config { root: args.store, checkpoint_log, skew_limit }.into(),
    }
}

/// Runs the chosen `makonis siem` subcommand.
pub async fn run(args: SiemArgs) -> anyhow::Result<()> {
    match args.command {
        SiemCommand::Run(args) => run_siem(*args).await,
        SiemCommand::Verify(args) => verify(args).await,
        SiemCommand::Keygen(args) => keygen(args),
        SiemCommand::Replay(args) => super::sigma::replay(args),
        SiemCommand::ImportSigma(args) => super::sigma::import(args),
    }
}

async fn verify(args: SiemVerifyArgs) -> anyhow::Result<()> {
    let public_key = parse_hex(&args.public_key)
        .filter(|k| k.len() == 32)
        .context("--public-key must be 64 hex digits: the public key `makonis siem keygen` printed")?;
    let to = args.to.unwrap_or(args.from);
    if to < args.from {
        bail!("--to {to} is before --from {}", args.from);
    }
    if args.store.store_url.is_none() && !args.store.store.join("catalog.sqlite").exists() {
        bail!("{} is not a SIEM store (no catalog.sqlite)", args.store.store.display());
    }
    let mut store = Store::open_read_only(backend(args.store)).await.context("opening the store")?;
    let reports = store.verify(args.from, to, &public_key).await.context("reading the store")?;
    let mut out = std::io::stdout().lock();
    let mut broken = 0;
    for report in &reports {
        match &report.problem {
            None => writeln!(
                out,
                "ok      {}  {} events, {} checkpoints (key {})",
                report.partition,
                report.events,
                report.checkpoints,
                key_id(&public_key)
            )?,
            Some(problem) => {
                broken += 1;
                writeln!(out, "BROKEN  {}  {problem}", report.partition)?;
            }
        }
    }
    if broken > 0 {
        bail!("{broken} of {} partitions from {} to {to} failed the check", reports.len(), args.from);
    }
    writeln!(out, "{} partitions from {} to {to}: every chain intact", reports.len(), args.from)?;
    Ok(())
}

fn keygen(args: SiemKeygenArgs) -> anyhow::Result<()> {
    let der = SigningKey::generate().context("generating the key")?;
    let key = SigningKey::from_pkcs8(&der).context("reading the new key")?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file =
        options.open(&args.out).with_context(|| format!("creating {} (it must not exist)", args.out.display()))?;
    file.write_all(&der).with_context(|| format!("writing {}", args.out.display()))?;
    let public: String = key.public_key().iter().map(|b| format!("{b:02x}")).collect();
    println!("{public}");
    eprintln!("wrote the private key to {} (key id {})", args.out.display(), key.key_id());
    Ok(())
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len() / 2).map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()).collect()
}
