//! How a request follows its instance: pure decisions from the instance's status.

use makonis_api::catalog::{Phase, ServiceInstance};

use crate::workflow::{RequestKind, RequestState};

/// Where a request applied to the cluster should move, seeing its instance (or its
/// absence), and the message to record; `None` while it should wait.
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
