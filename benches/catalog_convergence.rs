//! How fast the catalog turns orders into Ready services, and what it costs.
//!
//! Run with `./bench.sh`, which starts a fresh local control plane for it. The benchmark
//! orders `MAKONIS_BENCH_INSTANCES` (default 1,000) ServiceInstances, spread over 12
//! agencies and sent through the admission webhook, in two scenarios:
//! - `config`: an item that renders a ConfigMap and a Service. These are ready once they
//!   exist, so the scenario measures the catalog operator with the API server, without
//!   simulated Pods or volumes;
//! - `workload`: the test item, which renders a Deployment (one Pod, scheduled and made
//!   Ready by the simulated nodes), a claim (bound by the simulated provisioner), a
//!   ConfigMap and a Service, plus each instance's credentials Secret.
//!
//! For each scenario it prints:
//! - the time until every instance is `Ready`, and instances per second;
//! - order-to-Ready latency p50 and p99;
//! - the catalog operator's API requests per instance (reads, writes), counted by its own
//!   client;
//! - reconciles per instance, and reconcile duration p50 and p99, from the operator's
//!   histogram and interpolated within buckets as Prometheus' `histogram_quantile` does;
//! - the CPU seconds each process used meanwhile.
//!
//! Afterwards it prints the operator's peak resident memory (VmHWM) and the writes made
//! during `MAKONIS_BENCH_STEADY_SECONDS` (default 60) of steady state, counted both in the
//! API server's audit log and by the operator itself.

#[path = "../tests/support/mod.rs"]
mod support;

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::{
    Api,
    api::PostParams,
    runtime::{WatchStreamExt, watcher},
};
use makonis_api::catalog::{CatalogItem, Phase, ServiceInstance, Template};
use proc_stat::process_cpu_seconds;
use serde_json::json;
use support::{
    agencies::TEST_LABEL,
    audit::{audit_offset, read_writes},
    catalog::{CATALOG_SERVICE_ACCOUNT, CatalogRun, test_item},
    cluster::OPERATOR_NAMESPACE,
};

#[path = "support/proc_stat.rs"]
mod proc_stat;

const AGENCIES: usize = 12;
/// Orders sent at once, as a busy portal would (spread over the agencies).
const CONCURRENT_ORDERS: usize = 32;
/// The catalog controller's label in the operator's metrics.
const CATALOG: &str = "controller=\"makonis-catalog\"";

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let instances = setting("MAKONIS_BENCH_INSTANCES", 1000) as usize;
    let steady = Duration::from_secs(setting("MAKONIS_BENCH_STEADY_SECONDS", 60));
    let run = CatalogRun::start(300).await;
    println!("catalog convergence benchmark: {instances} instances per scenario over {AGENCIES} agencies");

    for (scenario, item) in [("config", config_item(&run.item_name("config"))), ("workload", workload_item(&run))] {
        let namespaces = agencies(&run, scenario, instances).await;
        run.publish(item.clone()).await.expect("publish the bench item");
        let item_name = item.metadata.name.clone().unwrap();
        let processes = processes(&run);
        let cpu_before: Vec<f64> = processes.iter().map(|(_, pid)| process_cpu_seconds(*pid)).collect();
        let before = run.catalog.metrics().await;
        let result = converge(&run, &namespaces, &item_name, instances).await;
        let after = run.catalog.metrics().await;
        let cpu: Vec<(String, f64)> = processes
            .iter()
            .zip(cpu_before)
            .map(|((name, pid), before)| (name.clone(), process_cpu_seconds(*pid) - before))
            .collect();
        report(scenario, instances, &result, &before, &after, &cpu);
    }

    let offset = audit_offset();
    let writes_before = metric_sum(&run.catalog.metrics().await, "makonis_operator_api_writes_total", "");
    tokio::time::sleep(steady).await;
    let user = format!("system:serviceaccount:{OPERATOR_NAMESPACE}:{CATALOG_SERVICE_ACCOUNT}");
    let (writes, _) = read_writes(offset);
    let audited = writes.iter().filter(|w| w.user == user).count();
    let counted = metric_sum(&run.catalog.metrics().await, "makonis_operator_api_writes_total", "") - writes_before;
    let (peak, now) = memory_kib(run.catalog.pid());
    println!("after both scenarios ({} instances)", 2 * instances);
    println!("  operator peak RSS             {:.1} MiB (now {:.1} MiB)", peak as f64 / 1024.0, now as f64 / 1024.0);
    println!("  steady state ({}s) writes     {audited} audited, {counted} counted", steady.as_secs());
    run.finish().await;
}

/// An item whose instances are a ConfigMap and a Service: ready when they exist.
fn config_item(name: &str) -> CatalogItem {
    let mut item = test_item(name);
    item.spec.templates = vec![Template {
        name: "config".into(),
        template: r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ instance.name }}-config
data:
  greeting: {{ parameters.greeting | json_encode() }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ instance.name }}
spec:
  selector: {makonis.lv/instance: {{ instance.name }}}
  ports:
    - {name: http, port: 80, targetPort: 8080}
"#
        .into(),
    }];
    item.spec.retain_on_retire.clear();
    item
}

/// The test item, with Pods small enough for a thousand on the simulated nodes.
fn workload_item(run: &CatalogRun) -> CatalogItem {
    let mut item = test_item(&run.item_name("workload"));
    for template in &mut item.spec.templates {
        template.template = template.template.replace("cpu: 100m, memory: 128Mi", "cpu: 5m, memory: 8Mi");
    }
    item
}

/// Twelve agencies for a scenario, with quota for their share of the instances.
async fn agencies(run: &CatalogRun, scenario: &str, instances: usize) -> Vec<String> {
    let per_agency = instances.div_ceil(AGENCIES);
    let mut namespaces = Vec::new();
    for i in 0..AGENCIES {
        let prefix = format!("{}{i}x", &scenario[..1]);
        let namespace = run
            .agency_with(&prefix, |agency| {
                let quota = &mut agency.spec.quota;
                quota.cpu = Quantity("500".into());
                quota.memory = Quantity("1Ti".into());
                quota.storage = Quantity("10Ti".into());
                quota.service_instances = per_agency as i32;
            })
            .await;
        namespaces.push(namespace);
    }
    namespaces
}

/// What one scenario measured.
struct Convergence {
    ordered: Duration,
    ready: Duration,
    latencies: Vec<Duration>,
}

/// Orders `instances` instances of `item` and waits until every one is Ready.
async fn converge(run: &CatalogRun, namespaces: &[String], item: &str, instances: usize) -> Convergence {
    let all: Api<ServiceInstance> = Api::all(run.admin.clone());
    let ordered_at = std::sync::Arc::new(std::sync::Mutex::new(HashMap::new()));
    let watch = tokio::spawn({
        let ordered_at = ordered_at.clone();
        let selector = format!("{TEST_LABEL}={}", run.run);
        let item = item.to_string();
        async move {
            let mut ready = HashMap::new();
            let mut events = watcher(all, watcher::Config::default().labels(&selector)).applied_objects().boxed();
            while let Some(instance) = events.try_next().await.expect("watch instances") {
                let done = instance.status.as_ref().and_then(|s| s.phase) == Some(Phase::Ready);
                if !done || instance.spec.catalog_item != item {
                    continue;
                }
                let key = (instance.metadata.namespace.clone().unwrap(), instance.metadata.name.clone().unwrap());
                ready.entry(key).or_insert_with(Instant::now);
                if ready.len() == instances {
                    let ordered = ordered_at.lock().unwrap();
                    let latencies = ready
                        .iter()
                        .filter_map(|(key, at): (&(String, String), &Instant)| {
                            ordered.get(key).map(|o: &Instant| at.saturating_duration_since(*o))
                        })
                        .collect::<Vec<_>>();
                    return (Instant::now(), latencies);
                }
            }
            panic!("the watch ended before every instance was Ready");
        }
    });

    let started = Instant::now();
    let orders = (0..instances).map(|i| {
        let namespace = namespaces[i % AGENCIES].clone();
        run.instance(&namespace, &format!("svc{i}"), item, "small", json!({}))
    });
    futures::stream::iter(orders)
        .for_each_concurrent(CONCURRENT_ORDERS, |order| {
            let namespace = order.metadata.namespace.clone().unwrap();
            let name = order.metadata.name.clone().unwrap();
            let api: Api<ServiceInstance> = Api::namespaced(run.admin.clone(), &namespace);
            let ordered_at = ordered_at.clone();
            async move {
                // Concurrent orders in one namespace race for its ResourceQuota; the API
                // server answers the losers 409 Conflict, and clients retry.
                loop {
                    match api.create(&PostParams::default(), &order).await {
                        Ok(_) => break,
                        Err(kube::Error::Api(status)) if status.code == 409 => continue,
                        Err(error) => panic!("order refused: {error}"),
                    }
                }
                ordered_at.lock().unwrap().insert((namespace, name), Instant::now());
            }
        })
        .await;
    let ordered = started.elapsed();
    let (all_ready, mut latencies) = tokio::time::timeout(Duration::from_secs(1800), watch)
        .await
        .expect("every instance Ready within 30 minutes")
        .expect("the watch task");
    latencies.sort();
    Convergence { ordered, ready: all_ready.duration_since(started), latencies }
}

fn report(scenario: &str, instances: usize, result: &Convergence, before: &str, after: &str, cpu: &[(String, f64)]) {
    let delta = |name: &str, labels: &str| metric_sum(after, name, labels) - metric_sum(before, name, labels);
    let per_instance =
        |class: &str| delta("makonis_operator_api_requests_total", &format!("class=\"{class}\"")) / instances as f64;
    let reconciles = delta("makonis_operator_reconcile_total", CATALOG);
    let buckets = bucket_deltas(before, after);
    let percentile = |q: f64| {
        let index = ((result.latencies.len() as f64 * q).ceil() as usize).clamp(1, result.latencies.len().max(1)) - 1;
        result.latencies.get(index).map_or(0.0, Duration::as_secs_f64)
    };
    println!("scenario {scenario}");
    println!("  all orders accepted after     {:.2} s", result.ordered.as_secs_f64());
    println!("  all Ready after               {:.2} s", result.ready.as_secs_f64());
    println!("  instances per second          {:.1}", instances as f64 / result.ready.as_secs_f64());
    println!("  order to Ready p50 / p99      {:.2} s / {:.2} s", percentile(0.50), percentile(0.99));
    println!("  API reads per instance        {:.2}", per_instance("read"));
    println!("  API writes per instance       {:.2}", per_instance("write"));
    println!("  reconciles per instance       {:.2}", reconciles / instances as f64);
    println!(
        "  reconcile p50 / p99           {:.1} ms / {:.1} ms",
        quantile(&buckets, 0.50) * 1000.0,
        quantile(&buckets, 0.99) * 1000.0
    );
    let cpu = cpu.iter().map(|(name, seconds)| format!("{name} {seconds:.1}")).collect::<Vec<_>>().join(", ");
    println!("  CPU seconds                   {cpu}");
}

/// The processes whose CPU time is reported: the two operators and the control plane's
/// children, as `tests/cluster/cluster.sh status` lists them.
fn processes(run: &CatalogRun) -> Vec<(String, u32)> {
    let mut processes =
        vec![("catalog-operator".to_string(), run.catalog.pid()), ("tenancy-operator".to_string(), run.tenancy.pid())];
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cluster/cluster.sh");
    let status = std::process::Command::new(script).arg("status").output().expect("cluster.sh status");
    let text = String::from_utf8_lossy(&status.stdout);
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if let (Some(name), Some("pid"), Some(pid)) = (words.next(), words.next(), words.next())
            && let Ok(pid) = pid.parse()
        {
            processes.push((name.to_string(), pid));
        }
    }
    if let Some(pid) = text.split("ready: pid ").nth(1).and_then(|r| r.split(',').next()).and_then(|p| p.parse().ok()) {
        processes.push(("supervisor+etcd".to_string(), pid));
    }
    processes
}

/// The sum of the series of `name` whose labels contain `labels`.
fn metric_sum(text: &str, name: &str, labels: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(name) && line[name.len()..].starts_with(['{', ' ']))
        .filter(|line| line.contains(labels))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// `(upper bound, cumulative count)` of the catalog's reconcile histogram, after minus before.
fn bucket_deltas(before: &str, after: &str) -> Vec<(f64, f64)> {
    let name = "makonis_operator_reconcile_duration_seconds_bucket";
    let parse = |text: &str| -> Vec<(f64, f64)> {
        text.lines()
            .filter(|l| l.starts_with(name) && l.contains(CATALOG))
            .filter_map(|l| {
                let le = l.split("le=\"").nth(1)?.split('"').next()?;
                let bound = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
                Some((bound, l.rsplit_once(' ')?.1.parse().ok()?))
            })
            .collect()
    };
    let (b, a) = (parse(before), parse(after));
    a.iter()
        .map(|(bound, count)| (*bound, count - b.iter().find(|(x, _)| x == bound).map_or(0.0, |(_, c)| *c)))
        .collect()
}

/// The `q` quantile, interpolated linearly within its bucket (the lower bound of the
/// last bucket when it falls beyond the largest finite bound).
fn quantile(buckets: &[(f64, f64)], q: f64) -> f64 {
    let total = buckets.last().map_or(0.0, |(_, c)| *c);
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(bound, count) in buckets {
        if count >= rank {
            if bound.is_infinite() {
                return lower.0;
            }
            let within = if count > lower.1 { (rank - lower.1) / (count - lower.1) } else { 0.0 };
            return lower.0 + (bound - lower.0) * within;
        }
        lower = (bound, count);
    }
    lower.0
}

/// `(peak, current)` resident memory of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}
