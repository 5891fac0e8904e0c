//! The statuses the plan's verdicts make, written only when they change, with an Event
//! whenever an object's `Ready` reason changes.

use k8s_openapi::{NamespaceResourceScope, apimachinery::pkg::apis::meta::v1::Condition, jiff::Timestamp};
use kube::{Api, Resource, ResourceExt, runtime::reflector::ObjectRef};
use makonis_api::mail::{MailAliasStatus, MailDomainStatus, MailboxStatus, MailingListStatus};
use makonis_operator_kit::{
    conditions::{DesiredCondition, merge_conditions},
    status::apply_status_if_changed,
};

use super::{
    context::{Context, MANAGER},
    sharing::Outcomes,
};
use crate::{
    address::Address,
    dns::{DKIM_SELECTOR, records},
    error::Error,
    plan::{Key, Kind, Plan, Verdict},
    sharing::{SharingFacts, shared_status},
};

/// The addresses whose Mailbox statuses name delegates: their access lists are checked
/// even when the plan no longer shares them, so that access is taken back.
pub fn previously_shared(ctx: &Context) -> std::collections::BTreeSet<Address> {
    ctx.stores
        .mailboxes
        .state()
        .iter()
        .filter(|m| ctx.manages(&***m))
        .filter_map(|m| m.status.as_ref())
        .filter(|status| !status.delegates.is_empty())
        .filter_map(|status| status.address.as_deref().and_then(|a| Address::parse(a).ok()))
        .collect()
}

/// Writes every object's status from `plan` (and, for shared mailboxes, from how applying
/// their access lists went); returns how many were written. One refused write does not
/// keep the others from being written: the first error is returned after all were tried.
pub async fn write_all(ctx: &Context, plan: &Plan, sharing: &Outcomes) -> Result<usize, Error> {
    let mut written = Tally::default();
    let now = Timestamp::now();
    for domain in ctx.stores.domains.state() {
        let Some(verdict) = verdict(plan, Kind::Domain, &*domain).filter(|_| ctx.manages(&*domain)) else {
            continue;
        };
        let current = domain.status.clone().unwrap_or_default();
        let served =
            plan.domains.get(&domain.spec.domain).filter(|d| Some(&d.namespace) == domain.namespace().as_ref());
        let desired = MailDomainStatus {
            conditions: conditions(&current.conditions, verdict, None, domain.meta().generation, now),
            observed_generation: domain.meta().generation,
            dkim_selector: served.and_then(|d| d.dkim_public_key.as_ref()).map(|_| DKIM_SELECTOR.to_owned()),
            dns_records: served
                .map(|d| records(&d.domain, &ctx.config.layout.hostname, d.dmarc, d.dkim_public_key.as_deref()))
                .unwrap_or_default(),
            mailboxes: verdict.count,
        };
        written.add(write(ctx, &*domain, domain.status.as_ref(), &desired, &current.conditions, verdict).await);
    }
    for mailbox in ctx.stores.mailboxes.state() {
        let Some(verdict) = verdict(plan, Kind::Mailbox, &*mailbox).filter(|_| ctx.manages(&*mailbox)) else {
            continue;
        };
        let current = mailbox.status.clone().unwrap_or_default();
        let routes = match verdict.refused_routes.is_empty() {
            true => DesiredCondition::truthy("Routes", "Accepted", "every alias and forwarding address is in use"),
            false => DesiredCondition::falsy("Routes", "Refused", verdict.refused_routes.join("; ")),
        };
        let address = verdict.address.as_deref().and_then(|a| Address::parse(a).ok());
        let shared = shared_status(&SharingFacts {
            address: address.as_ref().filter(|a| plan.mailboxes.contains_key(*a)),
            declared: !mailbox.spec.shared_with.is_empty(),
            had_condition: current.conditions.iter().any(|c| c.type_ == "Shared"),
            missing_groups: &verdict.missing_groups,
            planned: address.as_ref().and_then(|a| plan.shares.get(a)),
            outcome: address.as_ref().and_then(|a| sharing.get(a)),
            current: &current.delegates,
        });
        let extra = std::iter::once(routes).chain(shared.condition);
        let desired = MailboxStatus {
            conditions: conditions(&current.conditions, verdict, extra, mailbox.meta().generation, now),
            observed_generation: mailbox.meta().generation,
            address: verdict.address.clone(),
            quota_bytes: verdict.quota_bytes,
            aliases: verdict.aliases.clone(),
            delegates: shared.delegates,
        };
        written.add(write(ctx, &*mailbox, mailbox.status.as_ref(), &desired, &current.conditions, verdict).await);
    }
    for alias in ctx.stores.aliases.state() {
        let Some(verdict) = verdict(plan, Kind::Alias, &*alias).filter(|_| ctx.manages(&*alias)) else {
            continue;
        };
        let current = alias.status.clone().unwrap_or_default();
        let desired = MailAliasStatus {
            conditions: conditions(&current.conditions, verdict, None, alias.meta().generation, now),
            observed_generation: alias.meta().generation,
        };
        written.add(write(ctx, &*alias, alias.status.as_ref(), &desired, &current.conditions, verdict).await);
    }
    for list in ctx.stores.lists.state() {
        let Some(verdict) = verdict(plan, Kind::List, &*list).filter(|_| ctx.manages(&*list)) else {
            continue;
        };
        let current = list.status.clone().unwrap_or_default();
        let desired = MailingListStatus {
            conditions: conditions(&current.conditions, verdict, None, list.meta().generation, now),
            observed_generation: list.meta().generation,
            recipients: verdict.count,
        };
        written.add(write(ctx, &*list, list.status.as_ref(), &desired, &current.conditions, verdict).await);
    }
    written.finish()
}

/// Status writes counted, and the first failure kept.
#[derive(Default)]
struct Tally {
    written: usize,
    failure: Option<Error>,
}

impl Tally {
    fn add(&mut self, result: Result<usize, Error>) {
        match result {
            Ok(written) => self.written += written,
            Err(error) => {
                tracing::warn!(error = %makonis_operator_kit::error::error_chain(&error), "a status write failed");
                self.failure.get_or_insert(error);
            }
        }
    }

    fn finish(self) -> Result<usize, Error> {
        match self.failure {
            Some(error) => Err(error),
            None => Ok(self.written),
        }
    }
}

fn verdict<'p, K: Resource>(plan: &'p Plan, kind: Kind, object: &K) -> Option<&'p Verdict> {
    plan.verdicts.get(&(kind, Key::new(&object.namespace().unwrap_or_default(), &object.name_any())))
}

fn conditions(
    existing: &[Condition],
    verdict: &Verdict,
    extra: impl IntoIterator<Item = DesiredCondition>,
    generation: Option<i64>,
    now: Timestamp,
) -> Vec<Condition> {
    let ready = match verdict.ready {
        true => DesiredCondition::truthy("Ready", verdict.reason, verdict.message.clone()),
        false => DesiredCondition::falsy("Ready", verdict.reason, verdict.message.clone()),
    };
    merge_conditions(existing, std::iter::once(ready).chain(extra), generation, now)
}

/// Writes one status; publishes an Event when the `Ready` reason changed.
async fn write<K, S>(
    ctx: &Context,
    object: &K,
    current: Option<&S>,
    desired: &S,
    previous: &[Condition],
    verdict: &Verdict,
) -> Result<usize, Error>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + serde::Serialize
        + serde::de::DeserializeOwned
        + Clone
        + std::fmt::Debug,
    S: serde::Serialize + PartialEq,
{
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &object.namespace().unwrap_or_default());
    let written = apply_status_if_changed(&api, object, current, desired, MANAGER, &ctx.metrics).await?;
    let before = previous.iter().find(|c| c.type_ == "Ready").map(|c| c.reason.as_str());
    if written && before != Some(verdict.reason) {
        let reference = ObjectRef::from_obj(object).into();
        match verdict.ready {
            true => ctx.events.normal(&reference, verdict.reason, "Serve", verdict.message.clone()).await,
            false => ctx.events.warning(&reference, verdict.reason, "Serve", verdict.message.clone()).await,
        }
    }
    Ok(usize::from(written))
}
