//! Fixtures for the unit tests: an item, an agency and an instance, small but valid.

use makonis_api::{
    catalog::{CatalogItem, ServiceInstance, ServiceInstanceSpec},
    tenancy::Agency,
};
use makonis_catalog::CompiledItem;
use serde_json::{Value, json};

/// A compiled item `web` with plans `small` (1 CPU) and `big` (6 CPUs), a parameter
/// `greeting` (default `Sveiki`, at most 10 characters) and one ConfigMap template.
pub fn item() -> CompiledItem {
    let item: CatalogItem = serde_yaml_ng::from_str(ITEM).expect("the fixture item parses");
    CompiledItem::compile("web", &item.spec).expect("the fixture item compiles")
}

const ITEM: &str = r#"
apiVersion: catalog.makonis.lv/v1alpha1
kind: CatalogItem
metadata: {name: web}
spec:
  title: {lv: Tīmeklis, en: Web}
  description: {lv: Tīmeklis, en: Web}
  category: WebHosting
  owner: {team: Platforma, email: platform@lm.gov.lv}
  icon: globe
  version: 1.0.0
  parameters:
    type: object
    properties:
      greeting: {type: string, title: Greeting, x-title-lv: Sveiciens, default: Sveiki, maxLength: 10}
  plans:
    - name: small
      title: {lv: Mazs, en: Small}
      resources: {cpu: "1", memory: 1Gi, storage: "0", replicas: 1}
      monthlyPriceEur: "10.00"
      sla: &sla
        availabilityPercent: 99
        supportHours: 24x7
        incidentTargets:
          p1: {response: 1h, restore: 4h}
          p2: {response: 1h, restore: 4h}
          p3: {response: 1h, restore: 4h}
          p4: {response: 1h, restore: 4h}
        rpo: 1d
        rto: 1d
    - name: big
      title: {lv: Liels, en: Big}
      resources: {cpu: "6", memory: 1Gi, storage: "0", replicas: 1}
      monthlyPriceEur: "60.00"
      sla: *sla
  templates:
    - name: config
      template: |
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: '{{ instance.name }}'}
        data: {greeting: {{ parameters.greeting | json_encode() }}}
"#;

/// The agency `vdi` with a quota of 8 CPUs.
pub fn agency() -> Agency {
    serde_json::from_value(json!({
        "apiVersion": "tenancy.makonis.lv/v1alpha1",
        "kind": "Agency",
        "metadata": {"name": "vdi"},
        "spec": {
            "code": "vdi",
            "displayName": {"lv": "Valsts darba inspekcija", "en": "State Labour Inspectorate"},
            "quota": {"cpu": "8", "memory": "32Gi", "storage": "1Ti", "virtualMachines": 0,
                      "mailboxes": 0, "serviceInstances": 10},
            "directory": {"organizationalUnit": "OU=VDI,DC=lm,DC=gov,DC=lv", "groups": {
                "admins": "a", "requesters": "r", "approvers": "p", "securityOfficers": "s", "viewers": "v"}},
            "contacts": [{"name": "A", "email": "a@vdi.gov.lv", "phone": "+371 67000000"}]
        }
    }))
    .expect("the fixture agency")
}

/// An instance `name` of `web` in `agency-vdi`, created at second `second` of a minute.
pub fn instance(name: &str, plan: &str, parameters: Value, second: u32) -> ServiceInstance {
    let mut instance =
        ServiceInstance::new(name, ServiceInstanceSpec { catalog_item: "web".into(), plan: plan.into(), parameters });
    instance.metadata.namespace = Some("agency-vdi".into());
    instance.metadata.generation = Some(1);
    instance.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        format!("2026-11-28T10:00:{second:02}Z").parse().unwrap(),
    ));
    instance
}
