//! Keeps each catalog item's status current: whether it can be ordered, and if not, why
//! (`kubectl get catalogitems` shows it).

use std::{sync::Arc, time::Duration};

use futures::{FutureExt, StreamExt, future::BoxFuture};
use k8s_openapi::jiff::Timestamp;
use kube::{
    Api, ResourceExt,
    runtime::{Controller, controller::Action, reflector::store::Writer, watcher},
};
use makonis_api::catalog::CatalogItem;
use makonis_catalog::MANAGER;
use makonis_operator_kit::{
    error::{ErrorCategory, error_chain},
    status::apply_status_if_changed,
    watch::{cached_guarded, report_undecodable},
};
use tracing::{Instrument, info_span};

use super::Context;
use crate::{error::Error, item_status::item_status};

/// The controller name in metrics and logs.
const CONTROLLER: &str = "makonis-catalog-items";
/// How long to wait before retrying a failed status write.
const RETRY_AFTER: Duration = Duration::from_secs(15);

/// The item-status controller over the items whose labels match `selector`, sharing the
/// instance controller's context (its compiled items, client and metrics).
pub(super) fn run(
    ctx: Arc<Context>,
    selector: Option<&str>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> BoxFuture<'static, ()> {
    let mut config = watcher::Config::default();
    if let Some(selector) = selector {
        config = config.labels(selector);
    }
    let report = report_undecodable(
        CONTROLLER,
        "CatalogItem",
        "catalog.makonis.lv/v1alpha1",
        ctx.events.clone(),
        ctx.metrics.clone(),
    );
    let (items, stream) = cached_guarded(Api::all(ctx.client.clone()), config, Writer::default(), report);
    Controller::for_stream(stream, items)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(error = %error_chain(&error), "item status ended with an error");
            }
        })
        .boxed()
}

/// Writes one item's status if it changed.
async fn reconcile(item: Arc<CatalogItem>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    let result = async {
        let desired = item_status(&item, &ctx.compiled.get(&item), Timestamp::now());
        let api: Api<CatalogItem> = Api::all(ctx.client.clone());
        apply_status_if_changed(&api, &*item, item.status.as_ref(), &desired, MANAGER, &ctx.metrics).await?;
        Ok(Action::await_change())
    }
    .instrument(info_span!("reconcile", controller = CONTROLLER, item = %item.name_any()))
    .await;
    ctx.metrics.record_reconcile(CONTROLLER, started.elapsed(), result.as_ref().err().map(ErrorCategory::category));
    result
}

fn error_policy(_item: Arc<CatalogItem>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(category = error.category(), error = %error_chain(error), "item status failed; retrying");
    Action::requeue(RETRY_AFTER)
}
