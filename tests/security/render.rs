//! Threats: order parameters and rendered objects (see docs/security/threat-model.md).
//!
//! A requester's parameters reach every item's templates; an item's templates are
//! written by catalog authors. Neither may turn a value into YAML syntax, nor render a
//! workload or Service that reaches beyond the instance. Most tests judge the catalog
//! core directly (the same functions the webhook, the controller and the portal call);
//! one orders through the real API server and its admission webhook.

use std::{collections::BTreeMap, fs, path::PathBuf};

use kube::{Api, api::PostParams};
use makonis_api::catalog::{CatalogItem, ServiceInstance};
use makonis_catalog::{
    CompiledItem, InstanceRef, RenderError, Rendered,
    render::{AgencyVars, PlatformVars},
};
use proptest::{
    prelude::*,
    test_runner::{Config, TestCaseError, TestRunner},
};
use serde_json::{Value, json};

use crate::support::catalog::CatalogRun;

/// The instance every rendering here is for: `sample` of the agency `vdi`.
const INSTANCE: &str = "sample";
const NAMESPACE: &str = "agency-vdi";

fn host_domains() -> Vec<String> {
    vec!["vdi.apps.makonis.lv".into(), "vdi.gov.lv".into()]
}

fn instance(domains: &[String]) -> InstanceRef<'_> {
    InstanceRef {
        name: INSTANCE,
        namespace: NAMESPACE,
        agency: AgencyVars {
            code: "vdi".into(),
            display_name: makonis_api::catalog::LocalizedTitle {
                lv: "Valsts darba inspekcija".into(),
                en: "State Labour Inspectorate".into(),
            },
        },
        host_domains: domains,
    }
}

/// Every shipped item (`catalog/items/*.yaml`), found on disk.
fn shipped_items() -> Vec<CatalogItem> {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("catalog/items");
    let mut files: Vec<PathBuf> = fs::read_dir(&directory)
        .expect("catalog/items")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 7, "the shipped items are found: {files:?}");
    files
        .iter()
        .map(|file| serde_yaml_ng::from_str(&fs::read_to_string(file).expect("readable")).expect("a CatalogItem"))
        .collect()
}

fn compile(item: &CatalogItem) -> CompiledItem {
    let name = item.metadata.name.clone().unwrap_or_default();
    CompiledItem::compile(&name, &item.spec).unwrap_or_else(|e| panic!("{name} compiles: {e:?}"))
}

/// A value of `schema` that its own rules accept: its default, its first example, or
/// one built from its type.
fn benign(schema: &Value) -> Option<Value> {
    if let Some(value) = schema.get("default").or_else(|| schema.get("examples").and_then(|e| e.get(0))) {
        return Some(value.clone());
    }
    if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
        return Some(first.clone());
    }
    Some(match schema.get("type")?.as_str()? {
        "string" => json!(match schema.get("format").and_then(Value::as_str) {
            Some("email") => "atbildigais@vdi.gov.lv",
            Some("hostname") => "portals.vdi.gov.lv",
            Some("uri") => "https://www.vdi.gov.lv/",
            Some("date") => "2025-05-02",
            Some("ipv4") => "10.0.0.1",
            Some("dns-label") => "sample-db",
            _ if schema.get("pattern").is_some() => return None,
            _ => "Sveiki",
        }),
        "integer" | "number" => schema.get("minimum").cloned().unwrap_or(json!(1)),
        "boolean" => json!(false),
        "array" => {
            let minimum = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0);
            Value::Array((0..minimum).map(|_| benign(&schema["items"])).collect::<Option<_>>()?)
        }
        "object" => {
            let mut object = serde_json::Map::new();
            for name in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                let name = name.as_str()?;
                object.insert(name.into(), benign(&schema["properties"][name])?);
            }
            Value::Object(object)
        }
        _ => return None,
    })
}

/// One string parameter: the steps from the root to it (a property name, or `None` for
/// "the first item of the array").
type Steps = Vec<Option<String>>;

/// Every string parameter of a schema, with its schema node.
fn string_parameters(schema: &Value, steps: Steps, found: &mut Vec<(Steps, Value)>) {
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => found.push((steps, schema.clone())),
        Some("object") => {
            for (name, child) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
                let mut next = steps.clone();
                next.push(Some(name.clone()));
                string_parameters(child, next, found);
            }
        }
        Some("array") => {
            let mut next = steps;
            next.push(None);
            string_parameters(&schema["items"], next, found);
        }
        _ => {}
    }
}

/// `base` with `value` at `steps`, creating what lies between from `schema`'s benign
/// values; the JSON pointer of the place.
fn with_value(base: &Value, schema: &Value, steps: &Steps, value: &Value) -> Option<(Value, String)> {
    let mut parameters = base.clone();
    let mut node = &mut parameters;
    let mut node_schema = schema;
    let mut pointer = String::new();
    for (index, step) in steps.iter().enumerate() {
        let last = index + 1 == steps.len();
        match step {
            Some(name) => {
                node_schema = &node_schema["properties"][name];
                let map = node.as_object_mut()?;
                if last {
                    map.insert(name.clone(), value.clone());
                } else if !map.contains_key(name) {
                    map.insert(name.clone(), benign(node_schema).filter(|v| !v.is_null())?);
                }
                pointer.push_str(&format!("/{name}"));
                node = map.get_mut(name)?;
            }
            None => {
                node_schema = &node_schema["items"];
                let items = node.as_array_mut()?;
                if last {
                    items.clear();
                    items.push(value.clone());
                } else if items.is_empty() {
                    items.push(benign(node_schema)?);
                }
                pointer.push_str("/0");
                node = items.get_mut(0)?;
            }
        }
    }
    Some((parameters, pointer))
}

/// The sample order's parameters: each required parameter without a default gets its
/// first example.
fn sample_parameters(schema: &Value) -> Value {
    let mut parameters = serde_json::Map::new();
    for name in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        let property = &schema["properties"][name];
        if property.get("default").is_none()
            && let Some(example) = property.get("examples").and_then(|e| e.get(0))
        {
            parameters.insert(name.into(), example.clone());
        }
    }
    Value::Object(parameters)
}

/// What an order renders to, or the order's refusal.
enum Outcome {
    Refused(Vec<makonis_catalog::FieldError>),
    Rendered(Box<Result<Rendered, RenderError>>),
}

fn order(item: &CompiledItem, plan: &str, parameters: &Value) -> Outcome {
    let domains = host_domains();
    match item.check_order(plan, parameters, &domains) {
        Err(errors) => Outcome::Refused(errors),
        Ok(order) => Outcome::Rendered(Box::new(item.render(&instance(&domains), &order, &PlatformVars::default()))),
    }
}

/// `kind name` of every rendered object, in order.
fn identities(rendered: &Rendered) -> Vec<String> {
    rendered.objects.iter().map(|o| format!("{} {}", o.kind.kind, o.name)).collect()
}

/// Every string in the rendered objects, by JSON pointer.
fn strings(rendered: &Rendered) -> BTreeMap<String, String> {
    fn walk(value: &Value, path: String, out: &mut BTreeMap<String, String>) {
        match value {
            Value::String(text) => {
                out.insert(path, text.clone());
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    walk(item, format!("{path}/{index}"), out);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    walk(item, format!("{path}/{key}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    for (index, object) in rendered.objects.iter().enumerate() {
        walk(&object.object, format!("#{index}"), &mut out);
    }
    out
}

/// The forms a value takes where a template writes it: as it is, inside JSON text, or
/// inside HTML text (Tera's `escape`).
fn written_forms(value: &str) -> [String; 3] {
    let json = serde_json::to_string(value).expect("a JSON string");
    let html = value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2F;");
    [value.to_string(), json[1..json.len() - 1].to_string(), html]
}

/// Pieces of YAML (and JSON, HTML, template and shell) syntax the values are made of.
const METACHARACTERS: &[&str] = &[
    "\n",
    "\r\n",
    "\t",
    "---",
    "...",
    ": ",
    ":",
    "#",
    " #",
    "&a",
    "*a",
    "!!binary",
    "!",
    "'",
    "\"",
    "{",
    "}",
    "[",
    "]",
    "|",
    ">",
    "%YAML",
    "@",
    "`",
    ",",
    "?",
    "- ",
    "\\",
    "\\n",
    "~",
    "null",
    "true",
    "0x1F",
    "1e3",
    "\u{85}",
    "\u{2028}",
    "\u{202e}",
    "\u{feff}",
    "\0",
    "\u{1b}",
    "ā",
    "Rīga",
    "🙂",
    "{{ instance.name }}",
    "{% raw %}",
    "<script>",
    "&amp;",
    "$(id)",
    " ",
    "x",
    "kind: Secret",
    "apiVersion: v1",
    "externalIPs: [1.2.3.4]",
];

/// Pieces without control or invisible characters, which pass the schema's character
/// rule and so reach the templates.
fn printable(piece: &&str) -> bool {
    !piece.chars().any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{202e}' | '\u{feff}'))
}

/// A hostile string: up to eight pieces of syntax, never empty; three in four without
/// control characters (those are refused before any template sees them).
fn hostile() -> impl Strategy<Value = String> {
    let printable: Vec<&str> = METACHARACTERS.iter().copied().filter(printable).collect();
    prop_oneof![
        3 => prop::collection::vec(prop::sample::select(printable), 1..8),
        1 => prop::collection::vec(prop::sample::select(METACHARACTERS), 1..8),
    ]
    .prop_map(|pieces| format!("Q{}", pieces.concat()))
}

/// The marker whose place in a rendering shows where a parameter lands.
const MARKER: &str = "Qmarkerq";

/// For every string parameter of every shipped item, hostile values are either refused
/// at that parameter (with its path) or render exactly the item's own objects (the same
/// kinds, names and number as with a harmless value), with the value intact where the
/// harmless value landed.
#[test]
fn parameter_values_never_become_yaml_syntax_in_any_shipped_item() {
    let rendered_cases = std::cell::Cell::new(0);
    let mut landed_parameters = 0;
    for item in shipped_items() {
        let name = item.metadata.name.clone().unwrap_or_default();
        let compiled = compile(&item);
        let schema = &item.spec.parameters;
        let plan = item.spec.plans[0].name.clone();
        let base = sample_parameters(schema);
        let mut parameters = Vec::new();
        string_parameters(schema, Vec::new(), &mut parameters);
        assert!(!parameters.is_empty(), "{name} has string parameters");
        for (steps, node) in parameters {
            let Some((marked, pointer)) = with_value(&base, schema, &steps, &json!(MARKER)) else { continue };
            // The place and shape of a harmless rendering; a marker the schema refuses
            // (a pattern, a format) leaves only the objects to compare.
            let harmless = match order(&compiled, &plan, &marked) {
                Outcome::Rendered(result) => *result,
                Outcome::Refused(_) => {
                    let benign = benign(&node).unwrap_or(json!("Sveiki"));
                    match with_value(&base, schema, &steps, &benign).map(|(p, _)| order(&compiled, &plan, &p)) {
                        Some(Outcome::Rendered(result)) => *result,
                        _ => continue,
                    }
                }
            };
            let harmless = harmless.unwrap_or_else(|e| panic!("{name}{pointer}: a harmless value renders: {e}"));
            let landing: Vec<(String, String)> =
                strings(&harmless).into_iter().filter(|(_, text)| text.contains(MARKER)).collect();
            landed_parameters += usize::from(!landing.is_empty());
            let mut runner = TestRunner::new(Config { cases: 32, failure_persistence: None, ..Config::default() });
            runner
                .run(&hostile(), |value| {
                    let (parameters, _) = with_value(&base, schema, &steps, &json!(value)).expect("placed");
                    match order(&compiled, &plan, &parameters) {
                        Outcome::Refused(errors) => {
                            let here = format!("/spec/parameters{pointer}");
                            prop_assert!(
                                errors.iter().all(|e| e.path == here),
                                "{name}: {value:?} refused elsewhere than {here}: {errors:?}"
                            );
                        }
                        Outcome::Rendered(result) => {
                            let rendered =
                                result.map_err(|e| TestCaseError::fail(format!("{name}{pointer} {value:?}: {e}")))?;
                            rendered_cases.set(rendered_cases.get() + 1);
                            prop_assert_eq!(
                                identities(&rendered),
                                identities(&harmless),
                                "{}{} {:?}",
                                name,
                                pointer,
                                value
                            );
                            let now = strings(&rendered);
                            for (at, text) in &landing {
                                let landed = now.get(at).map(String::as_str).unwrap_or_default();
                                let intact =
                                    written_forms(&value).iter().any(|form| text.replace(MARKER, form) == landed);
                                prop_assert!(intact, "{name}{pointer}: {value:?} is not intact at {at}: {landed:?}");
                            }
                        }
                    }
                    Ok(())
                })
                .unwrap_or_else(|failure| panic!("{failure}"));
        }
    }
    let rendered_cases = rendered_cases.get();
    assert!(rendered_cases > 150, "hostile values were rendered, not only refused: {rendered_cases}");
    assert!(
        landed_parameters > 8,
        "the values of many parameters were followed to where they land: {landed_parameters}"
    );
}

/// `open-data` as shipped, with `publisherNameEn` allowed to span lines: the quoting, not
/// the refusal of line breaks, is what the next test proves.
fn open_data(multiline_publisher: bool) -> CatalogItem {
    let mut item = shipped_items().into_iter().find(|i| i.metadata.name.as_deref() == Some("open-data")).unwrap();
    if multiline_publisher {
        item.spec.parameters["properties"]["publisherNameEn"]["x-multiline"] = json!(true);
    }
    item
}

/// The published exploit: a publisher name that ends the landing page's block scalar
/// and starts a document of its own, a Service with an external IP (CVE-2020-8554).
const EXTERNAL_IP_EXPLOIT: &str = "State Labour Inspectorate\n---\napiVersion: v1\nkind: Service\nmetadata: {name: \
                                   sample-x}\nspec: {externalIPs: [203.0.113.7], ports: [{port: 80}]}\nz: |-\n";

#[test]
fn a_publisher_name_cannot_add_a_service_with_external_ips() {
    let parameters = json!({"contactEmail": "atvertie.dati@vdi.gov.lv", "publisherNameEn": EXTERNAL_IP_EXPLOIT});
    // As shipped, the line break is refused, naming the field.
    let Outcome::Refused(errors) = order(&compile(&open_data(false)), "small", &parameters) else {
        panic!("the order is refused")
    };
    assert_eq!(errors[0].path, "/spec/parameters/publisherNameEn");
    assert!(errors[0].message.contains("must not contain a line break"), "{}", errors[0].message);
    // Where line breaks are allowed, the name stays text on the landing page.
    let item = compile(&open_data(true));
    let Outcome::Rendered(result) = order(&item, "small", &parameters) else { panic!("accepted") };
    let rendered = result.expect("renders");
    let kinds: Vec<&str> = rendered.objects.iter().map(|o| o.kind.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "Service").count(), 1, "only the item's own Service: {kinds:?}");
    assert!(!rendered.objects.iter().any(|o| o.object.pointer("/spec/externalIPs").is_some()));
    let page = rendered.objects.iter().find_map(|o| o.object.pointer("/data/index.html")).and_then(Value::as_str);
    assert!(page.is_some_and(|page| page.contains(&written_forms(EXTERNAL_IP_EXPLOIT)[2])), "{page:?}");
}

/// `open-data` with its `web` template (the Deployment) changed by `edit`, checked as a
/// catalog item is when published; the problems, one a line.
fn publish_with_web(edit: impl Fn(&str) -> String) -> String {
    let mut item = open_data(false);
    let web = item.spec.templates.iter_mut().find(|t| t.name == "web").expect("the web template");
    web.template = edit(&web.template);
    let errors = CompiledItem::compile("open-data", &item.spec).expect_err("the item is refused");
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

/// A template (not a value) that gives its Deployment another instance's Secrets, as a
/// volume, as environment or as one variable: refused, naming the template and field.
#[test]
fn a_deployment_that_mounts_the_namespaces_secrets_is_refused() {
    let message = publish_with_web(|template| {
        template
            .replace(
                "- name: tmp\n          emptyDir:",
                "- name: keys\n          secret: {secretName: dms-credentials}\n        - name: tmp\n          emptyDir:",
            )
            .replace(
                "image: {{ parameters.image | json_encode() }}",
                "image: {{ parameters.image | json_encode() }}\n          envFrom: [{secretRef: {name: vdi-is-credentials}}]\n          env: [{name: T, valueFrom: {secretKeyRef: {name: makonis-portal, key: token}}}]",
            )
    });
    for expected in [
        "template `web`: Deployment `sample`: /spec/template/spec/volumes/3/secret/secretName: Secret `dms-credentials` is not the instance's own",
        "/spec/template/spec/containers/0/envFrom/0/secretRef/name: Secret `vdi-is-credentials` is not the instance's own",
        "/spec/template/spec/containers/0/env/0/valueFrom/secretKeyRef/name: Secret `makonis-portal` is not the instance's own",
    ] {
        assert!(message.contains(expected), "{expected}\nin:\n{message}");
    }
}

/// A template that gives its workload the host: its network, a host path, privileges.
#[test]
fn a_workload_cannot_reach_the_host() {
    let message = publish_with_web(|template| {
        template
            .replace(
                "automountServiceAccountToken: false",
                "automountServiceAccountToken: false\n      hostNetwork: true",
            )
            .replace(
                "- name: tmp\n          emptyDir:",
                "- name: host\n          hostPath: {path: /}\n        - name: tmp\n          emptyDir:",
            )
            .replace("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true\n            privileged: true")
    });
    for expected in [
        "template `web`: Deployment `sample`: /spec/template/spec/hostNetwork: host namespaces are not allowed",
        "/spec/template/spec/volumes/3/hostPath: `hostPath` volumes are not allowed",
        "/spec/template/spec/containers/0/securityContext/privileged: privileged containers are not allowed",
        "/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation: privilege escalation is not allowed",
    ] {
        assert!(message.contains(expected), "{expected}\nin:\n{message}");
    }
}

/// A template that gives its Service an external IP (CVE-2020-8554).
#[test]
fn a_service_cannot_take_external_ips() {
    let mut item = open_data(false);
    let template = item.spec.templates.iter_mut().find(|t| t.name == "service").expect("the service template");
    template.template = template.template.replace("spec:\n", "spec:\n  externalIPs: [203.0.113.7]\n");
    let errors = CompiledItem::compile("open-data", &item.spec).expect_err("refused");
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("template `service`: Service `sample`: /spec/externalIPs: reaches outside")),
        "{errors:?}"
    );
}

/// Through the real API server: the webhook refuses the exploit with the field named,
/// and no Service is created.
#[tokio::test]
async fn the_webhook_refuses_the_external_ip_exploit_with_the_field_named() {
    let run = CatalogRun::start(300).await;
    let namespace = run.agency("inj").await;
    let item_name = run.item_name("open-data");
    let mut item = open_data(false);
    item.metadata = kube::api::ObjectMeta { name: Some(item_name.clone()), ..Default::default() };
    item.spec.approval = makonis_api::catalog::Approval::None;
    run.publish(item).await.expect("publish");
    let order = run.instance(
        &namespace,
        "dati",
        &item_name,
        "small",
        json!({"contactEmail": "atvertie.dati@vdi.gov.lv", "publisherNameEn": EXTERNAL_IP_EXPLOIT}),
    );
    let instances: Api<ServiceInstance> = Api::namespaced(run.admin.clone(), &namespace);
    let Err(kube::Error::Api(status)) = instances.create(&PostParams::default(), &order).await else {
        panic!("the webhook refuses the order")
    };
    assert!(
        status.message.contains("InvalidOrder: /spec/parameters/publisherNameEn: must not contain a line break"),
        "{}",
        status.message
    );
    let services: Api<k8s_openapi::api::core::v1::Service> = Api::namespaced(run.admin.clone(), &namespace);
    assert!(services.get_opt("sample-x").await.unwrap().is_none());
    run.finish().await;
}
