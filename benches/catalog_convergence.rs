//! How fast the catalog turns orders into Ready services, and what it costs.
//!
//! Run with `./bench.sh` (which starts a fresh local control plane for it). Creates
//! `MAKONIS_BENCH_INSTANCES` (default 1,000) ServiceInstances of a small test item spread
//! over 12 agencies, through the admission webhook, and reports:
//! - the time until all are `Ready` and instances per second;
//! - the catalog operator's API requests per instance (reads, watches, writes), counted
//!   by its own client;
//! - reconcile duration p50 and p99 (from the operator's histogram, interpolated within
//!   buckets as Prometheus' `histogram_quantile` does);
//! - the operator's peak resident memory (VmHWM);
//! - writes during `MAKONIS_BENCH_STEADY_SECONDS` (default 60) of steady state, from the
//!   API server's audit log and the operator's own counter.

#[path = "../tests/support/mod.rs"]
mod support;

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::{
    Api,
    api::PostParams,
    runtime::{WatchStreamExt, watcher},
};
use makonis_api::catalog::{Phase, ServiceInstance};
use serde_json::json;
use support::{
    agencies::TEST_LABEL,
    audit::{audit_offset, read_writes},
    catalog::{CATALOG_SERVICE_ACCOUNT, CatalogRun, test_item},
    cluster::OPERATOR_NAMESPACE,
};

const AGENCIES: usize = 12;
/// Orders sent at once, as a busy portal would.
const CONCURRENT_ORDERS: usize = 32;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let instances = setting("MAKONIS_BENCH_INSTANCES", 1000) as usize;
    let steady = Duration::from_secs(setting("MAKONIS_BENCH_STEADY_SECONDS", 60));
    let run = CatalogRun::start(300).await;
    let per_agency = instances.div_ceil(AGENCIES);
    let mut namespaces = Vec::new();
    for i in 0..AGENCIES {
        let namespace = run
            .agency_with(&format!("b{i}x"), |agency| {
                let quota = &mut agency.spec.quota;
                quota.cpu = Quantity("200".into());
                quota.memory = Quantity("512Gi".into());
                quota.storage = Quantity("10Ti".into());
                quota.service_instances = per_agency as i32;
            })
            .await;
        namespaces.push(namespace);
    }
    let item = run.item_name("bench");
    let mut bench_item = test_item(&item);
    for template in &mut bench_item.spec.templates {
        template.template = template.template.replace("cpu: 100m, memory: 128Mi", "cpu: 5m, memory: 8Mi");
    }
    run.publish(bench_item).await.expect("publish the bench item");
    let before = run.catalog.metrics().await;

    let selector = format!("{TEST_LABEL}={}", run.run);
    let all: Api<ServiceInstance> = Api::all(run.admin.clone());
    let ready_watch = tokio::spawn({
        let all = all.clone();
        let selector = selector.clone();
        async move {
            let mut ready = HashSet::new();
            let mut events = watcher(all, watcher::Config::default().labels(&selector)).applied_objects().boxed();
            while let Some(instance) = events.try_next().await.expect("watch instances") {
                let name = (instance.metadata.namespace.clone(), instance.metadata.name.clone());
                if instance.status.as_ref().and_then(|s| s.phase) == Some(Phase::Ready) {
                    ready.insert(name);
                    if ready.len() == instances {
                        return Instant::now();
                    }
                }
            }
            panic!("the watch ended before every instance was Ready");
        }
    });

    let started = Instant::now();
    let orders = (0..instances).map(|i| {
        let namespace = namespaces[i % AGENCIES].clone();
        run.instance(&namespace, &format!("svc{i}"), &item, "small", json!({}))
    });
    futures::stream::iter(orders)
        .for_each_concurrent(CONCURRENT_ORDERS, |order| {
            let api: Api<ServiceInstance> =
                Api::namespaced(run.admin.clone(), order.metadata.namespace.as_deref().unwrap());
            async move {
                api.create(&PostParams::default(), &order).await.expect("order accepted");
            }
        })
        .await;
    let ordered = started.elapsed();
    let all_ready = tokio::time::timeout(Duration::from_secs(1800), ready_watch)
        .await
        .expect("every instance Ready within 30 minutes")
        .expect("the watch task");
    let converged = all_ready.duration_since(started);
    let after = run.catalog.metrics().await;

    let offset = audit_offset();
    let writes_before = metric_sum(&run.catalog.metrics().await, "makonis_operator_api_writes_total", "");
    tokio::time::sleep(steady).await;
    let user = format!("system:serviceaccount:{OPERATOR_NAMESPACE}:{CATALOG_SERVICE_ACCOUNT}");
    let (writes, _) = read_writes(offset);
    let audited = writes.iter().filter(|w| w.user == user).count();
    let counted = metric_sum(&run.catalog.metrics().await, "makonis_operator_api_writes_total", "") - writes_before;
    let rss = memory_kib(run.catalog.pid());

    let per = |class: &str| {
        let label = format!("class=\"{class}\"");
        (metric_sum(&after, "makonis_operator_api_requests_total", &label)
            - metric_sum(&before, "makonis_operator_api_requests_total", &label))
            / instances as f64
    };
    let reconciles = metric_sum(&after, "makonis_operator_reconcile_total", "controller=\"makonis-catalog\"")
        - metric_sum(&before, "makonis_operator_reconcile_total", "controller=\"makonis-catalog\"");
    let buckets = bucket_deltas(&before, &after);
    println!("catalog convergence benchmark");
    println!("  instances                     {instances} over {AGENCIES} agencies");
    println!("  all orders accepted after     {:.2} s", ordered.as_secs_f64());
    println!("  all Ready after               {:.2} s", converged.as_secs_f64());
    println!("  instances per second          {:.1}", instances as f64 / converged.as_secs_f64());
    println!("  reconciles                    {reconciles} ({:.2} per instance)", reconciles / instances as f64);
    println!("  API reads per instance        {:.2}", per("read"));
    println!("  API writes per instance       {:.2}", per("write"));
    println!("  API watches (total)           {:.0}", per("watch") * instances as f64);
    println!("  reconcile p50                 {:.1} ms", quantile(&buckets, 0.50) * 1000.0);
    println!("  reconcile p99                 {:.1} ms", quantile(&buckets, 0.99) * 1000.0);
    println!("  operator peak RSS             {:.1} MiB (now {:.1} MiB)", rss.0 as f64 / 1024.0, rss.1 as f64 / 1024.0);
    println!("  steady state ({}s) writes     {audited} audited, {counted} counted", steady.as_secs());
    run.finish().await;
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
            .filter(|l| l.starts_with(name) && l.contains("controller=\"makonis-catalog\""))
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

/// The `q` quantile, interpolated linearly within its bucket.
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
