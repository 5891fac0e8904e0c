//! `makonis portal`: the self-service portal and its JSON API.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::{Context as _, bail};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use makonis_operator_kit::crds::wait_for_crds;
use makonis_portal::{
    cluster::ClusterView,
    context::{Context, PortalConfig},
    identity::{
        access::PlatformGroups, ldap::DirectoryConfig, password::hash_password, ratelimit::LoginLimits, role_groups,
    },
    siem::SiemSink,
    store::{Store, accounts::Account, now_ms},
    web::{
        AppState, Templates, app,
        client_address::{ForwardedHeader, TrustedProxies},
        metrics_app,
        ops::Metrics,
    },
    worker,
};
use serde::Deserialize;

use crate::cli::{DirectoryArgs, DirectoryKind, ForwardedHeaderArg, PortalArgs};

/// The CRDs the portal reads.
const CRDS: [&str; 3] =
    ["agencies.tenancy.makonis.lv", "catalogitems.catalog.makonis.lv", "serviceinstances.catalog.makonis.lv"];

/// One local account as listed in the accounts Secret.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AccountEntry {
    username: String,
    display_name: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    password: String,
}

fn directory(args: &DirectoryArgs) -> anyhow::Result<Option<DirectoryConfig>> {
    let Some(url) = &args.ldap_url else { return Ok(None) };
    let mut config = match args.ldap_kind {
        DirectoryKind::ActiveDirectory => DirectoryConfig::active_directory(url, &args.ldap_user_base),
        DirectoryKind::Openldap => DirectoryConfig::openldap(url, &args.ldap_user_base),
    };
    config.start_tls = args.ldap_start_tls;
    config.ca_file = args.ldap_ca_file.clone();
    config.bind_dn = args.ldap_bind_dn.clone();
    if let Some(file) = &args.ldap_bind_password_file {
        let password = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        config.bind_password = Some(password.trim_end_matches(['\n', '\r']).to_string());
    }
    if let Some(base) = &args.ldap_group_base {
        config.group_base = base.clone();
    }
    Ok(Some(config))
}

/// Where the audit trail is shipped and the Security pages search, if anywhere (clap
/// makes the flags come together).
fn siem_sink(args: &PortalArgs) -> Option<SiemSink> {
    Some(SiemSink {
        url: args.siem_url.clone()?,
        certificate: args.siem_client_certificate.clone()?,
        key: args.siem_client_key.clone()?,
        server_ca: args.siem_ca.clone()?,
        every: Duration::from_secs(args.siem_seconds),
    })
}

/// Creates or updates the local accounts listed in Secret `reference` (`NAMESPACE/NAME`).
async fn bootstrap_accounts(client: &Client, store: &Store, reference: &str) -> anyhow::Result<usize> {
    let Some((namespace, name)) = reference.split_once('/') else {
        bail!("--accounts-secret must be NAMESPACE/NAME, not {reference}");
    };
    let secret = Api::<Secret>::namespaced(client.clone(), namespace)
        .get(name)
        .await
        .with_context(|| format!("reading the accounts Secret {reference}"))?;
    let yaml = secret
        .data
        .as_ref()
        .and_then(|d| d.get("accounts.yaml"))
        .with_context(|| format!("Secret {reference} has no key accounts.yaml"))?;
    let entries: Vec<AccountEntry> =
        serde_yaml_ng::from_slice(&yaml.0).with_context(|| format!("accounts.yaml of Secret {reference}"))?;
    for entry in &entries {
        let account = Account {
            username: entry.username.trim().to_lowercase(),
            password_hash: hash_password(&entry.password),
            display_name: entry.display_name.clone(),
            email: entry.email.clone(),
            groups: entry.groups.clone(),
        };
        store.put_account(&account, now_ms()).await?;
    }
    Ok(entries.len())
}

/// Creates the directory of an SQLite database file if it does not exist.
pub fn ensure_sqlite_directory(database_url: &str) -> anyhow::Result<()> {
    if let Some(path) = database_url.strip_prefix("sqlite://")
        && let Some(parent) = std::path::Path::new(path.split('?').next().unwrap_or(path)).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(())
}

/// Serves the portal until SIGTERM or Ctrl-C, or runs the maintenance task asked for.
pub async fn run(mut args: PortalArgs) -> anyhow::Result<()> {
    if let Some(task) = args.task.take() {
        return crate::commands::portal_db::run(task).await;
    }
    let config = kube::Config::infer()
        .await
        .context("no Kubernetes configuration: set KUBECONFIG, or run in a pod with a ServiceAccount")?;
    let client = Client::try_from(config)?;
    ensure_sqlite_directory(&args.database_url)?;
    let store = Store::connect(&args.database_url).await.context("opening the portal's database")?;
    tracing::info!(backend = ?store.backend(), "database ready");
    tokio::select! {
        () = wait_for_crds(&client, &CRDS, Duration::from_secs(5)) => {}
        () = crate::commands::operator::shutdown_signal() => return Ok(()),
    }
    if let Some(reference) = &args.accounts_secret {
        let count = bootstrap_accounts(&client, &store, reference).await?;
        tracing::info!(count, secret = reference, "local accounts are up to date");
    }
    let (view, drive) = ClusterView::watch(&client);
    tokio::spawn(drive);
    let portal_config = portal_config(&args)?;
    let context = Arc::new(Context::new(store, view, Some(client), portal_config));
    tokio::spawn(worker::run(Arc::clone(&context)));
    tokio::spawn(purge_expired(Arc::clone(&context)));
    tokio::spawn(refresh_role_groups(Arc::clone(&context)));
    if let Some(sink) = context.config.siem.clone() {
        tracing::info!(url = %sink.url, "shipping the audit trail to the SIEM; the Security pages search it and work its alerts");
        let feed =
            makonis_portal::siem::incidents::run(context.store.clone(), sink.clone(), context.incident_feed.clone());
        tokio::spawn(feed);
        tokio::spawn(makonis_portal::siem::ship::run(context.store.clone(), sink, context.audit_shipping.clone()));
    }
    let templates = Arc::new(Templates::embedded().context("compiling the portal's templates")?);
    let state = AppState { context, templates, metrics: Arc::new(Metrics::new()?) };
    let listener =
        tokio::net::TcpListener::bind(args.address).await.with_context(|| format!("binding {}", args.address))?;
    let metrics_listener = tokio::net::TcpListener::bind(args.metrics_address)
        .await
        .with_context(|| format!("binding the metrics listener {}", args.metrics_address))?;
    tracing::info!(address = %args.address, metrics = %args.metrics_address, "portal serving at http://{}/", args.address);
    let metrics = axum::serve(metrics_listener, metrics_app(state.clone()))
        .with_graceful_shutdown(crate::commands::operator::shutdown_signal());
    let portal = axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(crate::commands::operator::shutdown_signal());
    tokio::try_join!(async move { portal.await }, async move { metrics.await })?;
    Ok(())
}

/// The portal's settings from its arguments.
fn portal_config(args: &PortalArgs) -> anyhow::Result<PortalConfig> {
    let defaults = PortalConfig::default();
    Ok(PortalConfig {
        directory: directory(&args.directory)?,
        platform_groups: PlatformGroups {
            admins: args.platform_admin_group.clone(),
            operators: args.platform_operator_group.clone(),
            security: args.platform_security_group.clone(),
        },
        group_refresh: Duration::from_secs(args.group_refresh_seconds),
        session_ttl: Duration::from_secs(args.session_hours * 3600),
        secure_cookies: !args.insecure_cookies,
        login: LoginLimits {
            per_account_and_address: args.login_max_attempts,
            window: Duration::from_secs(args.login_window_seconds),
            ..defaults.login
        },
        identity_recheck: Duration::from_secs(args.identity_recheck_seconds),
        trusted_proxies: TrustedProxies {
            networks: args.trusted_proxies.clone(),
            header: match args.forwarded_header {
                ForwardedHeaderArg::XForwardedFor => ForwardedHeader::XForwardedFor,
                ForwardedHeaderArg::Forwarded => ForwardedHeader::Forwarded,
            },
        },
        live_streams_per_user: usize::try_from(args.live_streams_per_user).unwrap_or(usize::MAX),
        instance_labels: args.instance_labels.iter().cloned().collect(),
        apps_domain: args.apps_domain.clone(),
        siem: siem_sink(args),
        ..defaults
    })
}

/// Removes expired sessions and sign-in counters every hour.
async fn purge_expired(context: Arc<Context>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match context.store.purge_sessions(now_ms()).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "expired sessions removed"),
            Err(error) => tracing::warn!(%error, "removing expired sessions failed"),
        }
        if let Err(error) = context.store.purge_login_throttle(context.config.login.window_ms(), now_ms()).await {
            tracing::warn!(%error, "removing old sign-in counters failed");
        }
    }
}

/// Resolves the role groups' names to DNs once the agencies are known, then every
/// `--group-refresh-seconds` (a failure keeps the previous resolution and is retried).
async fn refresh_role_groups(context: Arc<Context>) {
    if context.config.directory.is_none() {
        return;
    }
    context.view.wait_until_ready().await;
    let mut tick = tokio::time::interval(context.config.group_refresh);
    loop {
        tick.tick().await;
        match role_groups::refresh(&context, false).await {
            Ok(()) => tracing::debug!("role groups resolved"),
            Err(error) => tracing::warn!(%error, "resolving the role groups failed; the previous resolution stays"),
        }
    }
}
