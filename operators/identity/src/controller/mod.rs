//! The identity controllers: the IO around the pure plans.
//!
//! Four controllers share one set of watch caches and one connection per Directory:
//! Directories (with their agencies' OUs and role groups), DirectoryUsers, DirectoryGroups
//! and DirectoryServiceAccounts. A person's change that others derive from (their groups,
//! their roles) nudges the groups and the Directory to reconcile.

mod accounts;
mod context;
mod directory;
mod group;
mod nudge;
mod secrets;
mod service_account;
mod user;

use std::{future::Future, sync::Arc, time::Duration};

use futures::{FutureExt, StreamExt};
use kube::{
    Api, Client, Resource, ResourceExt,
    runtime::{
        Controller,
        controller::{self, Action},
        reflector::{ObjectRef, store::Writer},
        watcher,
    },
};
use makonis_api::{
    identity::{Directory, DirectoryGroup, DirectoryServiceAccount, DirectoryUser},
    mail::Mailbox,
    tenancy::Agency,
};
use makonis_operator_kit::{
    error::{ErrorCategory, error_chain},
    events::EventPublisher,
    metrics::ReconcileMetrics,
    watch::{cached_guarded, report_undecodable},
};
use tracing::{Instrument, info_span};

pub use context::{Context, MANAGER, Stores, holding_directory};
pub use service_account::secret_name as service_account_secret;
pub use user::{FINALIZER as USER_FINALIZER, initial_password_secret};

use crate::{config::IdentityConfig, error::Error, ldap::LdapMetrics};

/// How many objects of one kind are reconciled at once. One connection to the domain
/// controller serves them all; a reconcile spends most of its time waiting for the API
/// server and the directory, so enough of them keep the domain controller busy, while
/// thousands at once only queue there until they time out. Measured with the identity
/// benchmark (3,000 people against one Samba worker): 32 took 136 s, 96 took 111 s with a
/// mean LDAP request time (queueing included) of 0.5 s, far below the 10 s timeout.
pub const CONCURRENCY: u16 = 96;

/// How long a group or a Directory waits for more changes before it reconciles: people
/// arriving one after another then join their groups in one modify, not one each.
const DEBOUNCE: Duration = Duration::from_secs(2);

/// How long to wait before retrying a reconcile that failed on the directory or the API.
const RETRY_AFTER: Duration = Duration::from_secs(15);
/// How long to wait when something the object needs is not there yet.
const WAIT_AFTER: Duration = Duration::from_secs(5);
/// How long to wait after a refusal only a person can fix (a password the policy refuses,
/// an entry the platform does not own): long enough not to hammer the directory.
const REFUSED_AFTER: Duration = Duration::from_secs(60);

/// Runs the four controllers until `shutdown` resolves.
pub async fn run(
    client: Client,
    config: IdentityConfig,
    metrics: ReconcileMetrics,
    ldap_metrics: LdapMetrics,
    instance: Option<String>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let events = EventPublisher::new(client.clone(), MANAGER, instance);
    let report = |kind, api_version| report_undecodable(MANAGER, kind, api_version, events.clone(), metrics.clone());
    let all = watcher::Config::default;
    let selected = || match &config.selector {
        Some(selector) => all().labels(selector),
        None => all(),
    };
    let (agencies, agencies_stream) = cached_guarded(
        Api::all(client.clone()),
        selected(),
        Writer::default(),
        report("Agency", "tenancy.makonis.lv/v1alpha1"),
    );
    let identity = "identity.makonis.lv/v1alpha1";
    let (directories, directories_stream) =
        cached_guarded(Api::all(client.clone()), selected(), Writer::default(), report("Directory", identity));
    let (users, users_stream) =
        cached_guarded(Api::all(client.clone()), all(), Writer::default(), report("DirectoryUser", identity));
    let (groups, groups_stream) =
        cached_guarded(Api::all(client.clone()), all(), Writer::default(), report("DirectoryGroup", identity));
    let (accounts, accounts_stream) =
        cached_guarded(Api::all(client.clone()), all(), Writer::default(), report("DirectoryServiceAccount", identity));
    let (mailboxes, mailboxes_stream) = cached_guarded(
        Api::all(client.clone()),
        all(),
        Writer::default(),
        report("Mailbox", "mail.makonis.lv/v1alpha1"),
    );
    let (nudges, receivers) = nudge::Nudges::channel();
    let stores = Stores {
        agencies,
        directories: directories.clone(),
        users: users.clone(),
        groups: groups.clone(),
        accounts: accounts.clone(),
        mailboxes,
    };
    let ctx = Arc::new(Context::new(client, config, stores.clone(), events, metrics, nudges, ldap_metrics));
    let shutdown = shutdown.shared();

    let by_agency = {
        let directories = stores.directories.clone();
        move |agency: Agency| holding_directory(&directories, &agency).map(|d| ObjectRef::from_obj(&*d))
    };
    let directory_controller = Controller::for_stream(directories_stream, directories)
        .with_config(controller::Config::default().concurrency(CONCURRENCY).debounce(DEBOUNCE))
        .watches_stream(agencies_stream, by_agency)
        .reconcile_on(nudge::stream(receivers.directories))
        .graceful_shutdown_on(shutdown.clone())
        .run(reconcile_directory, error_policy, ctx.clone())
        .for_each(log_result);
    let owner = |mailbox: Mailbox| Some(ObjectRef::new(&mailbox.spec.user).within(&mailbox.namespace()?));
    let user_controller = Controller::for_stream(users_stream, users)
        .with_config(controller::Config::default().concurrency(CONCURRENCY))
        .watches_stream(mailboxes_stream, owner)
        .graceful_shutdown_on(shutdown.clone())
        .run(reconcile_user, error_policy, ctx.clone())
        .for_each(log_result);
    let group_controller = Controller::for_stream(groups_stream, groups)
        .with_config(controller::Config::default().concurrency(CONCURRENCY).debounce(DEBOUNCE))
        .reconcile_on(nudge::stream(receivers.groups))
        .graceful_shutdown_on(shutdown.clone())
        .run(reconcile_group, error_policy, ctx.clone())
        .for_each(log_result);
    let account_controller = Controller::for_stream(accounts_stream, accounts)
        .with_config(controller::Config::default().concurrency(CONCURRENCY))
        .graceful_shutdown_on(shutdown)
        .run(reconcile_account, error_policy, ctx.clone())
        .for_each(log_result);
    let caches = ctx.watch_caches();
    futures::join!(caches, directory_controller, user_controller, group_controller, account_controller);
}

async fn log_result<T, E: std::error::Error>(result: Result<T, E>) {
    if let Err(error) = result {
        tracing::debug!(error = %error_chain(&error), "reconcile ended with an error");
    }
}

async fn reconcile_directory(object: Arc<Directory>, ctx: Arc<Context>) -> Result<Action, Error> {
    timed("identity-directory", &*object, &ctx, directory::reconcile(&object, &ctx)).await
}

async fn reconcile_user(object: Arc<DirectoryUser>, ctx: Arc<Context>) -> Result<Action, Error> {
    timed("identity-user", &*object, &ctx, user::reconcile(&object, &ctx)).await
}

async fn reconcile_group(object: Arc<DirectoryGroup>, ctx: Arc<Context>) -> Result<Action, Error> {
    timed("identity-group", &*object, &ctx, group::reconcile(&object, &ctx)).await
}

async fn reconcile_account(object: Arc<DirectoryServiceAccount>, ctx: Arc<Context>) -> Result<Action, Error> {
    timed("identity-service-account", &*object, &ctx, service_account::reconcile(&object, &ctx)).await
}

/// Runs `step` for `object` in a span, timed and counted under `controller`.
async fn timed<K: Resource>(
    controller: &'static str,
    object: &K,
    ctx: &Context,
    step: impl Future<Output = Result<Action, Error>>,
) -> Result<Action, Error> {
    if !ctx.caches_ready() {
        return Err(Error::Waiting("the watch caches are still loading".into()));
    }
    let started = std::time::Instant::now();
    let span = info_span!(
        "reconcile",
        controller,
        name = %object.name_any(),
        namespace = object.namespace().unwrap_or_default()
    );
    let result = async {
        tracing::debug!("reconciling");
        let result = step.await;
        tracing::debug!(ok = result.is_ok(), "reconciled");
        result
    }
    .instrument(span)
    .await;
    ctx.metrics.record_reconcile(controller, started.elapsed(), result.as_ref().err().map(ErrorCategory::category));
    result
}

fn error_policy<K>(_object: Arc<K>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(category = error.category(), error = %error_chain(error), "reconcile failed; retrying");
    match error {
        Error::InvalidObject(_) => Action::await_change(),
        Error::Waiting(_) => Action::requeue(WAIT_AFTER),
        Error::InvalidSpec(_) | Error::NotOurs(_) | Error::Secret(_) => Action::requeue(REFUSED_AFTER),
        Error::Directory(crate::ldap::DirectoryError::PasswordPolicy(_)) => Action::requeue(REFUSED_AFTER),
        _ => Action::requeue(RETRY_AFTER),
    }
}
