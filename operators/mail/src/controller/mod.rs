//! The mail controller: the IO around the pure plan.
//!
//! Mail is one system, not a set of independent objects: an address belongs to whoever
//! claimed it first, a list follows its group's members, a domain decides its mailboxes.
//! So there is one pass over everything — read the caches, plan, create missing DKIM
//! keys, render, write what changed, reload the server whose files changed, bring shared
//! mailboxes' access lists in line, write the statuses — run whenever any watched object
//! changes (changes arriving together make one pass), on a timer (to put back edited
//! files), and again after a failure.

mod context;
mod doveadm;
mod files;
mod inputs;
mod keys;
mod metrics;
mod migration;
mod reload;
mod sharing;
mod status;

use std::{collections::BTreeSet, future::Future, sync::Arc, time::Duration};

use futures::{FutureExt, StreamExt, stream::BoxStream};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Client, ResourceExt,
    runtime::{
        Controller,
        controller::{self, Action},
        reflector::{ObjectRef, store::Writer},
        watcher,
    },
};
use makonis_api::mail::MailboxMigration;
use makonis_operator_kit::{
    error::{ErrorCategory, error_chain},
    events::EventPublisher,
    metrics::ReconcileMetrics,
    watch::{cached, cached_guarded, report_undecodable},
};
use tracing::Instrument;

pub use context::{Context, MANAGER};
pub use keys::{DKIM_LABEL, DOMAIN_ANNOTATION, secret_name as dkim_secret_name};
pub use metrics::MailMetrics;
pub use migration::AGENCY_ANNOTATION;

use crate::{
    config::MailConfig,
    error::Error,
    plan::plan,
    render::{Server, Settings, render},
};

/// How long a pass waits for more changes after the first one.
const DEBOUNCE: Duration = Duration::from_millis(500);
/// How long to wait before retrying a failed pass.
const RETRY_AFTER: Duration = Duration::from_secs(10);

/// Runs the mail controller until `shutdown` resolves.
pub async fn run(
    client: Client,
    config: MailConfig,
    metrics: ReconcileMetrics,
    mail_metrics: MailMetrics,
    instance: Option<String>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let events = EventPublisher::new(client.clone(), MANAGER, instance);
    let report = |kind, api_version| report_undecodable(MANAGER, kind, api_version, events.clone(), metrics.clone());
    let all = watcher::Config::default;
    let identity = "identity.makonis.lv/v1alpha1";
    let mail = "mail.makonis.lv/v1alpha1";
    let mut triggers: Vec<BoxStream<'static, ()>> = Vec::new();
    let selected = || match &config.selector {
        Some(selector) => all().labels(selector),
        None => all(),
    };
    macro_rules! watch {
        ($kind:literal, $version:expr) => {
            watch!($kind, $version, all())
        };
        ($kind:literal, $version:expr, $config:expr) => {{
            let (store, stream) =
                cached_guarded(Api::all(client.clone()), $config, Writer::default(), report($kind, $version));
            triggers.push(stream.map(|_| ()).boxed());
            store
        }};
    }
    let stores = inputs::Stores {
        agencies: watch!("Agency", "tenancy.makonis.lv/v1alpha1", selected()),
        directories: watch!("Directory", identity, selected()),
        users: watch!("DirectoryUser", identity),
        groups: watch!("DirectoryGroup", identity),
        domains: watch!("MailDomain", mail),
        mailboxes: watch!("Mailbox", mail),
        aliases: watch!("MailAlias", mail),
        lists: watch!("MailingList", mail),
    };
    let (migrations, migrations_stream) =
        cached_guarded(Api::all(client.clone()), all(), Writer::default(), report("MailboxMigration", mail));
    let (secrets, secrets_stream) = cached(
        Api::<Secret>::namespaced(client.clone(), &config.namespace),
        all().labels(&format!("{DKIM_LABEL}=true")),
        Writer::default(),
    );
    triggers.push(secrets_stream.map(|_| ()).boxed());
    let resync = config.resync;
    let ctx = Arc::new(Context {
        client,
        config,
        stores,
        keys: keys::DkimKeys { secrets },
        events,
        metrics,
        mail_metrics,
        migration_attempts: Default::default(),
    });
    let shutdown = shutdown.shared();
    // Migrations run one at a time, beside the passes: a copy may take hours.
    let migrations = Controller::for_stream(migrations_stream, migrations)
        .with_config(controller::Config::default().concurrency(1))
        .graceful_shutdown_on(shutdown.clone())
        .run(reconcile_migration, migration_error, ctx.clone())
        .for_each(|_| std::future::ready(()));
    futures::join!(migrations, passes(ctx, triggers, resync, shutdown));
}

async fn reconcile_migration(migration: Arc<MailboxMigration>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    let span = tracing::info_span!("reconcile", controller = "mail-migration", name = %migration.name_any());
    let result = migration::reconcile(migration, ctx.clone()).instrument(span).await;
    ctx.metrics.record_reconcile(
        "mail-migration",
        started.elapsed(),
        result.as_ref().err().map(ErrorCategory::category),
    );
    result
}

fn migration_error(_migration: Arc<MailboxMigration>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(category = error.category(), error = %error_chain(error), "migration failed; retrying");
    Action::requeue(RETRY_AFTER)
}

/// The passes over the mail system: after the caches load, on every burst of changes, on
/// the resync timer, and after a failure.
async fn passes(
    ctx: Arc<Context>,
    triggers: Vec<BoxStream<'static, ()>>,
    resync: Duration,
    shutdown: impl Future<Output = ()> + Unpin,
) {
    let mut triggers = futures::stream::select_all(triggers);
    let mut shutdown = shutdown;
    let ready = async {
        let s = &ctx.stores;
        let _ = futures::join!(
            s.agencies.wait_until_ready(),
            s.directories.wait_until_ready(),
            s.users.wait_until_ready(),
            s.groups.wait_until_ready(),
            s.domains.wait_until_ready(),
            s.mailboxes.wait_until_ready(),
            s.aliases.wait_until_ready(),
            s.lists.wait_until_ready(),
            ctx.keys.secrets.wait_until_ready(),
        );
    };
    // The caches fill only while their streams are polled.
    let drive = async {
        loop {
            if triggers.next().await.is_none() {
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ready => {}
        () = drive => {}
        () = &mut shutdown => return,
    }
    tracing::info!("mail caches loaded");
    // The first pass runs at once: the servers wait for their files.
    let mut unreloaded = BTreeSet::new();
    let mut wait = after(pass(&ctx, &mut unreloaded).await, resync);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            Some(()) = triggers.next() => {
                // Let the rest of a burst arrive: one pass for all of it.
                let until = tokio::time::Instant::now() + DEBOUNCE;
                while let Ok(Some(())) = tokio::time::timeout_at(until, triggers.next()).await {}
            }
            () = tokio::time::sleep(wait) => {}
        }
        wait = after(pass(&ctx, &mut unreloaded).await, resync);
    }
}

/// How long to wait for the next pass after one that ended with `result`.
fn after(result: Result<(), Error>, resync: Duration) -> Duration {
    match result {
        Ok(()) => resync,
        Err(error) => {
            tracing::warn!(category = error.category(), error = %error_chain(&error), "mail pass failed; retrying");
            RETRY_AFTER
        }
    }
}

/// One pass over the whole mail system. `unreloaded` holds the servers whose files
/// changed but whose reload has not succeeded yet: they are reloaded on every pass until
/// it does, since their files no longer differ from what is rendered.
async fn pass(ctx: &Context, unreloaded: &mut BTreeSet<Server>) -> Result<(), Error> {
    let started = std::time::Instant::now();
    let span = tracing::info_span!("reconcile", controller = "mail", directory = %ctx.config.directory);
    let result = async {
        let directory = ctx
            .stores
            .directories
            .get(&ObjectRef::new(&ctx.config.directory))
            .ok_or_else(|| Error::Waiting(format!("the Directory {} does not exist", ctx.config.directory)))?;
        let access = ctx.directory_access(&directory).await?;
        let plan = plan(&inputs::read(&ctx.stores, &directory.name_any(), &ctx.keys));
        for domain in plan.domains.values().filter(|d| d.dkim_public_key.is_none()) {
            keys::create(&ctx.secrets(), &domain.domain, MANAGER).await?;
        }
        let settings =
            Settings { layout: ctx.config.layout.clone(), directory: access, signing_keys: ctx.keys.signing_keys() };
        let files = render(&plan, &settings)?;
        unreloaded.extend(files::write_changed(&files)?);
        let mut failure = None;
        for server in unreloaded.clone() {
            let name = server.name();
            let outcome = reload::reload(&ctx.config, server).await;
            let label = match &outcome {
                Ok(reload::Reloaded::Reloaded) => "reloaded",
                Ok(reload::Reloaded::NotRunning) => "not_running",
                Err(_) => "failed",
            };
            ctx.mail_metrics.record_reload(name, label);
            tracing::info!(server = name, outcome = label, "configuration changed");
            match outcome {
                Ok(_) => {
                    unreloaded.remove(&server);
                }
                Err(error) => failure = failure.or(Some(error)),
            }
        }
        let previously_shared = status::previously_shared(ctx);
        let sharing = sharing::apply_all(ctx, &plan, previously_shared).await;
        if let Some(error) = sharing.values().find_map(|outcome| outcome.as_ref().err()) {
            failure = failure.or(Some(Error::Doveadm(error.clone())));
        }
        let written = status::write_all(ctx, &plan, &sharing).await?;
        ctx.mail_metrics.record_served(plan.domains.len(), plan.mailboxes.len(), plan.routes.len());
        tracing::debug!(written, "statuses written");
        failure.map_or(Ok(()), Err)
    }
    .instrument(span)
    .await;
    ctx.metrics.record_reconcile("mail", started.elapsed(), result.as_ref().err().map(ErrorCategory::category));
    result
}
