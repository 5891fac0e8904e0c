//! The `ServiceInstance` kind: one service an agency ordered from the catalog.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ITEM_NAME_PATTERN, LocalizedTitle, PlanResources};

/// A service ordered from the catalog, in the ordering agency's namespace.
///
/// The catalog controller validates the parameters against the item's schema (filling in
/// defaults), checks the agency's quota in catalog units, renders the item's templates and
/// applies the resulting resources, then reports their readiness here. Changing the plan
/// or the parameters re-renders (a resize); deleting the instance retires it, keeping the
/// resources the item retains.
// Clippy reads the repeated `type_ = "string"` of the printcolumns as duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "catalog.makonis.lv",
    version = "v1alpha1",
    kind = "ServiceInstance",
    plural = "serviceinstances",
    singular = "serviceinstance",
    shortname = "si",
    category = "makonis",
    namespaced,
    status = "ServiceInstanceStatus",
    printcolumn(name = "Item", type_ = "string", json_path = ".spec.catalogItem"),
    printcolumn(name = "Plan", type_ = "string", json_path = ".spec.plan"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason",
        priority = 1
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInstanceSpec {
    /// Name of the `CatalogItem` ordered. Immutable: order a new instance instead.
    #[schemars(length(min = 1, max = 40), regex(pattern = ITEM_NAME_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("catalogItem is immutable: order a new instance"))]
    pub catalog_item: String,
    /// Name of the item's plan. Changing it resizes the instance.
    #[schemars(length(min = 1, max = 40), regex(pattern = ITEM_NAME_PATTERN))]
    pub plan: String,
    /// The order's parameters, checked against the item's parameter schema; omitted
    /// values take the schema's defaults.
    #[serde(default = "empty_object")]
    #[schemars(schema_with = "super::free_form_object")]
    pub parameters: Value,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// What the catalog controller last observed and did for an instance.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInstanceStatus {
    /// Where the instance is in its life: `Provisioning`, `Ready`, `Degraded`, `Failed`
    /// or `Retiring`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// `Ready` (every resource is ready; otherwise the message names the one that is not
    /// and why) and `Degraded` (the last reconcile failed; the message says why). Each
    /// carries a reason and a human message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The plan the instance was last admitted with, and what it counts against the
    /// agency's quota. A resize that does not fit leaves this unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admitted: Option<AdmittedPlan>,
    /// The values the item shows the user (URLs, host names), rendered for this instance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<OutputValue>,
    /// The resources the instance created, each with its readiness.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ChildStatus>,
    /// The resources kept when the instance is retired (filled in while `Retiring`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retained: Vec<ChildStatus>,
}

/// The life-cycle phase of an instance.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Resources are being created or are not ready yet.
    Provisioning,
    /// Every resource is ready.
    Ready,
    /// The instance was ready, but a resource is not ready now or the last change failed.
    Degraded,
    /// The order cannot be provisioned as it stands (invalid parameters, no such plan,
    /// over quota, a template error); the `Ready` condition says why.
    Failed,
    /// The instance is being deleted: its resources are removed, retained ones released.
    Retiring,
}

/// The plan an instance holds quota for.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AdmittedPlan {
    /// The plan's name.
    pub plan: String,
    /// What the plan counts against the agency's quota.
    pub resources: PlanResources,
}

/// One rendered output of an instance.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct OutputValue {
    /// The output's name in the item.
    pub name: String,
    /// What the value is, as shown to people.
    pub title: LocalizedTitle,
    /// The value, e.g. `https://dms.vdi.apps.makonis.lv/`.
    pub value: String,
}

/// One resource of an instance and its readiness.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ChildStatus {
    /// API version of the resource, e.g. `apps/v1`.
    pub api_version: String,
    /// Kind of the resource, e.g. `Deployment`.
    pub kind: String,
    /// Name of the resource, in the instance's namespace.
    pub name: String,
    /// Whether the resource is ready.
    pub ready: bool,
    /// Why it is not ready, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
