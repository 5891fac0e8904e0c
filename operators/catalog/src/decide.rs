//! Whether and how an instance is provisioned (pure): the checks the controller and the
//! admission webhook share, so that both refuse with the same words.

use makonis_api::{
    catalog::{AdmittedPlan, CatalogItemSpec, ServiceInstance},
    tenancy::Agency,
};
use makonis_catalog::{
    CompiledItem, FieldError, InstanceRef, Rendered,
    error::join,
    quota::{Claim, CreationOrder, Units, check_fits, used_by_others},
    render::{AgencyVars, PlatformVars},
};

/// What the checks found about one instance.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The order cannot be provisioned as it stands.
    Refuse(Refusal),
    /// Provision these resources, holding quota for `admitted`.
    Provision {
        /// The rendered resources and outputs.
        rendered: Rendered,
        /// The plan and totals the instance holds quota for.
        admitted: AdmittedPlan,
        /// Whether the templates refer to the instance's credentials Secret.
        credentials: bool,
    },
}

/// Why an order is refused: a bounded reason and a message that says what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `NoSuchCatalogItem`, `InvalidCatalogItem`, `NotAnAgencyNamespace`, `InvalidOrder`,
    /// `QuotaExceeded`, or a rendering's category (`RenderFailed`, `UndeclaredObject`,
    /// `ForbiddenResource`, `ForeignHostname`).
    pub reason: &'static str,
    /// What is wrong, with JSON-pointer paths where a field is at fault.
    pub message: String,
}

impl Refusal {
    fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self { reason, message: message.into() }
    }
}

/// The catalog item an instance names, as the caller found it.
pub enum ItemLookup<'a> {
    /// No CatalogItem has that name.
    Missing,
    /// It exists but does not compile; the problems are in item coordinates.
    Invalid(&'a [FieldError]),
    /// It exists and compiles.
    Found(&'a CompiledItem),
}

/// Everything the decision depends on.
pub struct Inputs<'a> {
    /// The instance (for a CREATE in the webhook: without a creation time yet).
    pub instance: &'a ServiceInstance,
    /// The catalog item it orders.
    pub item: ItemLookup<'a>,
    /// The agency whose namespace the instance is in, if any.
    pub agency: Option<&'a Agency>,
    /// The agency's other instances.
    pub others: &'a [Claim],
    /// The installation's settings for templates.
    pub platform: &'a PlatformVars,
}

/// Decides. Checks run in the order a person would fix things: the item, the namespace,
/// the order itself, the quota, then the rendering.
pub fn decide(inputs: &Inputs<'_>) -> Decision {
    match try_decide(inputs) {
        Ok(decision) => decision,
        Err(refusal) => Decision::Refuse(refusal),
    }
}

fn try_decide(inputs: &Inputs<'_>) -> Result<Decision, Refusal> {
    let instance = inputs.instance;
    let item_name = &instance.spec.catalog_item;
    let item = match inputs.item {
        ItemLookup::Missing => {
            return Err(Refusal::new(
                "NoSuchCatalogItem",
                format!("/spec/catalogItem: no catalog item `{item_name}` is published (see kubectl get catalogitems)"),
            ));
        }
        ItemLookup::Invalid(problems) => {
            return Err(Refusal::new(
                "InvalidCatalogItem",
                format!(
                    "catalog item `{item_name}` is invalid and cannot be ordered until the platform fixes it: {}",
                    join(problems)
                ),
            ));
        }
        ItemLookup::Found(item) => item,
    };
    let namespace = instance.metadata.namespace.as_deref().unwrap_or_default();
    let agency = inputs.agency.ok_or_else(|| {
        Refusal::new(
            "NotAnAgencyNamespace",
            format!(
                "namespace `{namespace}` belongs to no agency: order services in an agency's namespace (agency-<code>)"
            ),
        )
    })?;
    let host_domains = agency.hostname_domains(&inputs.platform.apps_domain);
    let order = item
        .check_order(&instance.spec.plan, &instance.spec.parameters, &host_domains)
        .map_err(|errors| Refusal::new("InvalidOrder", join(&errors)))?;
    let need = Units::of_plan(&order.plan.resources)
        .map_err(|e| Refusal::new("InvalidCatalogItem", format!("plan `{}`: {e}", order.plan.name)))?;
    let admitted = AdmittedPlan { plan: order.plan.name.clone(), resources: order.plan.resources.clone() };
    let already_holds = instance.status.as_ref().and_then(|s| s.admitted.as_ref()) == Some(&admitted);
    if !already_holds {
        let limit = Units::of_quota(&agency.spec.quota)
            .map_err(|e| Refusal::new("QuotaExceeded", format!("agency `{}` quota: {e}", agency.spec.code)))?;
        let used = used_by_others(&creation_order(instance), inputs.others);
        check_fits(limit, used, need).map_err(|exceeded| {
            Refusal::new(
                "QuotaExceeded",
                format!(
                    "/spec/plan: plan `{}` does not fit in agency `{}`'s quota: {exceeded}; choose a smaller plan, retire another instance or ask for a larger quota",
                    order.plan.name, agency.spec.code
                ),
            )
        })?;
    }
    let name = instance.metadata.name.as_deref().unwrap_or_default();
    let reference = InstanceRef {
        name,
        namespace,
        agency: AgencyVars {
            code: agency.spec.code.clone(),
            display_name: makonis_api::catalog::LocalizedTitle {
                lv: agency.spec.display_name.lv.clone(),
                en: agency.spec.display_name.en.clone(),
            },
        },
        host_domains: &host_domains,
    };
    let rendered = item
        .render(&reference, &order, inputs.platform)
        .map_err(|e| Refusal::new(e.category(), format!("catalog item `{item_name}`: {e}")))?;
    Ok(Decision::Provision { rendered, admitted, credentials: item.uses_credentials() })
}

/// An instance's place in the creation order; one not created yet (an admission
/// request) comes after every existing one.
pub fn creation_order(instance: &ServiceInstance) -> CreationOrder {
    CreationOrder {
        created: instance
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0.to_string())
            .unwrap_or_else(|| "9999-12-31T23:59:59Z".into()),
        name: instance.metadata.name.clone().unwrap_or_default(),
    }
}

/// How another instance of the agency counts in the quota check: by what it holds, or
/// (while the controller has not yet decided about it) by what its plan needs.
pub fn claim_of(instance: &ServiceInstance, item: Option<&CatalogItemSpec>) -> Claim {
    let status = instance.status.as_ref();
    let holding = status.and_then(|s| s.admitted.as_ref()).and_then(|a| Units::of_plan(&a.resources).ok());
    let undecided = status.and_then(|s| s.phase).is_none();
    let request = item
        .filter(|_| undecided)
        .and_then(|item| item.plans.iter().find(|p| p.name == instance.spec.plan))
        .and_then(|plan| Units::of_plan(&plan.resources).ok());
    Claim { order: creation_order(instance), holding, request }
}

#[cfg(test)]
mod tests {
    use makonis_api::catalog::ServiceInstanceStatus;
    use serde_json::json;

    use super::*;
    use crate::test_support::{agency, instance, item};

    fn decide_for(instance: &ServiceInstance, item: ItemLookup<'_>, others: &[Claim]) -> Decision {
        let agency = agency();
        decide(&Inputs { instance, item, agency: Some(&agency), others, platform: &PlatformVars::default() })
    }

    fn refusal(decision: Decision) -> (&'static str, String) {
        match decision {
            Decision::Refuse(refusal) => (refusal.reason, refusal.message),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_order_is_rendered_with_defaults_and_the_plan_admitted() {
        let item = item();
        let Decision::Provision { rendered, admitted, credentials } =
            decide_for(&instance("web", "small", json!({}), 1), ItemLookup::Found(&item), &[])
        else {
            panic!("refused")
        };
        assert_eq!(rendered.objects[0].object["data"]["greeting"], "Sveiki");
        assert_eq!(rendered.objects[0].object["metadata"]["namespace"], "agency-vdi");
        assert_eq!(admitted.plan, "small");
        assert!(!credentials);
    }

    #[test]
    fn refusals_name_the_field_and_say_what_to_do() {
        let item = item();
        let (reason, message) = refusal(decide_for(&instance("web", "small", json!({}), 1), ItemLookup::Missing, &[]));
        assert_eq!(reason, "NoSuchCatalogItem");
        assert!(message.starts_with("/spec/catalogItem: no catalog item `web` is published"), "{message}");
        let problems = [FieldError::new("/spec/templates/0/template", "`config` does not parse")];
        let (reason, message) =
            refusal(decide_for(&instance("web", "small", json!({}), 1), ItemLookup::Invalid(&problems), &[]));
        assert_eq!(reason, "InvalidCatalogItem");
        assert!(message.ends_with("/spec/templates/0/template: `config` does not parse"), "{message}");
        let (reason, message) = refusal(decide_for(
            &instance("web", "xl", json!({"greeting": "far too long a greeting"}), 1),
            ItemLookup::Found(&item),
            &[],
        ));
        assert_eq!(reason, "InvalidOrder");
        assert_eq!(
            message,
            "/spec/plan: catalog item `web` has no plan `xl` (plans: small, big); /spec/parameters/greeting: must be at most 10 characters long"
        );
    }

    #[test]
    fn orders_outside_an_agency_namespace_are_refused() {
        let item = item();
        let mut order = instance("web", "small", json!({}), 1);
        order.metadata.namespace = Some("default".into());
        let decision = decide(&Inputs {
            instance: &order,
            item: ItemLookup::Found(&item),
            agency: None,
            others: &[],
            platform: &PlatformVars::default(),
        });
        assert_eq!(refusal(decision).0, "NotAnAgencyNamespace");
    }

    #[test]
    fn quota_counts_holders_and_earlier_undecided_orders() {
        let item = item();
        let spec = &item.spec().plans;
        let units = |plan: usize| Units::of_plan(&spec[plan].resources).ok();
        // Holds 6 CPUs (big); an earlier undecided order asks for 1; 1 of 8 is left.
        let others = [
            claim_of(&held("a", 1), Some(item.spec())),
            Claim { order: creation_order(&instance("b", "small", json!({}), 2)), holding: None, request: units(0) },
        ];
        assert_eq!(used_by_others(&creation_order(&instance("c", "small", json!({}), 3)), &others).cpu, 7000);
        let (reason, message) =
            refusal(decide_for(&instance("c", "big", json!({}), 3), ItemLookup::Found(&item), &others));
        assert_eq!(reason, "QuotaExceeded");
        assert!(message.contains("the plan needs 6 cpu but only 1 of the agency's 8 is left"), "{message}");
        assert!(matches!(
            decide_for(&instance("c", "small", json!({}), 3), ItemLookup::Found(&item), &others),
            Decision::Provision { .. }
        ));
    }

    #[test]
    fn an_instance_keeps_what_it_holds_even_when_quota_shrank() {
        let item = item();
        let mut running = held("a", 1);
        running.metadata.name = Some("a".into());
        // Another instance holds 6 CPUs too: 12 of 8 are in use, but `a` holds its 6 already.
        let others = [claim_of(&held("b", 2), Some(item.spec()))];
        assert!(matches!(decide_for(&running, ItemLookup::Found(&item), &others), Decision::Provision { .. }));
    }

    /// An instance of plan `big` that was admitted with it.
    fn held(name: &str, second: u32) -> ServiceInstance {
        let mut instance = instance(name, "big", json!({}), second);
        let plan = item().plan("big").unwrap().clone();
        instance.status = Some(ServiceInstanceStatus {
            phase: Some(makonis_api::catalog::Phase::Ready),
            admitted: Some(AdmittedPlan { plan: plan.name, resources: plan.resources }),
            ..Default::default()
        });
        instance
    }
}
