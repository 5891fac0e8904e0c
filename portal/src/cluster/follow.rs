//! How a request follows its instance: pure decisions from the instance's status, and
//! the one read of the API server for when this replica's cache cannot be trusted.
//!
//! A cache may lag: another replica applied the instance a moment ago, or this one's
//! watch is reconnecting. So the absence of an instance from the cache, or a cached
//! instance that does not yet show the request's apply, is confirmed with the API server
//! before a request moves on.

use kube::{Api, Client};
use makonis_api::{
    catalog::{Phase, ServiceInstance},
    tenancy::namespace_for_code,
};

use super::apply::REQUEST_ANNOTATION;
use crate::{
    store::requests::Request,
    workflow::{RequestKind, RequestState},
};

/// What to do about an applied request, seeing this replica's cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Move to the state, recording the message.
    Move(RequestState, String),
    /// Nothing yet.
    Wait,
    /// The cache cannot decide: read the instance from the API server and decide with
    /// [`next_state`] on what it says.
    Confirm,
}

/// Whether `instance` shows the apply of request `id` (the portal annotates what it
/// applies with the request).
fn shows_request(instance: &ServiceInstance, id: &str) -> bool {
    instance.metadata.annotations.as_ref().and_then(|a| a.get(REQUEST_ANNOTATION)).is_some_and(|r| r == id)
}

/// What to do about request `id` (of `kind`, in `state`), seeing its instance in this
/// replica's cache (or not).
pub fn next_step(kind: RequestKind, state: RequestState, id: &str, cached: Option<&ServiceInstance>) -> Step {
    let unsure = match (state, kind, cached) {
        (RequestState::Provisioning | RequestState::Retiring, _, None) => true,
        (RequestState::Provisioning, RequestKind::Order | RequestKind::Resize, Some(instance)) => {
            !shows_request(instance, id)
        }
        _ => false,
    };
    if unsure {
        return Step::Confirm;
    }
    match next_state(kind, state, cached) {
        Some((to, message)) => Step::Move(to, message),
        None => Step::Wait,
    }
}

/// The instance `request` is about, as the API server has it now (`None`: it does not
/// exist). An instance that does not decode is an error: the request waits.
pub async fn live_instance(client: &Client, request: &Request) -> Result<Option<ServiceInstance>, kube::Error> {
    Api::<ServiceInstance>::namespaced(client.clone(), &namespace_for_code(&request.agency))
        .get_opt(&request.instance)
        .await
}

/// Where a request applied to the cluster should move, seeing its instance (or its
/// confirmed absence), and the message to record; `None` while it should wait.
pub fn next_state(
    kind: RequestKind,
    state: RequestState,
    instance: Option<&ServiceInstance>,
) -> Option<(RequestState, String)> {
    match (state, kind, instance) {
        (RequestState::Retiring, _, None) => Some((RequestState::Retired, String::new())),
        (RequestState::Retiring, _, Some(_)) => None,
        (RequestState::Provisioning, _, None) => {
            Some((RequestState::Failed, "the instance was deleted before it became ready".into()))
        }
        (RequestState::Provisioning, RequestKind::Order | RequestKind::Resize, Some(instance)) => {
            let status = instance.status.as_ref()?;
            if status.observed_generation != instance.metadata.generation {
                return None;
            }
            let message =
                status.conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.message.clone()).unwrap_or_default();
            match status.phase? {
                Phase::Ready => Some((RequestState::Ready, message)),
                Phase::Failed => Some((RequestState::Failed, message)),
                Phase::Provisioning | Phase::Degraded | Phase::Retiring => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
    use makonis_api::catalog::{ServiceInstanceSpec, ServiceInstanceStatus};

    use super::*;

    fn instance(generation: i64, observed: i64, phase: Phase, message: &str) -> ServiceInstance {
        let mut instance = ServiceInstance::new(
            "dms",
            ServiceInstanceSpec { catalog_item: "dms".into(), plan: "small".into(), parameters: Default::default() },
        );
        instance.metadata.generation = Some(generation);
        instance.status = Some(ServiceInstanceStatus {
            phase: Some(phase),
            observed_generation: Some(observed),
            conditions: vec![Condition {
                type_: "Ready".into(),
                status: "True".into(),
                reason: "R".into(),
                message: message.into(),
                last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
                observed_generation: None,
            }],
            ..Default::default()
        });
        instance
    }

    #[test]
    fn a_provisioning_order_becomes_ready_or_failed_with_the_controllers_message() {
        let ready = instance(2, 2, Phase::Ready, "all 3 resources are ready");
        assert_eq!(
            next_state(RequestKind::Order, RequestState::Provisioning, Some(&ready)),
            Some((RequestState::Ready, "all 3 resources are ready".into()))
        );
        let failed = instance(1, 1, Phase::Failed, "QuotaExceeded: …");
        assert_eq!(
            next_state(RequestKind::Resize, RequestState::Provisioning, Some(&failed)),
            Some((RequestState::Failed, "QuotaExceeded: …".into()))
        );
    }

    #[test]
    fn a_status_of_an_older_generation_does_not_count() {
        let stale = instance(3, 2, Phase::Ready, "ready on the old plan");
        assert_eq!(next_state(RequestKind::Resize, RequestState::Provisioning, Some(&stale)), None);
        let working = instance(1, 1, Phase::Provisioning, "");
        assert_eq!(next_state(RequestKind::Order, RequestState::Provisioning, Some(&working)), None);
    }

    fn applied_by(mut instance: ServiceInstance, request: &str) -> ServiceInstance {
        instance.metadata.annotations = Some([(REQUEST_ANNOTATION.to_string(), request.to_string())].into());
        instance
    }

    #[test]
    fn an_instance_missing_from_the_cache_is_confirmed_before_anything_moves() {
        for (kind, state) in [
            (RequestKind::Order, RequestState::Provisioning),
            (RequestKind::Resize, RequestState::Provisioning),
            (RequestKind::Retire, RequestState::Retiring),
        ] {
            assert_eq!(next_step(kind, state, "vdi-1", None), Step::Confirm, "{kind:?} {state:?}");
        }
    }

    #[test]
    fn a_cached_instance_that_does_not_show_the_request_yet_is_confirmed() {
        let ready = instance(2, 2, Phase::Ready, "ready on the old plan");
        assert_eq!(next_step(RequestKind::Resize, RequestState::Provisioning, "vdi-2", Some(&ready)), Step::Confirm);
        let older = applied_by(ready.clone(), "vdi-1");
        assert_eq!(next_step(RequestKind::Resize, RequestState::Provisioning, "vdi-2", Some(&older)), Step::Confirm);
        let current = applied_by(ready, "vdi-2");
        assert_eq!(
            next_step(RequestKind::Resize, RequestState::Provisioning, "vdi-2", Some(&current)),
            Step::Move(RequestState::Ready, "ready on the old plan".into())
        );
        let working = applied_by(instance(1, 1, Phase::Provisioning, ""), "vdi-3");
        assert_eq!(next_step(RequestKind::Order, RequestState::Provisioning, "vdi-3", Some(&working)), Step::Wait);
        let retiring = instance(1, 1, Phase::Retiring, "");
        assert_eq!(next_step(RequestKind::Retire, RequestState::Retiring, "vdi-4", Some(&retiring)), Step::Wait);
    }

    #[test]
    fn a_retirement_ends_when_the_instance_is_gone() {
        let live = instance(1, 1, Phase::Retiring, "");
        assert_eq!(next_state(RequestKind::Retire, RequestState::Retiring, Some(&live)), None);
        assert_eq!(
            next_state(RequestKind::Retire, RequestState::Retiring, None),
            Some((RequestState::Retired, String::new()))
        );
        assert!(matches!(
            next_state(RequestKind::Order, RequestState::Provisioning, None),
            Some((RequestState::Failed, _))
        ));
    }
}
