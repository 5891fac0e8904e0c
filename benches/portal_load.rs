//! What the self-service portal answers under load, and how fast it lists many instances.
//!
//! Run with `./bench.sh` (or alone with `./bench.sh portal`). It needs no control plane:
//! the portal runs in this process on a fixed cluster view, as its handler tests do, over a
//! fresh SQLite store in a temporary directory under `target/`. The fixture is:
//! - the 12 demo agencies (`manifests/examples/agencies`, quotas raised for the instance
//!   count) and the sector's full catalog (`catalog/items`);
//! - 2,000 ServiceInstances spread over the agencies, items and plans, each with the
//!   status the catalog controller would write for it once Ready: the item's outputs and
//!   resources rendered by the catalog core, the admitted plan and the conditions, with
//!   `observedGeneration` equal to `metadata.generation`;
//! - the requests behind them in SQL (orders, resizes, rejected, cancelled and pending
//!   ones, each with its timeline), local accounts with argon2 hashes, a session of an
//!   agency's requester and an API token of a platform administrator.
//!
//! The portal serves on `127.0.0.1` (an ephemeral port), and `wrk` (the Debian package)
//! loads four routes, one after the other, with 64 connections for
//! `MAKONIS_BENCH_SECONDS` (default 10) each: the catalog page, an item's page and
//! "my services" as the requester (session cookie), and the API's list of services as the
//! platform administrator (bearer token). For each it prints requests per second, latency
//! p50 and p99, the answers that were not 2xx, and the cores the portal, wrk and every
//! other process of the machine used meanwhile (another build on the machine shows there,
//! and makes the run worthless). Each route is
//! checked once before (status 200 and the expected content), and the portal's own
//! request counter must show only 2xx answers after: a benchmark of error pages or
//! redirects to the sign-in page would be worthless, so any such answer fails the run.
//!
//! Then a second portal serves a view of 20,000 instances, and 20 sequential requests
//! over one keep-alive connection time `GET /api/v1/services` as the platform
//! administrator: minimum, median and maximum, the time to the first byte, and the
//! answer's size.
//!
//! Wrk and the portal share the machine's cores; the numbers are what a client on the
//! same machine sees. Goals that are missed are reported, not failed: the run fails only
//! when it could not measure (a missing wrk, a wrong answer, a socket error).

use std::{
    collections::{BTreeMap, HashMap},
    fmt::Write as _,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, anyhow, bail, ensure};
use k8s_openapi::{
    apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time},
    jiff::Timestamp,
};
use makonis_api::{
    catalog::{
        AdmittedPlan, CatalogItem, ChildStatus, LocalizedTitle, OutputValue, Phase, ServiceInstance,
        ServiceInstanceSpec,
    },
    tenancy::Agency,
};
use makonis_catalog::{
    CompiledItem, InstanceRef,
    error::join,
    item::instance_labels,
    quota::Units,
    render::{AgencyVars, PlatformVars},
};
use makonis_catalog_operator::{
    FINALIZER,
    status::{ObservedChild, Outcome, desired_status},
};
use makonis_portal::{
    cluster::ClusterView,
    context::{Context, PortalConfig},
    identity::{Identity, IdentitySource, password::hash_password},
    store::{
        Store,
        accounts::Account,
        audit::AuditEvent,
        now_ms, random_id,
        requests::{NewEvent, NewRequest},
        sessions::Session,
    },
    web::{AppState, Templates, app, metrics_app, ops::Metrics},
    workflow::{RequestKind, RequestState, Reservation, first_state, state_after_approval},
};
use proc_stat::{machine_busy_seconds, process_cpu_seconds};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

#[path = "support/proc_stat.rs"]
mod proc_stat;

/// Instances in the view the load runs against.
const INSTANCES: usize = 2_000;
/// Instances in the view the large listing is timed on.
const LARGE_INSTANCES: usize = 20_000;
/// Concurrent connections of the load generator.
const CONNECTIONS: usize = 64;
/// The load generator's threads: one per core of the 2-core machine the goals are for.
const WRK_THREADS: usize = 2;
/// Sequential requests of the large listing.
const LIST_RUNS: usize = 20;
/// The agency whose requester's session loads the pages.
const REQUESTER_AGENCY: &str = "vdi";
/// The item whose page is loaded.
const ITEM_PAGE: &str = "dms";
/// The name instances are rendered under once per agency, item and plan; each instance
/// then takes the rendered resources and outputs with its own name in its place.
const PROTOTYPE: &str = "bench-prototype";
/// The password of every account.
const PASSWORD: &str = "Parole-123!";
/// The group of the platform's administrators (`PortalConfig::default`).
const PLATFORM_ADMINS: &str = "Makonis-Platform-Admins";
/// How the items are weighted when instances are spread over them (others weigh 10).
const ITEM_WEIGHTS: [(&str, u64); 3] = [("postgresql", 30), ("web-app", 25), ("dms", 15)];
/// How an item's plans are weighted, in the item's order.
const PLAN_WEIGHTS: [u64; 3] = [55, 35, 10];

const DAY_MS: i64 = 24 * 3600 * 1000;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds = setting("MAKONIS_BENCH_SECONDS", 10).max(1);
    let wrk = wrk_version().await?;
    print_machine(&wrk);

    let started = Instant::now();
    let agencies = agencies()?;
    let items = items()?;
    let mut maker = InstanceMaker::new(&agencies, &items)?;
    let instances = maker.make(INSTANCES)?;
    let built = started.elapsed();

    let dir = TempDir::new()?;
    let store = Store::connect(&format!("sqlite://{}/portal.db", dir.0.display())).await?;
    let started = Instant::now();
    let people = accounts(&store, &agencies).await?;
    let seeded = seed_requests(&store, &instances, &items, &people).await?;
    let session = requester_session(&store, &people).await?;
    let token = admin_token(&store, &people).await?;
    println!(
        "portal load benchmark: {} agencies, {} catalog items, {} instances",
        agencies.len(),
        items.len(),
        thousands(INSTANCES as u64)
    );
    println!(
        "  fixture                       instances built in {:.1} s; {} accounts, {} requests with {} timeline events stored in {:.1} s",
        built.as_secs_f64(),
        people.accounts,
        thousands(seeded.requests),
        thousands(seeded.events),
        started.elapsed().as_secs_f64()
    );

    let requester_instances = instances
        .iter()
        .filter(|i| i.metadata.namespace.as_deref() == Some(&format!("agency-{REQUESTER_AGENCY}")))
        .count();
    let portal = Portal::start(store.clone(), &agencies, &items, instances).await?;
    let cookie = format!("__Host-makonis_session={session}");
    let bearer = format!("Bearer {token}");
    let routes = [
        Load {
            path: "/catalog".into(),
            pattern: "/catalog",
            header: ("Cookie", cookie.clone()),
            check: Check::Contains(
                items.iter().map(|i| format!("href=\"/catalog/{}\"", i.metadata.name.as_ref().unwrap())).collect(),
            ),
        },
        Load {
            path: format!("/catalog/{ITEM_PAGE}"),
            pattern: "/catalog/{item}",
            header: ("Cookie", cookie.clone()),
            check: Check::Contains(vec!["class=\"plans\"".into()]),
        },
        Load {
            path: "/services".into(),
            pattern: "/services",
            header: ("Cookie", cookie.clone()),
            check: Check::Count(format!("href=\"/services/{REQUESTER_AGENCY}/"), requester_instances),
        },
        Load {
            path: "/api/v1/services".into(),
            pattern: "/api/v1/services",
            header: ("Authorization", bearer.clone()),
            check: Check::Services(INSTANCES),
        },
    ];
    println!(
        "under load: wrk -t{WRK_THREADS} -c{CONNECTIONS} -d{seconds}s on loopback; pages as a requester of {REQUESTER_AGENCY} ({requester_instances} instances), the API as a platform administrator"
    );
    println!(
        "  {:<18} {:>7} {:>8} {:>8} {:>9} {:>8} {:>10}   cores: portal / wrk / other",
        "route", "req/s", "p50 ms", "p99 ms", "requests", "non-2xx", "answer"
    );
    let mut catalog = None;
    for route in &routes {
        let size = route.preflight(portal.addr).await?;
        let before = portal.counts(route.pattern).await?;
        let result = run_wrk(portal.addr, route, seconds).await?;
        let after = portal.counts(route.pattern).await?;
        let not_ok: u64 =
            after.iter().filter(|(class, _)| *class != "2xx").map(|(c, n)| n - before.get(c).unwrap_or(&0)).sum();
        println!(
            "  {:<18} {:>7.0} {:>8.2} {:>8.2} {:>9} {:>8} {:>10}   {:.2} / {:.2} / {:.2}",
            route.path,
            result.rps,
            result.p50_ms,
            result.p99_ms,
            result.requests,
            result.non_2xx.max(not_ok),
            size_text(size),
            result.portal_cores,
            result.wrk_cores,
            result.other_cores
        );
        ensure!(
            result.non_2xx == 0 && not_ok == 0,
            "{}: {} answers were not 2xx (wrk counted {}, the portal {}); the numbers measured error pages",
            route.path,
            result.non_2xx.max(not_ok),
            result.non_2xx,
            not_ok
        );
        ensure!(result.socket_errors.is_empty(), "{}: wrk reports socket errors: {}", route.path, result.socket_errors);
        if route.pattern == "/catalog" {
            catalog = Some(result);
        }
    }
    portal.stop();

    let large = maker.make(LARGE_INSTANCES)?;
    let portal = Portal::start(store.clone(), &agencies, &items, large).await?;
    let listing = time_listing(portal.addr, &bearer).await?;
    portal.stop();
    println!(
        "listing {} instances: GET /api/v1/services as a platform administrator, {LIST_RUNS} requests over one connection",
        thousands(LARGE_INSTANCES as u64)
    );
    println!(
        "  min / median / max            {:.1} / {:.1} / {:.1} ms",
        listing.total_ms[0],
        median(&listing.total_ms),
        listing.total_ms[LIST_RUNS - 1]
    );
    println!("  first byte, median            {:.1} ms", median(&listing.first_byte_ms));
    println!("  answer                        {}", size_text(listing.size));

    let catalog = catalog.context("the catalog page was measured")?;
    let met = |ok: bool| if ok { "met" } else { "NOT met" };
    println!("goals");
    println!(
        "  catalog page >= 3,000 req/s, p99 < 25 ms    {:.0} req/s, p99 {:.2} ms: {}",
        catalog.rps,
        catalog.p99_ms,
        met(catalog.rps >= 3000.0 && catalog.p99_ms < 25.0)
    );
    println!(
        "  listing 20,000 instances < 100 ms           median {:.1} ms: {}",
        median(&listing.total_ms),
        met(median(&listing.total_ms) < 100.0)
    );
    drop(dir);
    Ok(())
}

/// The machine and build the numbers come from.
fn print_machine(wrk: &str) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    let profile = if cfg!(debug_assertions) {
        "debug (unoptimised: the numbers mean nothing, use cargo bench)"
    } else {
        "optimised (cargo bench)"
    };
    println!("machine: {cores} cores ({model}), load average {load} at start; build: {profile}; {wrk}");
}

/// The first line of `wrk -v`, or why wrk cannot be run.
async fn wrk_version() -> anyhow::Result<String> {
    match tokio::process::Command::new("wrk").arg("-v").output().await {
        Ok(output) => {
            let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
            Ok(text.lines().next().unwrap_or("wrk").split(" Copyright").next().unwrap_or("wrk").trim().to_string())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            bail!(
                "wrk is not installed: this benchmark needs the HTTP load generator wrk (Debian: apt-get install wrk)"
            )
        }
        Err(error) => Err(error).context("running wrk -v"),
    }
}

/// A directory under `target/` for the benchmark's database, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<Self> {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("portal-load-{}", random_id(4)));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn read_yaml_dir<T: serde::de::DeserializeOwned>(dir: &str) -> anyhow::Result<Vec<T>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml") && !p.ends_with("kustomization.yaml"));
    files.sort();
    files
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p)?;
            serde_yaml_ng::from_str(&text).with_context(|| format!("parsing {}", p.display()))
        })
        .collect()
}

/// The demo agencies, with quotas for their share of the largest view.
fn agencies() -> anyhow::Result<Vec<Agency>> {
    let mut agencies: Vec<Agency> = read_yaml_dir("manifests/examples/agencies")?;
    ensure!(agencies.len() == 12, "expected the 12 demo agencies, found {}", agencies.len());
    let share = LARGE_INSTANCES.div_ceil(agencies.len());
    for agency in &mut agencies {
        let quota = &mut agency.spec.quota;
        quota.cpu = k8s_openapi::apimachinery::pkg::api::resource::Quantity("20000".into());
        quota.memory = k8s_openapi::apimachinery::pkg::api::resource::Quantity("100Ti".into());
        quota.storage = k8s_openapi::apimachinery::pkg::api::resource::Quantity("10Pi".into());
        quota.service_instances = share as i32;
    }
    Ok(agencies)
}

/// The sector's catalog, as the catalog controller publishes it (generation 1).
fn items() -> anyhow::Result<Vec<CatalogItem>> {
    let mut items: Vec<CatalogItem> = read_yaml_dir("catalog/items")?;
    for item in &mut items {
        item.metadata.generation = Some(1);
        item.metadata.uid = item.metadata.name.clone();
    }
    Ok(items)
}

/// A deterministic pseudo-random number for `i` and `salt` (SplitMix64).
fn mix(i: u64, salt: u64) -> u64 {
    let mut z = i.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(salt.wrapping_mul(0xbf58_476d_1ce4_e5b9));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The index chosen by `roll` among `weights`.
fn pick(weights: &[u64], roll: u64) -> usize {
    let total: u64 = weights.iter().sum();
    let mut at = roll % total;
    for (index, weight) in weights.iter().enumerate() {
        if at < *weight {
            return index;
        }
        at -= weight;
    }
    weights.len() - 1
}

/// What every instance of one item and plan in one agency shares: rendered once.
struct Prototype {
    children: Vec<ObservedChild>,
    outputs: Vec<OutputValue>,
    admitted: AdmittedPlan,
    parameters: Value,
}

/// Makes ServiceInstances as the catalog controller leaves them once Ready.
struct InstanceMaker<'a> {
    agencies: &'a [Agency],
    items: Vec<(&'a CatalogItem, CompiledItem, Value)>,
    prototypes: HashMap<(usize, usize, usize), Arc<Prototype>>,
    now: i64,
}

impl<'a> InstanceMaker<'a> {
    fn new(agencies: &'a [Agency], items: &'a [CatalogItem]) -> anyhow::Result<Self> {
        let items = items
            .iter()
            .map(|item| {
                let name = item.metadata.name.as_deref().context("an item without a name")?;
                let compiled = CompiledItem::compile(name, &item.spec)
                    .map_err(|e| anyhow!("catalog item {name} does not compile: {}", join(&e)))?;
                Ok((item, compiled, sample_parameters(item)))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self { agencies, items, prototypes: HashMap::new(), now: now_ms() })
    }

    fn prototype(&mut self, agency: usize, item: usize, plan: usize) -> anyhow::Result<Arc<Prototype>> {
        let key = (agency, item, plan);
        if let Some(prototype) = self.prototypes.get(&key) {
            return Ok(Arc::clone(prototype));
        }
        let (spec, compiled, sample) = &self.items[item];
        let plan_name = &spec.spec.plans[plan].name;
        let agency = &self.agencies[agency].spec;
        let host_domains = makonis_api::tenancy::agency_domains(&agency.code, &agency.domains, "apps.makonis.lv");
        let order = compiled
            .check_order(plan_name, sample, &host_domains)
            .map_err(|e| anyhow!("{}: the sample order is refused: {}", compiled.name(), join(&e)))?;
        let namespace = format!("agency-{}", agency.code);
        let instance = InstanceRef {
            name: PROTOTYPE,
            namespace: &namespace,
            agency: AgencyVars {
                code: agency.code.clone(),
                display_name: LocalizedTitle { lv: agency.display_name.lv.clone(), en: agency.display_name.en.clone() },
            },
            host_domains: &host_domains,
        };
        let rendered = compiled
            .render(&instance, &order, &PlatformVars::default())
            .map_err(|e| anyhow!("{} does not render: {e}", compiled.name()))?;
        let children = rendered
            .objects
            .iter()
            .map(|o| ObservedChild {
                status: ChildStatus {
                    api_version: o.kind.api_version(),
                    kind: o.kind.kind.to_string(),
                    name: o.name.clone(),
                    ready: true,
                    message: None,
                },
                failed: false,
            })
            .collect();
        let admitted = AdmittedPlan { plan: plan_name.clone(), resources: order.plan.resources.clone() };
        let prototype =
            Arc::new(Prototype { children, outputs: rendered.outputs, admitted, parameters: order.parameters });
        self.prototypes.insert(key, Arc::clone(&prototype));
        Ok(prototype)
    }

    /// `count` Ready instances, spread over the agencies, items and plans.
    fn make(&mut self, count: usize) -> anyhow::Result<Vec<ServiceInstance>> {
        let weights: Vec<u64> = self
            .items
            .iter()
            .map(|(item, _, _)| {
                let name = item.metadata.name.as_deref().unwrap_or("");
                ITEM_WEIGHTS.iter().find(|(n, _)| *n == name).map_or(10, |(_, w)| *w)
            })
            .collect();
        let mut numbers = vec![0usize; self.agencies.len()];
        (0..count)
            .map(|i| {
                let agency = i % self.agencies.len();
                let item = pick(&weights, mix(i as u64, 1));
                let plans = self.items[item].0.spec.plans.len().min(PLAN_WEIGHTS.len());
                let plan = pick(&PLAN_WEIGHTS[..plans], mix(i as u64, 2));
                numbers[agency] += 1;
                let name =
                    format!("{}-{:05}", self.items[item].0.metadata.name.as_deref().unwrap_or("x"), numbers[agency]);
                let prototype = self.prototype(agency, item, plan)?;
                self.instance(i, agency, item, &name, &prototype)
            })
            .collect()
    }

    fn instance(
        &self,
        i: usize,
        agency: usize,
        item: usize,
        name: &str,
        prototype: &Prototype,
    ) -> anyhow::Result<ServiceInstance> {
        let code = &self.agencies[agency].spec.code;
        let item_name = self.items[item].0.metadata.name.clone().unwrap_or_default();
        let created = self.now - (mix(i as u64, 3) % 700) as i64 * DAY_MS - (mix(i as u64, 4) % DAY_MS as u64) as i64;
        // One in seven instances was resized once since it was ordered.
        let generation = if i % 7 == 3 { 2 } else { 1 };
        let mut instance = ServiceInstance {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some(format!("agency-{code}")),
                uid: Some(format!("{:08x}-{:04x}-4{:03x}-8000-{:012x}", mix(i as u64, 5) as u32, agency, item, i)),
                generation: Some(generation),
                resource_version: Some((100_000 + 3 * i).to_string()),
                creation_timestamp: Some(Time(timestamp(created)?)),
                labels: Some(instance_labels(code, name, &item_name)),
                finalizers: Some(vec![FINALIZER.to_string()]),
                ..Default::default()
            },
            spec: ServiceInstanceSpec {
                catalog_item: item_name,
                plan: prototype.admitted.plan.clone(),
                parameters: prototype.parameters.clone(),
            },
            status: None,
        };
        let children = prototype
            .children
            .iter()
            .map(|c| {
                let mut child = c.clone();
                child.status.name = child.status.name.replace(PROTOTYPE, name);
                child
            })
            .collect();
        let outputs = prototype
            .outputs
            .iter()
            .map(|o| OutputValue { value: o.value.replace(PROTOTYPE, name), ..o.clone() })
            .collect();
        let outcome = Outcome::Applied { children, outputs, admitted: prototype.admitted.clone() };
        let status = desired_status(&instance, &outcome, timestamp(created + 90_000)?);
        ensure!(status.phase == Some(Phase::Ready), "{name} would not be Ready: {:?}", status.conditions);
        instance.status = Some(status);
        Ok(instance)
    }
}

fn timestamp(ms: i64) -> anyhow::Result<Timestamp> {
    Timestamp::from_millisecond(ms).context("a time stamp")
}

/// The first example of every required parameter without a default, as a user would fill
/// in the order form.
fn sample_parameters(item: &CatalogItem) -> Value {
    let schema = &item.spec.parameters;
    let mut sample = serde_json::Map::new();
    for name in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        let property = &schema["properties"][name];
        if property.get("default").is_none()
            && let Some(example) = property["examples"].get(0)
        {
            sample.insert(name.to_string(), example.clone());
        }
    }
    Value::Object(sample)
}

/// The people behind the requests.
struct People {
    /// Per agency code: requester and approver.
    agencies: HashMap<String, (Identity, Identity)>,
    admin: Identity,
    accounts: usize,
}

fn identity(username: &str, display_name: &str, groups: &[&str]) -> Identity {
    Identity {
        username: username.into(),
        display_name: display_name.into(),
        email: None,
        groups: groups.iter().map(|g| g.to_string()).collect(),
        source: IdentitySource::Local,
    }
}

/// A requester and an approver per agency and a platform administrator, as local
/// accounts with argon2 hashes (one hash: argon2 is slow by design).
async fn accounts(store: &Store, agencies: &[Agency]) -> anyhow::Result<People> {
    let hash = hash_password(PASSWORD);
    let mut people = People {
        agencies: HashMap::new(),
        admin: identity("admin", "Platformas administrators", &[PLATFORM_ADMINS]),
        accounts: 0,
    };
    let mut all = vec![people.admin.clone()];
    for agency in agencies {
        let spec = &agency.spec;
        let upper = spec.code.to_uppercase();
        let requester = identity(
            &format!("{}-pieprasitajs", spec.code),
            &format!("Pieprasītājs ({upper})"),
            &[&spec.directory.groups.requesters],
        );
        let approver = identity(
            &format!("{}-apstiprinatajs", spec.code),
            &format!("Apstiprinātājs ({upper})"),
            &[&spec.directory.groups.approvers],
        );
        all.push(requester.clone());
        all.push(approver.clone());
        people.agencies.insert(spec.code.clone(), (requester, approver));
    }
    for person in &all {
        let account = Account {
            username: person.username.clone(),
            password_hash: hash.clone(),
            display_name: person.display_name.clone(),
            email: None,
            groups: person.groups.clone(),
        };
        store.put_account(&account, now_ms()).await?;
    }
    people.accounts = all.len();
    Ok(people)
}

/// How many rows the requests took.
struct Seeded {
    requests: u64,
    events: u64,
}

/// The requests behind the instances, through the store as the portal makes them: each
/// instance's order (and for a resized one its resize) taken through its approvals to
/// Ready; besides, rejected, cancelled and still pending orders.
async fn seed_requests(
    store: &Store,
    instances: &[ServiceInstance],
    items: &[CatalogItem],
    people: &People,
) -> anyhow::Result<Seeded> {
    let items: HashMap<&str, &CatalogItem> =
        items.iter().map(|i| (i.metadata.name.as_deref().unwrap_or(""), i)).collect();
    let mut seeded = Seeded { requests: 0, events: 0 };
    for (i, instance) in instances.iter().enumerate() {
        let code = instance.metadata.namespace.as_deref().and_then(|n| n.strip_prefix("agency-")).unwrap_or("");
        let item = items[instance.spec.catalog_item.as_str()];
        let created = instance.metadata.creation_timestamp.as_ref().map_or(0, |t| t.0.as_millisecond());
        let name = instance.metadata.name.clone().unwrap_or_default();
        let resized = instance.metadata.generation == Some(2);
        let first_plan = if resized { &item.spec.plans[0].name } else { &instance.spec.plan };
        let order = Order { code, item, plan: first_plan, instance: &name, parameters: &instance.spec.parameters };
        let mut at = created - 2 * 3600 * 1000;
        seeded.add(order.submit(store, people, RequestKind::Order, at, RequestState::Ready).await?);
        if resized {
            at = created + (mix(i as u64, 6) % 200) as i64 * DAY_MS;
            seeded.add(
                order
                    .resize(&instance.spec.plan)
                    .submit(store, people, RequestKind::Resize, at, RequestState::Ready)
                    .await?,
            );
        }
        // Items that need no approval have no rejected, cancelled or waiting requests.
        let extra = [(10, RequestState::Rejected), (20, RequestState::Cancelled), (40, RequestState::AwaitingAgency)];
        for (every, outcome) in extra {
            if i % every == every / 2 && first_state(item.spec.approval) != RequestState::Approved {
                let other = format!("{name}-{}", outcome.as_str().replace('_', "-"));
                let order = Order { instance: &other, ..order };
                at = created + (mix(i as u64, 7) % 300) as i64 * DAY_MS;
                seeded.add(order.submit(store, people, RequestKind::Order, at.min(now_ms()), outcome).await?);
            }
        }
    }
    Ok(seeded)
}

impl Seeded {
    fn add(&mut self, events: u64) {
        self.requests += 1;
        self.events += events;
    }
}

/// One request to seed.
#[derive(Clone, Copy)]
struct Order<'a> {
    code: &'a str,
    item: &'a CatalogItem,
    plan: &'a str,
    instance: &'a str,
    parameters: &'a Value,
}

impl<'a> Order<'a> {
    fn resize(self, plan: &'a str) -> Self {
        Self { plan, ..self }
    }

    /// Creates the request at `at` and moves it as people and the portal would until it
    /// is in `outcome`; returns how many timeline events it got.
    async fn submit(
        &self,
        store: &Store,
        people: &People,
        kind: RequestKind,
        at: i64,
        outcome: RequestState,
    ) -> anyhow::Result<u64> {
        let (requester, approver) = &people.agencies[self.code];
        let plan = self.item.spec.plans.iter().find(|p| p.name == self.plan).context("the instance's plan")?;
        let approval = self.item.spec.approval;
        let new = NewRequest {
            kind,
            catalog_item: self.item.metadata.name.clone().unwrap_or_default(),
            plan: plan.name.clone(),
            parameters: self.parameters.clone(),
            instance: self.instance.to_string(),
            requester: requester.username.clone(),
            requester_name: requester.display_name.clone(),
            approval,
            state: first_state(approval),
            reservation: Reservation::of(Units::of_plan(&plan.resources).map_err(anyhow::Error::msg)?),
            monthly_price: plan.monthly_price_eur.clone(),
        };
        let mut tx = store.begin().await?;
        let request = tx.create_request(self.code, at, |_| Ok::<_, ()>(new)).await?.map_err(|()| anyhow!("refused"))?;
        tx.commit(&seeded(&requester.username, self.code, kind.as_str(), at)).await?;
        let mut state = request.state;
        let mut events = 1;
        let mut at = at;
        while state != outcome {
            at += 3_600_000;
            let (to, who, event, message) = match state {
                RequestState::AwaitingAgency | RequestState::AwaitingPlatform => {
                    let (who, stage) = if state == RequestState::AwaitingAgency {
                        (approver, "agency")
                    } else {
                        (&people.admin, "platform")
                    };
                    match outcome {
                        RequestState::Rejected => {
                            (RequestState::Rejected, who, format!("rejected_{stage}"), String::new())
                        }
                        RequestState::Cancelled => {
                            (RequestState::Cancelled, requester, "cancelled".into(), String::new())
                        }
                        _ => (state_after_approval(approval, state), who, format!("approved_{stage}"), String::new()),
                    }
                }
                RequestState::Approved => {
                    (RequestState::Provisioning, &people.admin, "provisioning".into(), String::new())
                }
                RequestState::Provisioning => {
                    (RequestState::Ready, &people.admin, "ready".into(), "All resources are ready.".to_string())
                }
                other => bail!("no way from {} to {}", other.as_str(), outcome.as_str()),
            };
            // The platform itself records what the worker did.
            let (actor, actor_name) = if matches!(to, RequestState::Provisioning | RequestState::Ready) {
                ("makonis", "Mākonis")
            } else {
                (who.username.as_str(), who.display_name.as_str())
            };
            let audit = seeded(actor, self.code, &event, at);
            let event = NewEvent { actor, actor_name, event: &event, comment: "" };
            let mut tx = store.begin().await?;
            tx.transition(&request.id, &[state], to, &event, &message, at)
                .await?
                .with_context(|| format!("moving {} to {}", request.id, to.as_str()))?;
            tx.commit(&audit).await?;
            state = to;
            events += 1;
        }
        Ok(events)
    }
}

/// The audit record of a seeded step: what the portal records for it in production.
fn seeded(actor: &str, agency: &str, action: &str, at: i64) -> AuditEvent {
    AuditEvent {
        at,
        actor: actor.into(),
        agency: Some(agency.into()),
        action: action.into(),
        object: "request".into(),
        outcome: "success".into(),
        source_ip: "127.0.0.1".into(),
        session_id: "seed".into(),
        user_agent: "portal_load".into(),
        detail: String::new(),
    }
}

/// A session cookie token of the requester of [`REQUESTER_AGENCY`], made directly in the
/// store (signing in through the form would cost an argon2 verification and nothing else).
async fn requester_session(store: &Store, people: &People) -> anyhow::Result<String> {
    let (requester, _) = &people.agencies[REQUESTER_AGENCY];
    let token = random_id(32);
    let session = Session {
        id: random_id(8),
        identity: requester.clone(),
        csrf_token: random_id(16),
        expires_at: now_ms() + 8 * 3600 * 1000,
        checked_at: now_ms(),
    };
    let mut tx = store.begin().await?;
    tx.create_session(&token, &session, "127.0.0.1", "portal-load", now_ms()).await?;
    tx.commit(&seeded(&requester.username, REQUESTER_AGENCY, "sign_in", now_ms())).await?;
    Ok(token)
}

/// An API token of the platform administrator.
async fn admin_token(store: &Store, people: &People) -> anyhow::Result<String> {
    let now = now_ms();
    let mut tx = store.begin().await?;
    let (_, secret) = tx.create_token(&people.admin, &[], "portal-load", now, now + DAY_MS).await?;
    tx.commit(&seeded(&people.admin.username, REQUESTER_AGENCY, "create_token", now)).await?;
    Ok(secret)
}

/// A portal serving on loopback in this process, with its metrics listener.
struct Portal {
    addr: SocketAddr,
    metrics_addr: SocketAddr,
    server: JoinHandle<std::io::Result<()>>,
    metrics: JoinHandle<std::io::Result<()>>,
}

impl Portal {
    async fn start(
        store: Store,
        agencies: &[Agency],
        items: &[CatalogItem],
        instances: Vec<ServiceInstance>,
    ) -> anyhow::Result<Self> {
        let view = ClusterView::of_objects(agencies.to_vec(), items.to_vec(), instances);
        let state = AppState {
            context: Arc::new(Context::new(store, view, None, PortalConfig::default())),
            templates: Arc::new(Templates::embedded()?),
            metrics: Arc::new(Metrics::new()?),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let metrics_listener = TcpListener::bind("127.0.0.1:0").await?;
        let metrics_addr = metrics_listener.local_addr()?;
        let metrics_router = metrics_app(state.clone());
        let metrics = tokio::spawn(async move { axum::serve(metrics_listener, metrics_router).await });
        let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
        let server = tokio::spawn(async move { axum::serve(listener, service).await });
        Ok(Self { addr, metrics_addr, server, metrics })
    }

    /// Answers to `route` so far, by status class (`2xx`, `3xx`…), from the portal's own
    /// request counter.
    async fn counts(&self, route: &str) -> anyhow::Result<BTreeMap<String, u64>> {
        let answer = Client::connect(self.metrics_addr).await?.get("/metrics", None).await?;
        ensure!(answer.status == 200, "/metrics answered {}", answer.status);
        let text = String::from_utf8(answer.body)?;
        let mut counts = BTreeMap::new();
        let label = format!("route=\"{route}\"");
        for line in text.lines().filter(|l| l.starts_with("makonis_portal_http_requests_total{") && l.contains(&label))
        {
            let class = line.split("status=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or("?");
            let count: u64 = line.rsplit_once(' ').and_then(|(_, n)| n.parse().ok()).unwrap_or(0);
            *counts.entry(class.to_string()).or_default() += count;
        }
        Ok(counts)
    }

    fn stop(self) {
        self.server.abort();
        self.metrics.abort();
    }
}

/// One route to load.
struct Load {
    path: String,
    /// The route's pattern, as the portal's metrics label it.
    pattern: &'static str,
    /// The header that signs in.
    header: (&'static str, String),
    check: Check,
}

/// What a correct answer contains.
enum Check {
    /// Every one of these texts.
    Contains(Vec<String>),
    /// This text, exactly this many times.
    Count(String, usize),
    /// A JSON list of this many services.
    Services(usize),
}

impl Load {
    /// Fetches the route once and checks the answer; returns its size in bytes.
    async fn preflight(&self, addr: SocketAddr) -> anyhow::Result<usize> {
        let answer = Client::connect(addr).await?.get(&self.path, Some((self.header.0, &self.header.1))).await?;
        let body = String::from_utf8_lossy(&answer.body);
        ensure!(answer.status == 200, "{} answered {} before the load: {body:.300}", self.path, answer.status);
        match &self.check {
            Check::Contains(texts) => {
                for text in texts {
                    ensure!(body.contains(text.as_str()), "{} does not show {text}", self.path);
                }
            }
            Check::Count(text, expected) => {
                let found = body.matches(text.as_str()).count();
                ensure!(found == *expected, "{} shows {text} {found} times, not {expected}", self.path);
            }
            Check::Services(expected) => {
                let json: Value = serde_json::from_slice(&answer.body)?;
                let found = json["services"].as_array().map_or(0, Vec::len);
                ensure!(found == *expected, "{} lists {found} services, not {expected}", self.path);
            }
        }
        Ok(answer.body.len())
    }
}

/// What wrk measured.
#[derive(Debug, Clone)]
struct WrkResult {
    requests: u64,
    seconds: f64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
    /// wrk's socket error line, if any error was counted.
    socket_errors: String,
    /// Cores the portal (this process) used meanwhile, on average.
    portal_cores: f64,
    /// Cores wrk used.
    wrk_cores: f64,
    /// Cores every other process of the machine used: other work disturbs the numbers.
    other_cores: f64,
}

async fn run_wrk(addr: SocketAddr, route: &Load, seconds: u64) -> anyhow::Result<WrkResult> {
    let mut child = tokio::process::Command::new("wrk")
        .arg(format!("-t{WRK_THREADS}"))
        .arg(format!("-c{CONNECTIONS}"))
        .arg(format!("-d{seconds}s"))
        .arg("--timeout")
        .arg("30s")
        .arg("--latency")
        .arg("-H")
        .arg(format!("{}: {}", route.header.0, route.header.1))
        .arg(format!("http://{addr}{}", route.path))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("running wrk")?;
    let (portal_before, machine_before, since) = (process_cpu_seconds("self"), machine_busy_seconds(), Instant::now());
    let pid = child.id().context("wrk's process id")?.to_string();
    let read = |pipe: Option<tokio::process::ChildStdout>| async move {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            pipe.read_to_string(&mut text).await?;
        }
        Ok::<_, std::io::Error>(text)
    };
    let stdout = tokio::spawn(read(child.stdout.take()));
    let mut stderr = child.stderr.take().context("wrk's standard error")?;
    let stderr = tokio::spawn(async move {
        let mut text = String::new();
        stderr.read_to_string(&mut text).await.map(|_| text)
    });
    // wrk's CPU time is read while it runs: the last reading misses at most its final
    // 200 ms, in which it only prints its report.
    let mut wrk_cpu = 0.0_f64;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status?,
            () = tokio::time::sleep(Duration::from_millis(200)) => wrk_cpu = wrk_cpu.max(process_cpu_seconds(&pid)),
        }
    };
    let (portal_cpu, machine) = (process_cpu_seconds("self") - portal_before, machine_busy_seconds() - machine_before);
    // Over the whole time wrk ran: the portal goes on answering what was in flight when
    // wrk's own clock stopped.
    let wall = since.elapsed().as_secs_f64();
    let text = stdout.await??;
    ensure!(status.success(), "wrk failed ({status}): {text}{}", stderr.await??);
    let mut result = parse_wrk(&text).with_context(|| format!("reading wrk's report:\n{text}"))?;
    result.portal_cores = portal_cpu / wall;
    result.wrk_cores = wrk_cpu / wall;
    result.other_cores = ((machine - portal_cpu - wrk_cpu) / wall).max(0.0);
    Ok(result)
}

/// Reads wrk's `--latency` report.
fn parse_wrk(text: &str) -> anyhow::Result<WrkResult> {
    let mut result = WrkResult {
        requests: 0,
        seconds: 0.0,
        rps: 0.0,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
        non_2xx: 0,
        socket_errors: String::new(),
        portal_cores: 0.0,
        wrk_cores: 0.0,
        other_cores: 0.0,
    };
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", value] => result.p50_ms = duration_ms(value)?,
            ["99%", value] => result.p99_ms = duration_ms(value)?,
            [count, "requests", "in", time, ..] => {
                result.requests = count.parse()?;
                result.seconds = duration_ms(time.trim_end_matches(','))? / 1000.0;
            }
            ["Requests/sec:", value] => result.rps = value.parse()?,
            ["Non-2xx", "or", "3xx", "responses:", value] => result.non_2xx = value.parse()?,
            ["Socket", "errors:", ..] => {
                let counts = line.split(':').nth(1).unwrap_or("");
                let any = counts.split(',').any(|c| c.split_whitespace().nth(1).is_some_and(|n| n != "0"));
                if any {
                    result.socket_errors = counts.trim().to_string();
                }
            }
            _ => {}
        }
    }
    ensure!(result.requests > 0 && result.seconds > 0.0, "no requests were counted");
    ensure!(result.p50_ms.is_finite() && result.p99_ms.is_finite(), "no latency distribution");
    Ok(result)
}

/// A wrk duration (`812.00us`, `4.51ms`, `1.02s`, `1.50m`) in milliseconds.
fn duration_ms(text: &str) -> anyhow::Result<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic()).context("a duration without a unit")?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse()?;
    Ok(match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        "h" => number * 3_600_000.0,
        other => bail!("unknown unit {other} in {text}"),
    })
}

/// Timings of the large listing, sorted.
struct Listing {
    total_ms: Vec<f64>,
    first_byte_ms: Vec<f64>,
    size: usize,
}

/// Lists every instance once to check the answer, then [`LIST_RUNS`] times over one
/// keep-alive connection.
async fn time_listing(addr: SocketAddr, bearer: &str) -> anyhow::Result<Listing> {
    let mut client = Client::connect(addr).await?;
    let header = Some(("Authorization", bearer));
    let first = client.get("/api/v1/services", header).await?;
    ensure!(first.status == 200, "the large listing answered {}", first.status);
    let json: Value = serde_json::from_slice(&first.body)?;
    let listed = json["services"].as_array().map_or(0, Vec::len);
    ensure!(listed == LARGE_INSTANCES, "the large listing has {listed} services, not {LARGE_INSTANCES}");
    let mut listing = Listing { total_ms: Vec::new(), first_byte_ms: Vec::new(), size: first.body.len() };
    for _ in 0..LIST_RUNS {
        let answer = client.get("/api/v1/services", header).await?;
        ensure!(answer.status == 200 && answer.body.len() == listing.size, "the large listing changed");
        listing.total_ms.push(answer.total.as_secs_f64() * 1000.0);
        listing.first_byte_ms.push(answer.first_byte.as_secs_f64() * 1000.0);
    }
    listing.total_ms.sort_by(f64::total_cmp);
    listing.first_byte_ms.sort_by(f64::total_cmp);
    Ok(listing)
}

/// One keep-alive HTTP/1.1 connection; enough for the portal's answers, which all carry
/// a `Content-Length`.
struct Client {
    stream: BufReader<TcpStream>,
    host: String,
}

/// An answer and how long it took.
struct Answer {
    status: u16,
    body: Vec<u8>,
    first_byte: Duration,
    total: Duration,
}

impl Client {
    async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Self { stream: BufReader::with_capacity(256 * 1024, stream), host: addr.to_string() })
    }

    async fn get(&mut self, path: &str, header: Option<(&str, &str)>) -> anyhow::Result<Answer> {
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        if let Some((name, value)) = header {
            write!(request, "{name}: {value}\r\n")?;
        }
        request.push_str("\r\n");
        let started = Instant::now();
        self.stream.get_mut().write_all(request.as_bytes()).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let first_byte = started.elapsed();
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("GET {path}: not an HTTP status line: {line:?}"))?;
        let mut length = None;
        loop {
            line.clear();
            ensure!(self.stream.read_line(&mut line).await? > 0, "GET {path}: the connection closed");
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = Some(value.trim().parse::<usize>()?);
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    bail!("GET {path}: a {} answer; this client reads Content-Length only", value.trim());
                }
            }
        }
        let mut body = vec![0; length.with_context(|| format!("GET {path}: an answer without Content-Length"))?];
        self.stream.read_exact(&mut body).await?;
        Ok(Answer { status, body, first_byte, total: started.elapsed() })
    }
}

fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn size_text(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// `12345` as `12,345`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut text = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            text.push(',');
        }
        text.push(c);
    }
    text
}
