//! The `CatalogItem` kind: one service the platform offers to agencies.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::{api::resource::Quantity, apis::meta::v1::Condition};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{LocalizedText, LocalizedTitle, Sla};
use crate::quantity::{NON_NEGATIVE_QUANTITY, NON_NEGATIVE_QUANTITY_MESSAGE};

/// A catalog item's name: a DNS label of at most 40 characters.
pub const ITEM_NAME_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$";
/// A plan, template or output name: a DNS label of at most 40 characters.
const LOCAL_NAME_PATTERN: &str = ITEM_NAME_PATTERN;

/// A service of the catalog: what an agency can order, in which plans, at what price and
/// with which SLA, and the resources an order creates.
///
/// Items are data: publishing a new service or changing an SLA is a YAML change, never a
/// new controller. The parameter schema, the templates and the plans are checked when the
/// item is applied (by the API server and the catalog's admission webhook); an invalid
/// item is refused with the path of the offending field.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "catalog.makonis.lv",
    version = "v1alpha1",
    kind = "CatalogItem",
    plural = "catalogitems",
    singular = "catalogitem",
    shortname = "ci",
    category = "makonis",
    status = "CatalogItemStatus",
    printcolumn(name = "Title", type_ = "string", json_path = ".spec.title.en"),
    printcolumn(name = "Category", type_ = "string", json_path = ".spec.category"),
    printcolumn(name = "Version", type_ = "string", json_path = ".spec.version"),
    printcolumn(
        name = "Orderable",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason",
        priority = 1
    ),
    printcolumn(name = "Approval", type_ = "string", json_path = ".spec.approval", priority = 1),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("size(self.metadata.name) <= 40")
        .message("metadata.name: a catalog item's name is at most 40 characters"),
)]
#[x_kube(validation = Rule::new("!has(self.retainOnRetire) || self.retainOnRetire.all(r, self.templates.exists(t, t.name == r))")
    .message("every name in retainOnRetire must be the name of a template")
    .field_path(".retainOnRetire"))]
#[serde(rename_all = "camelCase")]
pub struct CatalogItemSpec {
    /// The service's name as shown in the catalog.
    pub title: LocalizedTitle,
    /// What the service is and who it is for.
    pub description: LocalizedText,
    /// The catalog section the item is listed under.
    pub category: Category,
    /// The team responsible for the service.
    pub owner: Owner,
    /// Search keywords, lower case, e.g. `documents`, `e-signature`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20), inner(regex(pattern = r"^[a-z0-9][-a-z0-9ēūīāšģķļžčņ]{0,31}$")))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub tags: Vec<String>,
    /// Name of the icon the portal shows, from its icon set, e.g. `folder`, `database`.
    #[schemars(length(min = 1, max = 40), regex(pattern = r"^[a-z0-9-]+$"))]
    pub icon: String,
    /// Version of the item (semantic versioning), raised with every published change.
    #[schemars(regex(pattern = r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$"))]
    pub version: String,
    /// JSON Schema of the order's parameters: an object schema in the subset of draft
    /// 2020-12 described in docs/catalog-authoring.md (types, enum, const, default,
    /// minimum/maximum, lengths, pattern, format, required, nested objects and arrays,
    /// titles and descriptions in Latvian and English). The single source of validation
    /// for the controller, the admission webhook and the portal's order form.
    #[serde(default = "empty_object_schema")]
    #[schemars(schema_with = "super::free_form_object")]
    pub parameters: Value,
    /// The plans an agency chooses from (sizes), each with resources, price and SLA.
    #[schemars(length(min = 1, max = 10))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub plans: Vec<Plan>,
    /// Who approves an order before it is provisioned. Defaults to `AgencyApprover`.
    #[serde(default)]
    pub approval: Approval,
    /// The resources an instance creates, as Tera templates of Kubernetes objects (see
    /// docs/catalog-authoring.md for the variables). A template that renders to nothing
    /// creates nothing.
    #[schemars(length(min = 1, max = 30))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub templates: Vec<Template>,
    /// What the user is shown about a running instance: URLs, host names, connection
    /// details. Never secrets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub outputs: Vec<Output>,
    /// How the platform measures each instance's availability against its plan's SLA:
    /// the controller creates a `Probe` of this output and a `ServiceLevelObjective` from
    /// the plan's SLA for every instance. Without it, instances are not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<ItemProbe>,
    /// Names of the templates whose resources hold data (volumes, databases) and are kept
    /// when an instance is retired: they are released from the instance, labelled
    /// `makonis.lv/retained=true`, and reported. Claims and volumes of the other templates
    /// are deleted by the catalog controller when the instance retires, never by the
    /// garbage collector (so no deletion of an instance can take retained data with it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 30), inner(regex(pattern = LOCAL_NAME_PATTERN)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub retain_on_retire: Vec<String>,
}

/// Whether the item can be ordered, as the catalog controller found it.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct CatalogItemStatus {
    /// `Ready`: `True` (reason `Orderable`) when the item's schema, plans and templates
    /// compile and it can be ordered; `False` (reason `InvalidCatalogItem`) with every
    /// problem and the path of its field otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

fn empty_object_schema() -> Value {
    serde_json::json!({"type": "object"})
}

/// The catalog section an item is listed under.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// The sector's business applications (document management, registers, case systems).
    Applications,
    /// Databases.
    Databases,
    /// Hosting of web applications.
    WebHosting,
    /// Publishing open data.
    OpenData,
    /// Virtual machines and storage.
    Compute,
}

/// The team responsible for a service.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Owner {
    /// The team's name, e.g. `Lietvedības sistēmu komanda`.
    #[schemars(length(min = 1, max = 128))]
    pub team: String,
    /// The team's e-mail address.
    #[schemars(length(min = 3, max = 254), regex(pattern = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"))]
    pub email: String,
}

/// One size of a service.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The plan's name, e.g. `small`: a DNS label of at most 40 characters.
    #[schemars(length(min = 1, max = 40), regex(pattern = LOCAL_NAME_PATTERN))]
    pub name: String,
    /// The plan's name as shown to people.
    pub title: LocalizedTitle,
    /// Who the plan is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<LocalizedText>,
    /// What an instance of this plan counts against its agency's quota (the totals of
    /// everything it runs), and its replica count.
    pub resources: PlanResources,
    /// Plan-specific values the templates use (sizes of each component, limits), e.g.
    /// `appCpu: 500m`, `dbStorage: 20Gi`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "super::free_form_object")]
    pub settings: BTreeMap<String, Value>,
    /// Price per month in euro without VAT, with at most two decimals, e.g. `"120.00"`.
    #[schemars(regex(pattern = r"^[0-9]{1,7}(\.[0-9]{1,2})?$"))]
    pub monthly_price_eur: String,
    /// The service level the plan promises.
    pub sla: Sla,
}

/// The totals an instance of a plan counts against its agency's quota.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct PlanResources {
    /// CPU cores requested in total, e.g. `"2"` or `1500m`.
    #[x_kube(validation = Rule::new(NON_NEGATIVE_QUANTITY).message(NON_NEGATIVE_QUANTITY_MESSAGE))]
    pub cpu: Quantity,
    /// Memory requested in total, e.g. `4Gi`.
    #[x_kube(validation = Rule::new(NON_NEGATIVE_QUANTITY).message(NON_NEGATIVE_QUANTITY_MESSAGE))]
    pub memory: Quantity,
    /// Persistent storage claimed in total, e.g. `50Gi`; `0` for none.
    #[x_kube(validation = Rule::new(NON_NEGATIVE_QUANTITY).message(NON_NEGATIVE_QUANTITY_MESSAGE))]
    pub storage: Quantity,
    /// Replicas of the service's main workload (at least 1).
    #[schemars(range(min = 1, max = 50))]
    pub replicas: i32,
}

/// Who approves an order.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Approval {
    /// No approval: an order is provisioned at once.
    None,
    /// The agency's approvers approve each order.
    #[default]
    AgencyApprover,
    /// The agency's approvers, then the platform's operators.
    AgencyApproverThenPlatform,
}

/// One template: Tera source that renders to zero or more Kubernetes objects (YAML
/// documents separated by `---`).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// The template's name, e.g. `deployment`, `data-volume`; named in error messages and
    /// in `retainOnRetire`.
    #[schemars(length(min = 1, max = 40), regex(pattern = LOCAL_NAME_PATTERN))]
    pub name: String,
    /// Tera source of the objects.
    #[schemars(length(min = 1, max = 65536))]
    pub template: String,
}

/// One value shown to the user of an instance.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// The output's name, e.g. `url`.
    #[schemars(length(min = 1, max = 40), regex(pattern = LOCAL_NAME_PATTERN))]
    pub name: String,
    /// What the value is, as shown to people.
    pub title: LocalizedTitle,
    /// Tera source of the value, e.g. `https://{{ instance.host }}/`.
    #[schemars(length(min = 1, max = 2048))]
    pub value: String,
}

/// Which output of an instance is probed, and how.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[x_kube(validation = Rule::new("!has(self.bodyMatch) && !has(self.expectedStatus) && !has(self.path) || self.kind == 'HTTP'")
    .message("path, expectedStatus and bodyMatch apply to HTTP probes only"))]
#[serde(rename_all = "camelCase")]
pub struct ItemProbe {
    /// Name of the output whose value is probed: an `http(s)://` URL for `HTTP`, or
    /// `host:port` for `TCP`.
    #[schemars(length(min = 1, max = 40), regex(pattern = LOCAL_NAME_PATTERN))]
    pub output: String,
    /// `HTTP` (a request with an expected answer) or `TCP` (a connect).
    pub kind: ItemProbeKind,
    /// Path requested instead of the URL's own, e.g. `/healthz`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512), regex(pattern = r"^/\S*$"))]
    pub path: Option<String>,
    /// Status codes that count as up. Empty: any of 200–399.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20), inner(range(min = 100, max = 599)))]
    pub expected_status: Vec<i32>,
    /// A regular expression the body must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub body_match: Option<String>,
    /// How often to probe, e.g. `30s` (at least `5s`, the probe's timeout).
    #[serde(default = "default_probe_interval")]
    #[schemars(regex(pattern = crate::slo::PROBE_DURATION_PATTERN))]
    #[x_kube(validation = Rule::new("duration(self) >= duration('5s')").message("interval must be at least 5s"))]
    pub interval: String,
}

fn default_probe_interval() -> String {
    "30s".into()
}

/// How an item's instances are probed.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemProbeKind {
    /// An HTTP(S) request.
    #[serde(rename = "HTTP")]
    Http,
    /// A TCP connect.
    #[serde(rename = "TCP")]
    Tcp,
}
