//! The catalog's content (`catalog/items/*.yaml`), checked without a cluster: every item
//! compiles; every plan renders, for a sample instance, exactly what its golden file in
//! `catalog/golden/<item>/<plan>.yaml` says; and the rendered objects keep the catalog's
//! rules (valid Kubernetes objects without unknown fields, plan totals cover what the
//! templates request, probes, limits, TLS, disruption budgets, references that resolve,
//! volumes retained on retirement, virtual machines in the platform's host pool, no YAML
//! injection through parameters). Invalid orders
//! are refused with JSON pointers; every item has a page in `docs/catalog/` that documents
//! its plans, prices and parameters, and the example orders there are valid.
//!
//! The sample instance is `sample` in namespace `agency-vdi`, ordered by the State Labour
//! Inspectorate (`vdi`), with the platform's default settings. Golden files use each item's
//! schema defaults plus, for required parameters without a default, the fixed values of
//! [`sample_parameters`]; [`variants`] adds documented parameter sets that exercise the
//! optional branches of templates, golden in `catalog/golden/<item>/variants/<variant>.yaml`.
//!
//! After an intended change, regenerate the golden files and review the diff:
//!
//! ```text
//! MAKONIS_UPDATE_GOLDEN=1 cargo test -p makonis-catalog --test items
//! git diff catalog/golden
//! ```

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

use makonis_api::{
    catalog::{CatalogItem, Category, ServiceInstance},
    quantity::ParsedQuantity,
};
use makonis_catalog::{
    CompiledItem, InstanceRef, Order, Rendered,
    render::{AgencyVars, PlatformVars, RenderedObject},
};
use serde_json::{Value, json};

/// Set to `1` to rewrite the golden files instead of comparing with them.
const UPDATE_ENV: &str = "MAKONIS_UPDATE_GOLDEN";
const UPDATE_HINT: &str = "if the change is intended, run `MAKONIS_UPDATE_GOLDEN=1 cargo test -p makonis-catalog \
                           --test items` and review `git diff catalog/golden`";

/// The sample instance every golden file is rendered for.
const INSTANCE: &str = "sample";
const NAMESPACE: &str = "agency-vdi";

/// The parameters of the golden rendering of every plan: empty (the schema's defaults),
/// except for required parameters that have no sensible default. Only `open-data` has one:
/// `contactEmail`, the DCAT-AP contact point, which only the publishing agency can name.
fn sample_parameters(item: &str) -> Value {
    match item {
        "open-data" => json!({"contactEmail": "atvertie.dati@vdi.example.lv"}),
        _ => json!({}),
    }
}

/// `sample_parameters(item)` with `extra` merged over it.
fn with_sample(item: &str, extra: Value) -> Value {
    let mut parameters = sample_parameters(item);
    if let (Some(base), Value::Object(extra)) = (parameters.as_object_mut(), extra) {
        base.extend(extra);
    }
    parameters
}

/// Parameter sets beyond the defaults, each rendered with one plan and kept as a golden
/// file: they exercise the templates' optional branches (own host names, e-address,
/// source-range limits, environment variables, a database client, custom datasets, a
/// virtual machine's SSH key and data disk).
fn variants() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    vec![
        (
            "dms",
            "integrations",
            "standard",
            json!({
                "hostname": "dvs.vdi.gov.lv",
                "nomenclatureCode": "VDI-NOM",
                "eAddressEnabled": true,
                "eAddressIdentifier": "_DEFAULT@90000000001",
                "eSignatureEnvironment": "test",
                "retentionYears": 5,
                "internalSourceRanges": ["10.20.0.0/16"]
            }),
        ),
        (
            "vdi-is",
            "restricted-portal",
            "standard",
            json!({
                "hostname": "vdi-is.vdi.gov.lv",
                "portalHostname": "inspektori.vdi.gov.lv",
                "portalAllowedSourceRanges": ["198.51.100.0/24", "10.0.0.0/8"],
                "portalTwoFactorMethods": ["totp"]
            }),
        ),
        (
            "sris",
            "integrations",
            "standard",
            json!({
                "publicHostname": "rinda.sris.lm.gov.lv",
                "eAddressEnabled": true,
                "eAddressIdentifier": "_DEFAULT@90000000002",
                "populationRegisterEnabled": false
            }),
        ),
        (
            "open-data",
            "one-dataset",
            "small",
            json!({
                "hostname": "atvertiedati.vdi.gov.lv",
                "updateFrequency": "QUARTERLY",
                "exportSchedule": "0 4 5 1,4,7,10 *",
                "formats": ["CSV"],
                "datasets": [{
                    "identifier": "nelaimes-gadijumi-darba",
                    "titleLv": "Nelaimes gadījumi darbā",
                    "titleEn": "Accidents at work",
                    "descriptionLv": "Izmeklētie nelaimes gadījumi darbā.",
                    "descriptionEn": "Investigated accidents at work.",
                    "keywords": ["darba drošība"],
                    "theme": "SOCI",
                    "sourceView": "accidents_at_work"
                }]
            }),
        ),
        (
            "virtual-machine",
            "ssh-and-data-disk",
            "medium",
            json!({
                "hostname": "lietvediba-1",
                "image": "ubuntu-24.04",
                "sshAuthorizedKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0b2tlbmtleWZvcnRlc3RzMDEyMzQ1Njc4OWFiY2Rl admin@vdi.gov.lv",
                "extraDiskSize": 100
            }),
        ),
        (
            "web-app",
            "env-and-database",
            "standard",
            json!({
                "image": "registry.makonis.lv/vdi/sudzibas:2.3.1",
                "port": 3000,
                "healthPath": "/healthz",
                "hostname": "sudzibas.vdi.gov.lv",
                "allowedSourceRanges": ["10.0.0.0/8"],
                "database": "sudzibas-db",
                "env": [
                    {"name": "NODE_ENV", "value": "production"},
                    {"name": "PGDATABASE", "value": "sudzibas"}
                ]
            }),
        ),
    ]
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One catalog item file, parsed and compiled.
struct Loaded {
    name: String,
    item: CatalogItem,
    compiled: CompiledItem,
}

/// Loads and compiles every `catalog/items/*.yaml`, in file-name order.
fn load_items() -> Vec<Loaded> {
    let directory = manifest_dir().join("items");
    let mut files: Vec<PathBuf> = fs::read_dir(&directory)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", directory.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no catalog items in {}", directory.display());
    files
        .iter()
        .map(|file| {
            let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            let item: CatalogItem = serde_yaml_ng::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not a CatalogItem: {e}", file.display()));
            let name = item.metadata.name.clone().unwrap_or_else(|| panic!("{} has no metadata.name", file.display()));
            assert_eq!(
                Some(name.as_str()),
                file.file_stem().and_then(|s| s.to_str()),
                "{}: the file must be named after the item",
                file.display()
            );
            let compiled = CompiledItem::compile(&name, &item.spec).unwrap_or_else(|errors| {
                let list = errors.iter().map(|e| format!("\n  {e}")).collect::<String>();
                panic!("{} does not compile:{list}", file.display())
            });
            Loaded { name, item, compiled }
        })
        .collect()
}

/// The sample agency's host-name domains: its own under the platform's apps domain and
/// those its platform administrators listed (`vdi.gov.lv`, and `sris.lm.gov.lv` for the
/// documented orders of the ministry's item).
fn host_domains() -> &'static [String] {
    static DOMAINS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    DOMAINS.get_or_init(|| vec!["vdi.apps.makonis.lv".into(), "vdi.gov.lv".into(), "sris.lm.gov.lv".into()])
}

fn sample_instance() -> InstanceRef<'static> {
    InstanceRef {
        host_domains: host_domains(),
        name: INSTANCE,
        namespace: NAMESPACE,
        agency: AgencyVars {
            code: "vdi".into(),
            display_name: makonis_api::catalog::LocalizedTitle {
                lv: "Valsts darba inspekcija".into(),
                en: "State Labour Inspectorate".into(),
            },
        },
    }
}

/// Checks the order and renders it for the sample instance; panics with the reason.
fn render_with(loaded: &Loaded, plan: &str, parameters: &Value, platform: &PlatformVars) -> (Order, Rendered) {
    let order = loaded.compiled.check_order(plan, parameters, host_domains()).unwrap_or_else(|errors| {
        panic!("{}: order for plan `{plan}` with {parameters} is refused: {errors:?}", loaded.name)
    });
    let rendered = loaded
        .compiled
        .render(&sample_instance(), &order, platform)
        .unwrap_or_else(|e| panic!("{}: plan `{plan}` does not render: {e}", loaded.name));
    (order, rendered)
}

/// Every rendering the tests look at: each plan with the defaults, then each variant.
struct Case<'a> {
    loaded: &'a Loaded,
    label: String,
    golden: PathBuf,
    parameters: Value,
    order: Order,
    rendered: Rendered,
}

fn cases(items: &[Loaded]) -> Vec<Case<'_>> {
    let golden = manifest_dir().join("golden");
    let mut cases = Vec::new();
    for loaded in items {
        for plan in &loaded.item.spec.plans {
            let parameters = sample_parameters(&loaded.name);
            let (order, rendered) = render_with(loaded, &plan.name, &parameters, &PlatformVars::default());
            cases.push(Case {
                loaded,
                label: format!("{}/{}", loaded.name, plan.name),
                golden: golden.join(&loaded.name).join(format!("{}.yaml", plan.name)),
                parameters,
                order,
                rendered,
            });
        }
    }
    for (item, variant, plan, parameters) in variants() {
        let loaded = items
            .iter()
            .find(|l| l.name == item)
            .unwrap_or_else(|| panic!("variant `{variant}` names unknown item `{item}`"));
        let parameters = with_sample(item, parameters);
        let (order, rendered) = render_with(loaded, plan, &parameters, &PlatformVars::default());
        cases.push(Case {
            loaded,
            label: format!("{item}/variants/{variant} (plan {plan})"),
            golden: golden.join(item).join("variants").join(format!("{variant}.yaml")),
            parameters,
            order,
            rendered,
        });
    }
    cases
}

// ---------------------------------------------------------------------------------------
// Golden files
// ---------------------------------------------------------------------------------------

/// The text of a golden file: a header, one YAML document per object (preceded by the
/// name of the template that rendered it), then the outputs.
fn golden_text(case: &Case<'_>) -> String {
    let mut text = format!(
        "# Golden rendering of catalog item `{}`, plan `{}`, for ServiceInstance `{INSTANCE}` in `{NAMESPACE}` \
         (agency vdi).\n# Parameters given: {} (the schema's defaults fill in the rest).\n\
         # Generated by catalog/tests/items.rs; regenerate with MAKONIS_UPDATE_GOLDEN=1.\n",
        case.loaded.name, case.order.plan.name, case.parameters
    );
    for object in &case.rendered.objects {
        text.push_str(&format!("---\n# template: {}\n", object.template));
        text.push_str(&serde_yaml_ng::to_string(&object.object).expect("objects serialise"));
    }
    let outputs: BTreeMap<&str, &str> =
        case.rendered.outputs.iter().map(|o| (o.name.as_str(), o.value.as_str())).collect();
    text.push_str("---\n# outputs\n");
    text.push_str(&serde_yaml_ng::to_string(&json!({ "outputs": outputs })).expect("outputs serialise"));
    text
}

/// The first lines where two texts differ, for a readable failure.
fn diff_hint(expected: &str, actual: &str) -> String {
    let expected: Vec<&str> = expected.lines().collect();
    let actual: Vec<&str> = actual.lines().collect();
    let Some(first) = (0..expected.len().max(actual.len())).find(|&i| expected.get(i) != actual.get(i)) else {
        return "  (only trailing whitespace differs)".into();
    };
    let mut hint = format!("  first difference at line {}:\n", first + 1);
    for i in first.saturating_sub(2)..(first + 6).min(expected.len().max(actual.len())) {
        match (expected.get(i), actual.get(i)) {
            (Some(e), Some(a)) if e == a => hint.push_str(&format!("      {:>4}   {e}\n", i + 1)),
            (e, a) => {
                if let Some(e) = e {
                    hint.push_str(&format!("    - {:>4}   {e}\n", i + 1));
                }
                if let Some(a) = a {
                    hint.push_str(&format!("    + {:>4}   {a}\n", i + 1));
                }
            }
        }
    }
    hint.push_str(&format!("  (golden: {} lines, rendered: {} lines)", expected.len(), actual.len()));
    hint
}

#[test]
fn every_plan_renders_as_its_golden_file_says() {
    let items = load_items();
    let cases = cases(&items);
    let update = std::env::var(UPDATE_ENV).is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    let mut expected_files = BTreeSet::new();
    for case in &cases {
        let actual = golden_text(case);
        expected_files.insert(case.golden.clone());
        let relative = case.golden.strip_prefix(manifest_dir()).unwrap_or(&case.golden).display().to_string();
        if update {
            let current = fs::read_to_string(&case.golden).ok();
            if current.as_deref() != Some(actual.as_str()) {
                fs::create_dir_all(case.golden.parent().expect("golden files sit in a directory"))
                    .expect("create the golden directory");
                fs::write(&case.golden, &actual).expect("write the golden file");
                report(&format!("updated catalog/{relative}"));
            }
            continue;
        }
        match fs::read_to_string(&case.golden) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{}: rendering differs from catalog/{relative}\n{}",
                case.label,
                diff_hint(&expected, &actual)
            )),
            Err(_) => failures.push(format!("{}: golden file catalog/{relative} is missing", case.label)),
        }
    }
    // Golden files nobody renders any more (a plan or variant was removed or renamed).
    for file in golden_files(&manifest_dir().join("golden")) {
        if !expected_files.contains(&file) {
            let relative = file.strip_prefix(manifest_dir()).unwrap_or(&file).display().to_string();
            if update {
                fs::remove_file(&file).expect("remove a stale golden file");
                report(&format!("removed stale catalog/{relative}"));
            } else {
                failures.push(format!("catalog/{relative} belongs to no plan or variant"));
            }
        }
    }
    assert!(failures.is_empty(), "{}\n\n{UPDATE_HINT}", failures.join("\n\n"));
}

/// A line on the terminal even while the test harness captures output (`println!` is
/// captured; a direct write to stderr is not).
fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn golden_files(directory: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = fs::read_dir(directory) else { return files };
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            files.extend(golden_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "yaml") {
            files.push(path);
        }
    }
    files
}

// ---------------------------------------------------------------------------------------
// What the rendered objects must satisfy
// ---------------------------------------------------------------------------------------

fn kind(object: &RenderedObject) -> &'static str {
    object.kind.kind
}

fn of_kind<'a>(rendered: &'a Rendered, wanted: &'a str) -> impl Iterator<Item = &'a RenderedObject> + 'a {
    rendered.objects.iter().filter(move |o| kind(o) == wanted)
}

/// The pod template of a workload: Deployment and StatefulSet `spec.template`, CronJob
/// `spec.jobTemplate.spec.template`, Job `spec.template`.
fn pod_template(object: &RenderedObject) -> Option<&Value> {
    match kind(object) {
        "Deployment" | "StatefulSet" | "Job" => object.object.pointer("/spec/template"),
        "CronJob" => object.object.pointer("/spec/jobTemplate/spec/template"),
        _ => None,
    }
}

/// Replicas a workload runs at once: `spec.replicas` (default 1), 1 for a job or a
/// virtual machine.
fn replicas(object: &RenderedObject) -> i64 {
    match kind(object) {
        "VirtualMachine" => 1,
        "Deployment" | "StatefulSet" => object.object.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1),
        "CronJob" => object.object.pointer("/spec/jobTemplate/spec/parallelism").and_then(Value::as_i64).unwrap_or(1),
        _ => object.object.pointer("/spec/parallelism").and_then(Value::as_i64).unwrap_or(1),
    }
}

fn containers(pod_template: &Value) -> Vec<&Value> {
    ["/spec/initContainers", "/spec/containers"]
        .iter()
        .filter_map(|p| pod_template.pointer(p).and_then(Value::as_array))
        .flatten()
        .collect()
}

/// A quantity (a string or a bare number) in thousandths.
fn milli(value: &Value, what: &str) -> i128 {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("{what}: {other} is not a quantity"),
    };
    ParsedQuantity::parse(&text)
        .ok()
        .and_then(|q| q.milli_value())
        .unwrap_or_else(|| panic!("{what}: `{text}` is not a quantity"))
}

fn labels_at<'a>(value: &'a Value, pointer: &str) -> BTreeMap<&'a str, &'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_object)
        .map(|map| map.iter().filter_map(|(k, v)| Some((k.as_str(), v.as_str()?))).collect())
        .unwrap_or_default()
}

/// Whether `selector` (matchLabels) is non-empty and contained in `labels`.
fn selects(selector: &BTreeMap<&str, &str>, labels: &BTreeMap<&str, &str>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The pod-template labels of every workload that runs continuously or as a job.
fn pod_label_sets(rendered: &Rendered) -> Vec<(String, BTreeMap<&str, &str>)> {
    rendered
        .objects
        .iter()
        .filter_map(|o| Some((format!("{} {}", kind(o), o.name), labels_at(pod_template(o)?, "/metadata/labels"))))
        .collect()
}

/// Templates whose volumes are sized by the order rather than by the plan: the virtual
/// machine's optional data disk (`extraDiskSize`, 0–2000 GiB). Their size is not in the
/// plan's totals, so the agency's quota does not count it either.
const ORDERED_SIZE: &[(&str, &str)] = &[("virtual-machine", "data-disk")];

fn ordered_size(item: &str, template: &str) -> bool {
    ORDERED_SIZE.contains(&(item, template))
}

#[test]
fn plan_totals_cover_what_the_templates_request() {
    let items = load_items();
    let mut failures = Vec::new();
    for case in cases(&items) {
        let (mut cpu, mut memory, mut storage) = (0i128, 0i128, 0i128);
        for object in &case.rendered.objects {
            if let Some(template) = pod_template(object) {
                for container in containers(template) {
                    let what = format!("{}: {} {}", case.label, kind(object), object.name);
                    let requests = container.pointer("/resources/requests");
                    let request = |name: &str| requests.and_then(|r| r.get(name)).map(|q| milli(q, &what)).unwrap_or(0);
                    cpu += i128::from(replicas(object)) * request("cpu");
                    memory += i128::from(replicas(object)) * request("memory");
                }
            }
            if kind(object) == "PersistentVolumeClaim" {
                let size = object.object.pointer("/spec/resources/requests/storage").expect("a claim requests storage");
                storage += milli(size, &format!("{}: PVC {}", case.label, object.name));
            }
            let what = format!("{}: {} {}", case.label, kind(object), object.name);
            if kind(object) == "VirtualMachine" {
                let vcpus = object.object.pointer("/spec/vcpus").and_then(Value::as_i64).expect("a machine has vCPUs");
                cpu += i128::from(vcpus) * 1000;
                memory += milli(object.object.pointer("/spec/memory").expect("a machine has memory"), &what);
                for disk in object.object.pointer("/spec/disks").and_then(Value::as_array).into_iter().flatten() {
                    if let Some(size) = disk.pointer("/inline/size") {
                        storage += milli(size, &what);
                    }
                }
            }
            if kind(object) == "Volume" && !ordered_size(&case.loaded.name, &object.template) {
                storage += milli(object.object.pointer("/spec/size").expect("a volume has a size"), &what);
            }
        }
        let plan = &case.order.plan.resources;
        let limits = [("cpu", cpu, &plan.cpu), ("memory", memory, &plan.memory), ("storage", storage, &plan.storage)];
        for (name, requested, total) in limits {
            let total_milli = milli(&Value::String(total.0.clone()), &format!("{}: plan {name}", case.label));
            if requested > total_milli {
                failures.push(format!(
                    "{}: the templates request {name} {} (thousandths) but the plan counts only {} ({})",
                    case.label, requested, total_milli, total.0
                ));
            }
        }
        let main_replicas = case
            .rendered
            .objects
            .iter()
            .filter(|o| matches!(kind(o), "Deployment" | "StatefulSet" | "VirtualMachine"))
            .map(replicas)
            .max()
            .unwrap_or(0);
        if main_replicas != i64::from(plan.replicas) {
            failures.push(format!(
                "{}: plan says {} replicas but the largest workload runs {main_replicas}",
                case.label, plan.replicas
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_container_has_requests_limits_and_probes() {
    let items = load_items();
    let mut failures = Vec::new();
    for case in cases(&items) {
        for object in &case.rendered.objects {
            let Some(template) = pod_template(object) else { continue };
            let long_running = matches!(kind(object), "Deployment" | "StatefulSet");
            for container in containers(template) {
                let name = container.get("name").and_then(Value::as_str).unwrap_or("?");
                let what = format!("{}: {} {} container {name}", case.label, kind(object), object.name);
                for field in ["requests/cpu", "requests/memory", "limits/cpu", "limits/memory"] {
                    if container.pointer(&format!("/resources/{field}")).is_none() {
                        failures.push(format!("{what} has no resources.{}", field.replace('/', ".")));
                    }
                }
                if long_running {
                    for probe in ["readinessProbe", "livenessProbe"] {
                        if container.get(probe).is_none() {
                            failures.push(format!("{what} has no {probe}"));
                        }
                    }
                }
                if container.pointer("/securityContext/allowPrivilegeEscalation") != Some(&Value::Bool(false)) {
                    failures.push(format!("{what} does not set allowPrivilegeEscalation: false"));
                }
            }
            if template.pointer("/spec/securityContext/runAsNonRoot") != Some(&Value::Bool(true)) {
                failures.push(format!("{}: {} {} pods do not run as non-root", case.label, kind(object), object.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn replicated_workloads_have_a_disruption_budget() {
    let items = load_items();
    let mut failures = Vec::new();
    for case in cases(&items) {
        let budgets: Vec<BTreeMap<&str, &str>> = of_kind(&case.rendered, "PodDisruptionBudget")
            .map(|b| labels_at(&b.object, "/spec/selector/matchLabels"))
            .collect();
        for object in case.rendered.objects.iter().filter(|o| matches!(kind(o), "Deployment" | "StatefulSet")) {
            let labels = labels_at(pod_template(object).expect("workloads have pods"), "/metadata/labels");
            let covered = budgets.iter().any(|selector| selects(selector, &labels));
            if replicas(object) > 1 && !covered {
                failures.push(format!(
                    "{}: {} {} runs {} replicas without a PodDisruptionBudget",
                    case.label,
                    kind(object),
                    object.name,
                    replicas(object)
                ));
            }
            if replicas(object) == 1 && covered {
                failures.push(format!(
                    "{}: {} {} has one replica but a PodDisruptionBudget (it would block node drains)",
                    case.label,
                    kind(object),
                    object.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_ingress_has_tls_from_the_platform_issuer() {
    let items = load_items();
    let platform = PlatformVars::default();
    let mut failures = Vec::new();
    for case in cases(&items) {
        for ingress in of_kind(&case.rendered, "Ingress") {
            let what = format!("{}: Ingress {}", case.label, ingress.name);
            let object = &ingress.object;
            let tls = object.pointer("/spec/tls").and_then(Value::as_array).cloned().unwrap_or_default();
            if tls.is_empty() {
                failures.push(format!("{what} has no TLS"));
            }
            let tls_hosts: BTreeSet<&str> = tls
                .iter()
                .flat_map(|t| t.get("hosts").and_then(Value::as_array).into_iter().flatten())
                .filter_map(Value::as_str)
                .collect();
            for entry in &tls {
                if entry.get("secretName").and_then(Value::as_str).is_none_or(|s| !s.starts_with(INSTANCE)) {
                    failures.push(format!("{what}: TLS secretName must be named after the instance"));
                }
            }
            for rule in object.pointer("/spec/rules").and_then(Value::as_array).into_iter().flatten() {
                let host = rule.get("host").and_then(Value::as_str).unwrap_or_default();
                if !tls_hosts.contains(host) {
                    failures.push(format!("{what}: host `{host}` is not covered by TLS"));
                }
            }
            if object.pointer("/metadata/annotations/cert-manager.io~1cluster-issuer").and_then(Value::as_str)
                != Some(platform.tls_issuer.as_str())
            {
                failures.push(format!("{what} does not name the platform's cluster issuer"));
            }
            if object.pointer("/spec/ingressClassName").and_then(Value::as_str) != Some(platform.ingress_class.as_str())
            {
                failures.push(format!("{what} does not use the platform's ingress class"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Selectors select pods that exist, and names refer to objects the instance renders:
/// Service selectors, NetworkPolicy and PodDisruptionBudget pod selectors, Ingress
/// backends, claims, ConfigMaps and Secrets; virtual machines' volumes, and backup
/// policies' machine selectors.
#[test]
fn references_between_rendered_objects_resolve() {
    let items = load_items();
    let mut failures = Vec::new();
    for case in cases(&items) {
        let rendered = &case.rendered;
        let pods = pod_label_sets(rendered);
        let names = |wanted: &str| of_kind(rendered, wanted).map(|o| o.name.clone()).collect::<BTreeSet<_>>();
        let (claims, config_maps) = (names("PersistentVolumeClaim"), names("ConfigMap"));
        let mut fail = |message: String| failures.push(format!("{}: {message}", case.label));

        for (workload, labels) in &pods {
            for key in ["makonis.lv/instance", "app.kubernetes.io/component"] {
                if !labels.contains_key(key) {
                    fail(format!("{workload}: pod template has no `{key}` label"));
                }
            }
        }
        for object in &rendered.objects {
            let what = format!("{} {}", kind(object), object.name);
            if let Some(template) = pod_template(object) {
                let labels = labels_at(template, "/metadata/labels");
                if matches!(kind(object), "Deployment" | "StatefulSet") {
                    let selector = labels_at(&object.object, "/spec/selector/matchLabels");
                    if !selects(&selector, &labels) {
                        fail(format!("{what}: spec.selector does not select its own pod template"));
                    }
                }
                let volumes = template.pointer("/spec/volumes").and_then(Value::as_array).cloned().unwrap_or_default();
                let volume_names: BTreeSet<&str> =
                    volumes.iter().filter_map(|v| v.get("name").and_then(Value::as_str)).collect();
                for volume in &volumes {
                    if let Some(claim) = volume.pointer("/persistentVolumeClaim/claimName").and_then(Value::as_str)
                        && !claims.contains(claim)
                    {
                        fail(format!("{what}: claim `{claim}` is not rendered"));
                    }
                    if let Some(map) = volume.pointer("/configMap/name").and_then(Value::as_str)
                        && !config_maps.contains(map)
                    {
                        fail(format!("{what}: ConfigMap `{map}` is not rendered"));
                    }
                }
                for container in containers(template) {
                    for mount in container.get("volumeMounts").and_then(Value::as_array).into_iter().flatten() {
                        let name = mount.get("name").and_then(Value::as_str).unwrap_or_default();
                        if !volume_names.contains(name) {
                            fail(format!("{what}: volume mount `{name}` has no volume"));
                        }
                    }
                    for source in container.get("envFrom").and_then(Value::as_array).into_iter().flatten() {
                        if let Some(map) = source.pointer("/configMapRef/name").and_then(Value::as_str)
                            && !config_maps.contains(map)
                        {
                            fail(format!("{what}: envFrom ConfigMap `{map}` is not rendered"));
                        }
                    }
                    for env in container.get("env").and_then(Value::as_array).into_iter().flatten() {
                        if let Some(secret) = env.pointer("/valueFrom/secretKeyRef/name").and_then(Value::as_str) {
                            let allowed = secret == format!("{INSTANCE}-credentials")
                                || case.parameters.get("database").and_then(Value::as_str)
                                    == secret.strip_suffix("-credentials");
                            if !allowed {
                                fail(format!(
                                    "{what}: Secret `{secret}` is neither the instance's nor a named database's"
                                ));
                            }
                        }
                        if let Some(map) = env.pointer("/valueFrom/configMapKeyRef/name").and_then(Value::as_str)
                            && !config_maps.contains(map)
                        {
                            fail(format!("{what}: ConfigMap `{map}` is not rendered"));
                        }
                    }
                }
            }
            let selector = match kind(object) {
                "Service" => labels_at(&object.object, "/spec/selector"),
                "NetworkPolicy" | "PodDisruptionBudget" => {
                    let pointer = if kind(object) == "NetworkPolicy" {
                        "/spec/podSelector/matchLabels"
                    } else {
                        "/spec/selector/matchLabels"
                    };
                    labels_at(&object.object, pointer)
                }
                _ => continue,
            };
            if !pods.iter().any(|(_, labels)| selects(&selector, labels)) {
                fail(format!("{what}: selector {selector:?} matches no pod the instance runs"));
            }
        }
        for ingress in of_kind(rendered, "Ingress") {
            let paths = ingress
                .object
                .pointer("/spec/rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .flat_map(|rule| rule.pointer("/http/paths").and_then(Value::as_array).into_iter().flatten());
            for path in paths {
                let service = path.pointer("/backend/service/name").and_then(Value::as_str).unwrap_or_default();
                let port = path.pointer("/backend/service/port").cloned().unwrap_or(Value::Null);
                let Some(target) = of_kind(rendered, "Service").find(|s| s.name == service) else {
                    failures
                        .push(format!("{}: Ingress {}: Service `{service}` is not rendered", case.label, ingress.name));
                    continue;
                };
                let ports = target.object.pointer("/spec/ports").and_then(Value::as_array).cloned().unwrap_or_default();
                let found = ports.iter().any(|p| {
                    port.get("name").is_some_and(|n| p.get("name") == Some(n))
                        || port.get("number").is_some_and(|n| p.get("port") == Some(n))
                });
                if !found {
                    failures.push(format!(
                        "{}: Ingress {}: Service `{service}` has no port {port}",
                        case.label, ingress.name
                    ));
                }
            }
        }
        failures.extend(compute_references(rendered).into_iter().map(|m| format!("{}: {m}", case.label)));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The references among compute objects: a machine's `volume` disks are rendered
/// Volumes, every Volume is some machine's disk, and every BackupPolicy selects a machine
/// by labels it carries (the controller's labels included).
fn compute_references(rendered: &Rendered) -> Vec<String> {
    let mut failures = Vec::new();
    let volumes: BTreeSet<&str> = of_kind(rendered, "Volume").map(|v| v.name.as_str()).collect();
    let mut used = BTreeSet::new();
    for machine in of_kind(rendered, "VirtualMachine") {
        for disk in machine.object.pointer("/spec/disks").and_then(Value::as_array).into_iter().flatten() {
            if let Some(volume) = disk.get("volume").and_then(Value::as_str) {
                used.insert(volume);
                if !volumes.contains(volume) {
                    failures.push(format!("VirtualMachine {}: Volume `{volume}` is not rendered", machine.name));
                }
            }
        }
    }
    for volume in volumes.difference(&used) {
        failures.push(format!("Volume {volume} is no virtual machine's disk"));
    }
    for policy in of_kind(rendered, "BackupPolicy") {
        let selector = labels_at(&policy.object, "/spec/virtualMachineSelector/matchLabels");
        if !of_kind(rendered, "VirtualMachine").any(|m| selects(&selector, &labels_at(&m.object, "/metadata/labels"))) {
            failures.push(format!("BackupPolicy {}: selector {selector:?} matches no virtual machine", policy.name));
        }
    }
    failures
}

/// Every rendered object deserialises into its typed Kubernetes struct and serialises back
/// to the same value: a misspelled or misplaced field would be dropped on the way (as the
/// API server drops or refuses it) and show up here.
#[test]
fn rendered_objects_are_valid_kubernetes_objects() {
    use k8s_openapi::api::{apps, batch, core, networking, policy};
    use makonis_api::compute;
    fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(object: &Value) -> Result<Value, String> {
        let typed: T = serde_json::from_value(object.clone()).map_err(|e| e.to_string())?;
        serde_json::to_value(typed).map_err(|e| e.to_string())
    }
    let items = load_items();
    let mut failures = Vec::new();
    for case in cases(&items) {
        for object in &case.rendered.objects {
            let value = &object.object;
            let typed = match kind(object) {
                "Deployment" => round_trip::<apps::v1::Deployment>(value),
                "StatefulSet" => round_trip::<apps::v1::StatefulSet>(value),
                "Service" => round_trip::<core::v1::Service>(value),
                "ConfigMap" => round_trip::<core::v1::ConfigMap>(value),
                "PersistentVolumeClaim" => round_trip::<core::v1::PersistentVolumeClaim>(value),
                "ServiceAccount" => round_trip::<core::v1::ServiceAccount>(value),
                "Ingress" => round_trip::<networking::v1::Ingress>(value),
                "NetworkPolicy" => round_trip::<networking::v1::NetworkPolicy>(value),
                "PodDisruptionBudget" => round_trip::<policy::v1::PodDisruptionBudget>(value),
                "CronJob" => round_trip::<batch::v1::CronJob>(value),
                "Job" => round_trip::<batch::v1::Job>(value),
                "VirtualMachine" => round_trip::<compute::VirtualMachine>(value),
                "Volume" => round_trip::<compute::Volume>(value),
                "BackupPolicy" => round_trip::<compute::BackupPolicy>(value),
                "Probe" => round_trip::<makonis_api::slo::Probe>(value),
                "ServiceLevelObjective" => round_trip::<makonis_api::slo::ServiceLevelObjective>(value),
                "DirectoryServiceAccount" => round_trip::<makonis_api::identity::DirectoryServiceAccount>(value),
                other => Err(format!("no typed check for {other}")),
            };
            let what = format!("{}: {} {}", case.label, kind(object), object.name);
            match typed {
                Err(e) => failures.push(format!("{what} is not a valid object: {e}")),
                Ok(typed) if &typed != value => failures.push(format!(
                    "{what} has fields Kubernetes does not know: {}",
                    first_difference(value, &typed, "")
                )),
                Ok(_) => {}
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The JSON pointer of the first place where `rendered` has something `typed` lacks or differs.
fn first_difference(rendered: &Value, typed: &Value, path: &str) -> String {
    match (rendered, typed) {
        (Value::Object(a), Value::Object(b)) => a
            .iter()
            .find_map(|(key, value)| match b.get(key) {
                None => Some(format!("{path}/{key} (unknown field)")),
                Some(other) if other != value => Some(first_difference(value, other, &format!("{path}/{key}"))),
                Some(_) => None,
            })
            .unwrap_or_else(|| format!("{path} (extra fields after the round trip)")),
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find(|(_, (x, y))| x != y)
            .map(|(i, (x, y))| first_difference(x, y, &format!("{path}/{i}")))
            .unwrap_or_default(),
        _ => format!("{path}: {rendered} became {typed}"),
    }
}

#[test]
fn retained_templates_hold_data_volumes_only() {
    let items = load_items();
    let mut failures = Vec::new();
    for case in cases(&items) {
        let retained = &case.loaded.item.spec.retain_on_retire;
        for object in &case.rendered.objects {
            let is_retained = retained.contains(&object.template);
            if is_retained && !matches!(kind(object), "PersistentVolumeClaim" | "Volume") {
                failures.push(format!(
                    "{}: retained template `{}` renders {} {}: only volumes are kept on retirement",
                    case.label,
                    object.template,
                    kind(object),
                    object.name
                ));
            }
        }
        if of_kind(&case.rendered, "StatefulSet").any(|s| s.object.pointer("/spec/volumeClaimTemplates").is_some()) {
            failures.push(format!("{}: data must be standalone claims, not volumeClaimTemplates", case.label));
        }
        let has_data =
            of_kind(&case.rendered, "PersistentVolumeClaim").chain(of_kind(&case.rendered, "Volume")).next().is_some();
        if has_data && retained.is_empty() {
            failures.push(format!("{}: the item keeps volumes but retains none on retirement", case.label));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn storage_class_is_set_only_when_the_platform_names_one() {
    let items = load_items();
    let platform = PlatformVars { storage_class: "makonis-ceph-rbd".into(), ..PlatformVars::default() };
    for loaded in &items {
        for plan in &loaded.item.spec.plans {
            let parameters = sample_parameters(&loaded.name);
            let (_, default) = render_with(loaded, &plan.name, &parameters, &PlatformVars::default());
            let (_, named) = render_with(loaded, &plan.name, &parameters, &platform);
            for claim in of_kind(&default, "PersistentVolumeClaim") {
                assert!(
                    claim.object.pointer("/spec/storageClassName").is_none(),
                    "{}/{}: {} names a storage class although the platform names none",
                    loaded.name,
                    plan.name,
                    claim.name
                );
            }
            for claim in of_kind(&named, "PersistentVolumeClaim") {
                assert_eq!(
                    claim.object.pointer("/spec/storageClassName").and_then(Value::as_str),
                    Some("makonis-ceph-rbd"),
                    "{}/{}: {} ignores the platform's storage class",
                    loaded.name,
                    plan.name,
                    claim.name
                );
            }
            let hosts = |r: &Rendered| {
                of_kind(r, "Ingress")
                    .flat_map(|i| {
                        i.object.pointer("/spec/rules").and_then(Value::as_array).cloned().unwrap_or_default()
                    })
                    .filter_map(|rule| rule.get("host").and_then(Value::as_str).map(str::to_owned))
                    .collect::<Vec<_>>()
            };
            for host in hosts(&default) {
                assert!(host.ends_with(".vdi.apps.makonis.lv"), "{}: default host `{host}`", loaded.name);
            }
        }
    }
}

#[test]
fn virtual_machines_use_the_platform_host_pool_and_backup_target() {
    let items = load_items();
    let platform = PlatformVars {
        host_pool: "dc1".into(),
        backup_host: "kvm-backup-1".into(),
        backup_storage_pool: "nightly".into(),
        ..PlatformVars::default()
    };
    let mut machines = 0;
    for loaded in &items {
        for plan in &loaded.item.spec.plans {
            let parameters = match loaded.name.as_str() {
                "virtual-machine" => json!({"extraDiskSize": 10}),
                other => sample_parameters(other),
            };
            let (_, rendered) = render_with(loaded, &plan.name, &parameters, &platform);
            let what = format!("{}/{}", loaded.name, plan.name);
            for object in of_kind(&rendered, "VirtualMachine").chain(of_kind(&rendered, "Volume")) {
                assert_eq!(object.object.pointer("/spec/hostPool"), Some(&json!("dc1")), "{what}: {}", object.name);
            }
            for policy in of_kind(&rendered, "BackupPolicy") {
                assert_eq!(
                    policy.object.pointer("/spec/target"),
                    Some(&json!({"hostPool": "dc1", "host": "kvm-backup-1", "storagePool": "nightly"})),
                    "{what}: {} ignores the platform's backup target",
                    policy.name
                );
            }
            let count = of_kind(&rendered, "VirtualMachine").count();
            if count > 0 {
                assert_eq!(of_kind(&rendered, "BackupPolicy").count(), 1, "{what}: a machine without backups");
                assert_eq!(of_kind(&rendered, "Volume").count(), 1, "{what}: the data disk is missing");
            }
            machines += count;
        }
    }
    assert_eq!(machines, 3, "the virtual-machine item renders one machine per plan");
}

#[test]
fn a_virtual_machine_has_a_data_disk_only_when_ordered() {
    let items = load_items();
    let loaded = items.iter().find(|l| l.name == "virtual-machine").expect("virtual-machine item");
    let names = |r: &Rendered| r.objects.iter().map(|o| format!("{} {}", kind(o), o.name)).collect::<Vec<_>>();
    let (_, without) = render_with(loaded, "small", &json!({}), &PlatformVars::default());
    assert_eq!(names(&without), ["VirtualMachine sample", "BackupPolicy sample"]);
    let disks = without.objects[0].object.pointer("/spec/disks").and_then(Value::as_array).expect("disks");
    assert_eq!(disks.len(), 1, "only the system disk");
    let (_, with) = render_with(loaded, "large", &json!({"extraDiskSize": 500}), &PlatformVars::default());
    assert_eq!(names(&with), ["VirtualMachine sample", "Volume sample-data", "BackupPolicy sample"]);
    let volume = of_kind(&with, "Volume").next().expect("the data disk");
    assert_eq!(volume.object.pointer("/spec/size"), Some(&json!("500Gi")));
    assert_eq!(volume.object.pointer("/spec/reclaimPolicy"), Some(&json!("Retain")));
    assert!(loaded.compiled.retains(&volume.template), "the data disk is kept when the instance is retired");
    let vm = of_kind(&with, "VirtualMachine").next().expect("the machine");
    assert_eq!(vm.object.pointer("/spec/vcpus"), Some(&json!(8)));
    assert_eq!(vm.object.pointer("/spec/memory"), Some(&json!("32Gi")));
    assert_eq!(vm.object.pointer("/spec/disks/0/inline/size"), Some(&json!("200Gi")));
    assert_eq!(vm.object.pointer("/spec/disks/1"), Some(&json!({"name": "data", "volume": "sample-data"})));
}

// ---------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------

fn refused(items: &[Loaded], item: &str, plan: &str, parameters: Value) -> Vec<(String, String)> {
    let loaded = items.iter().find(|l| l.name == item).unwrap_or_else(|| panic!("no item `{item}`"));
    match loaded.compiled.check_order(plan, &parameters, host_domains()) {
        Ok(_) => panic!("{item}: order with plan `{plan}` and {parameters} should be refused"),
        Err(errors) => errors.into_iter().map(|e| (e.path, e.message)).collect(),
    }
}

fn assert_refused_at(errors: &[(String, String)], path: &str) {
    assert!(errors.iter().any(|(p, _)| p == path), "expected a refusal at {path}, got {errors:?}");
}

#[test]
fn invalid_orders_are_refused_with_json_pointers() {
    let items = load_items();

    let errors = refused(&items, "dms", "standard", json!({"retentionYears": 0, "colour": "blue"}));
    assert_refused_at(&errors, "/spec/parameters/retentionYears");
    assert_refused_at(&errors, "/spec/parameters/colour");

    let errors = refused(&items, "dms", "standard", json!({"eAddressIdentifier": "VDI e-adrese"}));
    assert_refused_at(&errors, "/spec/parameters/eAddressIdentifier");

    let errors = refused(&items, "dms", "huge", json!({}));
    assert_refused_at(&errors, "/spec/plan");

    // The inspectors' portal cannot be ordered without two-factor authentication.
    let errors = refused(&items, "vdi-is", "standard", json!({"portalTwoFactorRequired": false}));
    assert_refused_at(&errors, "/spec/parameters/portalTwoFactorRequired");
    let errors = refused(&items, "vdi-is", "standard", json!({"portalTwoFactorMethods": []}));
    assert_refused_at(&errors, "/spec/parameters/portalTwoFactorMethods");

    let errors = refused(&items, "web-app", "small", json!({"port": 80, "env": [{"name": "1BAD", "value": "x"}]}));
    assert_refused_at(&errors, "/spec/parameters/port");
    assert_refused_at(&errors, "/spec/parameters/env/0/name");
    let errors = refused(&items, "web-app", "small", json!({"image": "docker.io/library/nginx:latest"}));
    assert_refused_at(&errors, "/spec/parameters/image");

    let errors =
        refused(&items, "postgresql", "small", json!({"databaseName": "Robert'); DROP TABLE", "maxConnections": 5000}));
    assert_refused_at(&errors, "/spec/parameters/databaseName");
    assert_refused_at(&errors, "/spec/parameters/maxConnections");

    let errors = refused(&items, "open-data", "small", json!({"licence": "ftp://example.lv", "datasets": []}));
    assert_refused_at(&errors, "/spec/parameters/contactEmail");
    assert_refused_at(&errors, "/spec/parameters/licence");
    assert_refused_at(&errors, "/spec/parameters/datasets");
    let errors = refused(
        &items,
        "open-data",
        "small",
        with_sample("open-data", json!({"datasets": [{"identifier": "Nelaimes", "titleLv": "x"}]})),
    );
    assert_refused_at(&errors, "/spec/parameters/datasets/0/identifier");
    assert_refused_at(&errors, "/spec/parameters/datasets/0/sourceView");

    let errors = refused(&items, "sris", "small", json!({"internalSourceRanges": ["10.0.0.0/33"]}));
    assert_refused_at(&errors, "/spec/parameters/internalSourceRanges/0");

    let errors = refused(
        &items,
        "virtual-machine",
        "small",
        json!({"hostname": "Lietvediba_1", "image": "windows-2022", "extraDiskSize": 2001}),
    );
    assert_refused_at(&errors, "/spec/parameters/hostname");
    assert_refused_at(&errors, "/spec/parameters/image");
    assert_refused_at(&errors, "/spec/parameters/extraDiskSize");
    let errors = refused(&items, "virtual-machine", "small", json!({"sshAuthorizedKey": "my password"}));
    assert_refused_at(&errors, "/spec/parameters/sshAuthorizedKey");
    let two_keys = "ssh-ed25519 AAAAC3Nza a@b\nssh-ed25519 AAAAC3Nzb c@d";
    let errors = refused(&items, "virtual-machine", "small", json!({"sshAuthorizedKey": two_keys}));
    assert_refused_at(&errors, "/spec/parameters/sshAuthorizedKey");
}

/// A parameter value cannot add objects or fields: values reach the YAML as data, and
/// line breaks are refused where the schema does not allow them.
#[test]
fn parameter_values_cannot_inject_yaml() {
    let items = load_items();
    let web = items.iter().find(|l| l.name == "web-app").expect("web-app item");
    let evil = "x\" --- apiVersion: v1, kind: Secret, metadata: {name: sample-evil} # ' {{ instance.name }}";
    let (_, plain) = render_with(web, "small", &json!({}), &PlatformVars::default());
    let (_, injected) =
        render_with(web, "small", &json!({"env": [{"name": "EVIL", "value": evil}]}), &PlatformVars::default());
    let names = |r: &Rendered| r.objects.iter().map(|o| format!("{} {}", kind(o), o.name)).collect::<Vec<_>>();
    assert_eq!(names(&plain), names(&injected));
    let deployment = of_kind(&injected, "Deployment").next().expect("a Deployment");
    let env = deployment.object.pointer("/spec/template/spec/containers/0/env").and_then(Value::as_array).unwrap();
    let value = env.iter().find(|e| e["name"] == "EVIL").and_then(|e| e["value"].as_str());
    assert_eq!(value, Some(evil), "the value arrives exactly as given");
    let errors =
        refused(&items, "web-app", "small", json!({"env": [{"name": "EVIL", "value": "x\n---\nkind: Secret"}]}));
    assert_refused_at(&errors, "/spec/parameters/env/0/value");

    let open_data = items.iter().find(|l| l.name == "open-data").expect("open-data item");
    let publisher = "Valsts darba inspekcija\", \"@type\": \"evil\" <script>";
    let parameters = with_sample("open-data", json!({"publisherNameLv": publisher}));
    let (_, rendered) = render_with(open_data, "small", &parameters, &PlatformVars::default());
    let catalog = dcat_catalog(&rendered);
    assert_eq!(catalog["dct:publisher"]["foaf:name"][0]["@value"], publisher);
    let page = of_kind(&rendered, "ConfigMap")
        .find_map(|c| c.object.pointer("/data/index.html").and_then(Value::as_str).map(str::to_owned))
        .expect("a landing page");
    assert!(!page.contains("<script>"), "the landing page escapes HTML");

    let machine = items.iter().find(|l| l.name == "virtual-machine").expect("virtual-machine item");
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== evil\" #x: {{ instance.name }} 'runcmd': [rm]";
    let (_, rendered) = render_with(machine, "small", &json!({"sshAuthorizedKey": key}), &PlatformVars::default());
    let vm = of_kind(&rendered, "VirtualMachine").next().expect("a VirtualMachine");
    let user_data = vm.object.pointer("/spec/cloudInit/userData").and_then(Value::as_str).expect("user data");
    assert!(user_data.starts_with("#cloud-config\n"), "{user_data}");
    let cloud_config: Value = serde_yaml_ng::from_str(user_data).expect("the user data is YAML");
    assert_eq!(cloud_config["ssh_authorized_keys"], json!([key]), "the key arrives exactly as given");
    assert_eq!(cloud_config["hostname"], INSTANCE, "the host name defaults to the instance's name");
    assert!(cloud_config.get("runcmd").is_none(), "a key cannot add cloud-init modules");
}

// ---------------------------------------------------------------------------------------
// Content
// ---------------------------------------------------------------------------------------

/// The DCAT-AP catalogue the open-data item publishes, parsed from its ConfigMap.
fn dcat_catalog(rendered: &Rendered) -> Value {
    let text = of_kind(rendered, "ConfigMap")
        .find_map(|c| c.object.pointer("/data/catalog.jsonld").and_then(Value::as_str).map(str::to_owned))
        .expect("a ConfigMap with catalog.jsonld");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("catalog.jsonld is not JSON: {e}\n{text}"))
}

#[test]
fn open_data_publishes_a_dcat_ap_catalogue_of_both_vdi_datasets() {
    let items = load_items();
    let loaded = items.iter().find(|l| l.name == "open-data").expect("open-data item");
    for plan in &loaded.item.spec.plans {
        let (_, rendered) = render_with(loaded, &plan.name, &sample_parameters("open-data"), &PlatformVars::default());
        let catalog = dcat_catalog(&rendered);
        assert_eq!(catalog["@type"], "dcat:Catalog");
        assert_eq!(catalog["dct:license"]["@id"], "https://creativecommons.org/licenses/by/4.0/");
        let datasets = catalog["dcat:dataset"].as_array().expect("datasets");
        let identifiers: Vec<&str> = datasets.iter().filter_map(|d| d["dct:identifier"].as_str()).collect();
        assert_eq!(identifiers, ["nelaimes-gadijumi-darba", "pirmreizejas-arodslimibas"]);
        for dataset in datasets {
            assert_eq!(dataset["@type"], "dcat:Dataset");
            for field in ["dct:title", "dct:description", "dcat:contactPoint", "dct:publisher", "dcat:distribution"] {
                assert!(dataset.get(field).is_some(), "dataset {} lacks {field}", dataset["dct:identifier"]);
            }
            assert_eq!(
                dataset["dct:accrualPeriodicity"]["@id"],
                "http://publications.europa.eu/resource/authority/frequency/MONTHLY"
            );
            for distribution in dataset["dcat:distribution"].as_array().expect("distributions") {
                let url = distribution["dcat:downloadURL"]["@id"].as_str().expect("a download URL");
                assert!(url.starts_with("https://sample.vdi.apps.makonis.lv/datasets/"), "{url}");
            }
        }
    }
}

#[test]
fn items_are_complete_and_documented() {
    let items = load_items();
    let docs = manifest_dir().join("../docs/catalog");
    let index = fs::read_to_string(docs.join("README.md")).expect("docs/catalog/README.md exists");
    for loaded in &items {
        let spec = &loaded.item.spec;
        let name = &loaded.name;
        assert_eq!(spec.version, "1.0.0", "{name}: version");
        assert!(spec.owner.email.ends_with("@lm.gov.lv"), "{name}: owner e-mail {}", spec.owner.email);
        assert!((2..=3).contains(&spec.plans.len()), "{name}: two or three plans");
        let expected_approval = if spec.category == Category::Applications {
            makonis_api::catalog::Approval::AgencyApproverThenPlatform
        } else {
            makonis_api::catalog::Approval::AgencyApprover
        };
        assert_eq!(spec.approval, expected_approval, "{name}: approval");
        let page_path = docs.join(format!("{name}.md"));
        let page =
            fs::read_to_string(&page_path).unwrap_or_else(|_| panic!("{name}: {} is missing", page_path.display()));
        assert!(index.contains(&format!("({name}.md)")), "{name}: docs/catalog/README.md does not link the page");
        for plan in &spec.plans {
            assert!(page.contains(&format!("`{}`", plan.name)), "{name}.md does not describe plan `{}`", plan.name);
            assert!(
                page.contains(&plan.monthly_price_eur),
                "{name}.md does not state plan `{}`'s price {}",
                plan.name,
                plan.monthly_price_eur
            );
            assert!(index.contains(&plan.monthly_price_eur), "README.md lacks {name}/{}'s price", plan.name);
        }
        let properties = spec.parameters.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
        for parameter in properties.keys() {
            assert!(page.contains(&format!("`{parameter}`")), "{name}.md does not document parameter `{parameter}`");
        }
    }
}

/// Every `kind: ServiceInstance` example in `docs/catalog/*.md` is an order the item
/// accepts and renders.
#[test]
fn documented_example_orders_are_valid() {
    let items = load_items();
    let docs = manifest_dir().join("../docs/catalog");
    let mut examples = 0;
    for loaded in &items {
        let page = fs::read_to_string(docs.join(format!("{}.md", loaded.name))).expect("the item's page exists");
        let blocks = page.split("```yaml\n").skip(1).filter_map(|rest| rest.split_once("```").map(|(block, _)| block));
        for block in blocks.filter(|b| b.contains("kind: ServiceInstance")) {
            let instance: ServiceInstance = serde_yaml_ng::from_str(block)
                .unwrap_or_else(|e| panic!("{}.md: example is not a ServiceInstance: {e}\n{block}", loaded.name));
            assert_eq!(instance.spec.catalog_item, loaded.name, "{}.md: example orders another item", loaded.name);
            assert_eq!(
                instance.metadata.namespace.as_deref(),
                Some(NAMESPACE),
                "{}.md: example namespace",
                loaded.name
            );
            render_with(loaded, &instance.spec.plan, &instance.spec.parameters, &PlatformVars::default());
            examples += 1;
        }
    }
    assert!(examples >= items.len(), "every item's page has an example order ({examples} found)");
}
