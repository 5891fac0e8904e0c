//! Threats: host names (see docs/security/threat-model.md, "Tenants steering the
//! platform").
//!
//! The platform's CA issues a certificate for every host an instance's Ingress names. A
//! requester may name only the agency's own hosts: under `<code>.<appsDomain>` or under a
//! domain the platform administrators listed on the Agency. The catalog's webhook (with
//! the catalog operator as its own ServiceAccount, behind the real API server) refuses
//! every other host, whether an order names it or a template builds it; the portal's
//! order action refuses it with the field named.

use kube::{Api, api::PostParams};
use makonis_api::catalog::{CatalogItem, ServiceInstance, Template};
use makonis_portal::{
    actions::{
        ActionError,
        order::{OrderInput, preview},
    },
    workflow::RequestKind,
};
use serde_json::{Value, json};

use crate::support::{
    catalog::{CatalogRun, test_item},
    cluster_portal::ClusterPortal,
};

/// The test item with a `hostname` parameter (`format: hostname`), a free-text `site`
/// parameter, and an Ingress for `hostname`, or for `<site>.lm.gov.lv` when `site` is
/// given: the second is how a template could build a host no schema rule sees.
fn item_with_ingress(name: &str) -> CatalogItem {
    let mut item = test_item(name);
    let properties = &mut item.spec.parameters["properties"];
    properties["hostname"] =
        json!({"type": "string", "title": "Host name", "x-title-lv": "Resursdatora nosaukums", "format": "hostname"});
    properties["site"] = json!({"type": "string", "title": "Site", "x-title-lv": "Vietne", "maxLength": 20});
    item.spec.templates.push(Template {
        name: "ingress".into(),
        template: r#"{%- set host = parameters.hostname | default(value=instance.host) -%}
{%- if parameters.site %}{% set host = parameters.site ~ ".lm.gov.lv" %}{% endif -%}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ instance.name }}
  annotations: {cert-manager.io/cluster-issuer: {{ platform.tlsIssuer }}}
spec:
  ingressClassName: {{ platform.ingressClass }}
  tls: [{hosts: [{{ host }}], secretName: {{ instance.name ~ "-tls" }}}]
  rules:
    - host: {{ host }}
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: {{ instance.name }}, port: {number: 80}}}}]}
"#
        .into(),
    });
    item
}

/// The message of a refused create.
async fn refusal(api: &Api<ServiceInstance>, instance: &ServiceInstance) -> String {
    match api.create(&PostParams::default(), instance).await {
        Err(kube::Error::Api(status)) => status.message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn an_order_cannot_name_a_host_outside_its_agency() {
    let run = CatalogRun::start(300).await;
    let namespace = run.agency_with("hst", |agency| agency.spec.domains = vec!["vdi.gov.lv".into()]).await;
    let code = namespace.trim_start_matches("agency-").to_string();
    let item = run.item_name("web");
    run.publish(item_with_ingress(&item)).await.expect("publish");
    let instances: Api<ServiceInstance> = Api::namespaced(run.admin.clone(), &namespace);
    let order = |name: &str, parameters: Value| run.instance(&namespace, name, &item, "small", parameters);

    for foreign in
        ["www.lm.gov.lv", "dms.nva.apps.makonis.lv", "apps.makonis.lv", "vdi.gov.lv.evil.example", "*.vdi.gov.lv"]
    {
        let message = refusal(&instances, &order("svesa", json!({"hostname": foreign}))).await;
        let expected = if foreign.starts_with('*') {
            "InvalidOrder: /spec/parameters/hostname: must be a valid host name".to_string()
        } else {
            format!("InvalidOrder: /spec/parameters/hostname: `{foreign}` is not one of the agency's host names")
        };
        assert!(message.contains(&expected), "{foreign}: {message}");
    }
    // The agency's own names are accepted: under its apps domain and under the domain
    // the platform administrators listed.
    for (name, host) in [("sava", format!("portals.{code}.apps.makonis.lv")), ("iestades", "dati.vdi.gov.lv".into())] {
        instances.create(&PostParams::default(), &order(name, json!({"hostname": host}))).await.expect(name);
    }
    run.finish().await;
}

#[tokio::test]
async fn a_template_cannot_build_a_host_outside_its_agency() {
    let run = CatalogRun::start(300).await;
    let namespace = run.agency("tpl").await;
    let item = run.item_name("web");
    run.publish(item_with_ingress(&item)).await.expect("publish");
    let instances: Api<ServiceInstance> = Api::namespaced(run.admin.clone(), &namespace);
    let order = run.instance(&namespace, "vietne", &item, "small", json!({"site": "www"}));
    let message = refusal(&instances, &order).await;
    assert!(
        message.contains("ForeignHostname: ")
            && message.contains("template `ingress`: Ingress `vietne`: /spec/rules/0/host: `www.lm.gov.lv` is not one of the agency's host names"),
        "{message}"
    );
    assert!(message.contains("/spec/tls/0/hosts/0: `www.lm.gov.lv`"), "{message}");
    run.finish().await;
}

#[tokio::test]
async fn the_portal_refuses_a_foreign_host_with_the_field_named() {
    let run = CatalogRun::start(300).await;
    let namespace = run.agency_with("prt", |agency| agency.spec.domains = vec!["vdi.gov.lv".into()]).await;
    let code = namespace.trim_start_matches("agency-").to_string();
    let item = run.item_name("web");
    run.publish(item_with_ingress(&item)).await.expect("publish");
    let portal = ClusterPortal::start(&run, false).await;
    portal.wait_for_item(&code, &item).await;
    let context = &portal.context;
    let requester = portal.actor("anna", format!("{}-Requesters", code.to_uppercase()));
    let input = |hostname: &str| OrderInput {
        agency: code.clone(),
        catalog_item: item.clone(),
        plan: "small".into(),
        instance: "vietne".into(),
        parameters: json!({"hostname": hostname}),
    };
    match preview(context, &requester, &input("www.lm.gov.lv"), RequestKind::Order).await {
        Err(ActionError::Invalid(errors)) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].path, "/hostname");
            assert!(errors[0].message.contains("`www.lm.gov.lv` is not one of the agency's host names"), "{errors:?}");
        }
        other => panic!("expected the field to be refused, got {:?}", other.map(|p| p.parameters)),
    }
    let own = preview(context, &requester, &input("dati.vdi.gov.lv"), RequestKind::Order).await;
    assert!(own.is_ok(), "the agency's own name is accepted: {:?}", own.err());
    drop(portal);
    run.finish().await;
}
