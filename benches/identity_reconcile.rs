//! How fast the identity operator builds a sector's directory from nothing, and what it
//! asks of the domain controller in steady state.
//!
//! Run with `./bench.sh identity`, which starts a fresh local control plane and the test
//! Samba AD domain controller (`tests/directory/samba.sh`). The benchmark creates 12
//! agencies and, before the operator starts, `MAKONIS_BENCH_DIRECTORY_USERS` (default
//! 3,000) DirectoryUsers and `MAKONIS_BENCH_DIRECTORY_GROUPS` (default 200) DirectoryGroups
//! spread over them (every user in one group, every tenth with a role, every fifth with a
//! manager). Then it starts the identity operator and prints:
//! - the time until every user and group is Ready, and users per second (goal: < 60 s),
//!   and the time until every membership is written (no LDAP write for 10 s after; both
//!   seen by polling every 2 s);
//! - the LDAP requests the operator made, by operation, and LDAP requests per second;
//! - the CPU seconds of the operator and of Samba meanwhile (the operator's share);
//! - the mean time of an LDAP request by operation (queueing at the domain controller
//!   included) and of a reconcile by controller, from the operator's histograms;
//! - after restarting the operator with a resync of 20 s, the LDAP requests of
//!   `MAKONIS_BENCH_STEADY_SECONDS` (default 60) of steady state: reads only, 0 writes;
//! - the domain controller's own floor: the same number of accounts, with their passwords,
//!   added straight over one connection as the domain's administrator, as many at once as
//!   the operator sends, with nothing else asked (no searches, groups or Kubernetes).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use kube::{
    Api,
    api::{ListParams, Patch, PatchParams, PostParams},
};
use makonis_api::{
    identity::{DirectoryGroup, DirectoryUser},
    tenancy::Agency,
};
use makonis_identity::{
    ldap::{Connection, LdapMetrics, Settings},
    password::unicode_pwd,
};
use proc_stat::process_cpu_seconds;
use serde_json::json;
use support::{
    agencies::unique_id,
    cluster::{
        OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, admin_client, install_platform, service_account_kubeconfig,
    },
    directory::env,
    identity::{IDENTITY_SERVICE_ACCOUNT, base, create_directory, identity_agency, ldap_tool},
    operator::{OperatorOptions, OperatorProcess},
    tenancy::wait_ready,
};

#[path = "support/proc_stat.rs"]
mod proc_stat;

const AGENCIES: usize = 12;
const WRITES: [&str; 4] = ["add", "modify", "rename", "delete"];

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The operator's LDAP requests by operation, from its `/metrics`.
async fn ldap_requests(operator: &OperatorProcess) -> Vec<(String, f64)> {
    let text = operator.metrics().await;
    let mut by_operation: std::collections::BTreeMap<String, f64> = Default::default();
    for line in text.lines().filter(|l| l.starts_with("makonis_identity_ldap_requests_total{")) {
        let Some(operation) = line.split("operation=\"").nth(1).and_then(|r| r.split('"').next()) else { continue };
        let value: f64 = line.rsplit_once(' ').and_then(|(_, v)| v.parse().ok()).unwrap_or(0.0);
        *by_operation.entry(operation.to_string()).or_default() += value;
    }
    by_operation.into_iter().collect()
}

/// The mean of each histogram `name` (from `_sum` / `_count`) in the operator's `/metrics`,
/// by the value of `label`, in milliseconds.
async fn mean_ms(operator: &OperatorProcess, name: &str, label: &str) -> Vec<(String, f64)> {
    let text = operator.metrics().await;
    let mut sums: std::collections::BTreeMap<String, (f64, f64)> = Default::default();
    for line in text.lines() {
        let (series, value) = match line.rsplit_once(' ') {
            Some((series, value)) => (series, value.parse::<f64>().unwrap_or(0.0)),
            None => continue,
        };
        let Some(key) = series.split(&format!("{label}=\"")).nth(1).and_then(|r| r.split('"').next()) else {
            continue;
        };
        if series.starts_with(&format!("{name}_sum{{")) {
            sums.entry(key.to_owned()).or_default().0 += value;
        } else if series.starts_with(&format!("{name}_count{{")) {
            sums.entry(key.to_owned()).or_default().1 += value;
        }
    }
    sums.into_iter().filter(|(_, (_, n))| *n > 0.0).map(|(k, (sum, n))| (k, 1000.0 * sum / n)).collect()
}

/// The CPU seconds of Samba: its main process and every process descended from it (the
/// LDAP server's master and workers sit a few forks down).
fn samba_cpu_seconds() -> f64 {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/target/directory/samba/server.pid");
    let main: u32 =
        std::fs::read_to_string(path).expect("Samba runs (tests/directory/samba.sh start)").trim().parse().unwrap();
    let parent_of = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
    };
    let pids: Vec<u32> =
        std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    let descends = |pid: u32| std::iter::successors(Some(pid), |&p| parent_of(p).filter(|&q| q > 1)).any(|p| p == main);
    pids.into_iter().filter(|&pid| descends(pid)).map(process_cpu_seconds).sum()
}

/// The operator's LDAP writes so far.
async fn ldap_writes(operator: &OperatorProcess) -> f64 {
    ldap_requests(operator).await.iter().filter(|(op, _)| WRITES.contains(&op.as_str())).map(|(_, v)| v).sum()
}

#[tokio::main]
async fn main() {
    let users_total = env_number("MAKONIS_BENCH_DIRECTORY_USERS", 3000);
    let groups_total = env_number("MAKONIS_BENCH_DIRECTORY_GROUPS", 200);
    let steady = Duration::from_secs(env_number("MAKONIS_BENCH_STEADY_SECONDS", 60) as u64);
    let admin = admin_client().await;
    install_platform(&admin).await;
    let run = unique_id();
    let subtree = format!("OU=Bench-{run},{}", base());
    create_directory(&admin, &run, "Correct", 0).await;

    // 12 agencies and their namespaces.
    let agencies: Api<Agency> = Api::all(admin.clone());
    let codes: Vec<String> = (0..AGENCIES).map(|i| format!("b{run}{i:02}")).collect();
    for code in &codes {
        let ou = format!("OU={code},OU=Agencies,{subtree}");
        agencies.create(&PostParams::default(), &identity_agency(code, &run, &ou)).await.expect("agency");
    }
    let tenancy_config = service_account_kubeconfig(&admin, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT).await;
    let _tenancy = OperatorProcess::start(OperatorOptions {
        kubeconfig: &tenancy_config,
        controllers: "tenancy",
        run: &run,
        resync_seconds: 3600,
        extra_args: &[],
    })
    .await;
    for code in &codes {
        wait_ready(&agencies, code).await;
    }

    // The objects, before the operator starts.
    let given = ["Līga", "Jānis", "Ēriks", "Ieva", "Māris", "Zane", "Andris", "Dace"];
    let surnames = ["Ozoliņa", "Kalniņš", "Bērziņš", "Šmite", "Žagars", "Liepa", "Krūmiņš"];
    let params = PatchParams::apply("identity-bench").force();
    let groups_per_agency = |a: usize| groups_total / AGENCIES + usize::from(a < groups_total % AGENCIES);
    let mut objects = Vec::new();
    for (a, code) in codes.iter().enumerate() {
        for g in 0..groups_per_agency(a) {
            objects.push((
                format!("agency-{code}"),
                "DirectoryGroup",
                json!({"apiVersion": "identity.makonis.lv/v1alpha1", "kind": "DirectoryGroup",
                       "metadata": {"name": format!("g{g:02}")}, "spec": {"name": format!("{code}-g{g:02}")}}),
            ));
        }
    }
    for i in 0..users_total {
        let a = i % AGENCIES;
        let n = i / AGENCIES;
        let code = &codes[a];
        let mut spec = json!({
            "username": format!("{code}u{n}"),
            "givenName": given[i % given.len()],
            "surname": format!("{} {n}", surnames[i % surnames.len()]),
            "email": format!("u{n}@{code}.gov.lv"),
            "groups": [format!("g{:02}", n % groups_per_agency(a))],
        });
        if n.is_multiple_of(10) {
            spec["roles"] = json!(["viewers"]);
        }
        if n % 5 == 1 {
            spec["manager"] = json!("u0");
        }
        objects.push((
            format!("agency-{code}"),
            "DirectoryUser",
            json!({"apiVersion": "identity.makonis.lv/v1alpha1", "kind": "DirectoryUser",
                   "metadata": {"name": format!("u{n}")}, "spec": spec}),
        ));
    }
    let created = Instant::now();
    futures::stream::iter(objects.iter().map(|(namespace, kind, body)| {
        let (admin, params) = (admin.clone(), &params);
        async move {
            let name = body["metadata"]["name"].as_str().unwrap();
            match *kind {
                "DirectoryGroup" => {
                    let api: Api<DirectoryGroup> = Api::namespaced(admin, namespace);
                    api.patch(name, params, &Patch::Apply(body)).await.map(|_| ())
                }
                _ => {
                    let api: Api<DirectoryUser> = Api::namespaced(admin, namespace);
                    api.patch(name, params, &Patch::Apply(body)).await.map(|_| ())
                }
            }
        }
    }))
    .buffer_unordered(32)
    .try_collect::<Vec<_>>()
    .await
    .expect("the objects are created");
    println!(
        "created {users_total} DirectoryUsers and {groups_total} DirectoryGroups in {:.1} s",
        created.elapsed().as_secs_f64()
    );

    // From nothing: the operator starts, and the clock with it.
    let identity_config = service_account_kubeconfig(&admin, OPERATOR_NAMESPACE, IDENTITY_SERVICE_ACCOUNT).await;
    let samba_cpu = samba_cpu_seconds();
    let started = Instant::now();
    let operator = OperatorProcess::start(OperatorOptions {
        kubeconfig: &identity_config,
        controllers: "identity",
        run: &run,
        resync_seconds: 3600,
        extra_args: &[],
    })
    .await;
    let users: Api<DirectoryUser> = Api::all(admin.clone());
    let groups: Api<DirectoryGroup> = Api::all(admin.clone());
    let ready = |conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]| {
        conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True")
    };
    let mine =
        |namespace: Option<String>| namespace.is_some_and(|ns| codes.iter().any(|c| ns == format!("agency-{c}")));
    // Ready is when every object says so; converged is when, besides, the operator has
    // written nothing to the directory for 10 s (memberships of the last accounts).
    let mut ready_at = None;
    let (mut last_writes, mut quiet_since) = (-1.0, Instant::now());
    loop {
        if ready_at.is_none() {
            let u = users.list(&ListParams::default()).await.expect("list users");
            let g = groups.list(&ListParams::default()).await.expect("list groups");
            let users_ready = u
                .items
                .iter()
                .filter(|x| {
                    mine(x.metadata.namespace.clone()) && x.status.as_ref().is_some_and(|s| ready(&s.conditions))
                })
                .count();
            let groups_ready = g
                .items
                .iter()
                .filter(|x| {
                    mine(x.metadata.namespace.clone()) && x.status.as_ref().is_some_and(|s| ready(&s.conditions))
                })
                .count();
            if users_ready == users_total && groups_ready == groups_total {
                ready_at = Some(started.elapsed().as_secs_f64());
            }
        }
        let writes = ldap_writes(&operator).await;
        if writes != last_writes {
            (last_writes, quiet_since) = (writes, Instant::now());
        }
        if ready_at.is_some() && quiet_since.elapsed() >= Duration::from_secs(10) {
            break;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            panic!("not converged after 30 minutes (ready after {ready_at:?} s)");
        }
        // Listing 3,200 objects loads the API server this benchmark measures: not too often.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let ready_at = ready_at.expect("ready before converged");
    let converged = (quiet_since - started).as_secs_f64();
    let operator_cpu = process_cpu_seconds(operator.pid());
    let samba_cpu = samba_cpu_seconds() - samba_cpu;
    let requests = ldap_requests(&operator).await;
    let total: f64 = requests.iter().map(|(_, v)| v).sum();
    println!(
        "from nothing: {users_total} users and {groups_total} groups of {AGENCIES} agencies Ready in {ready_at:.1} s \
         ({:.0} users/s; goal < 60 s), every membership written at {converged:.1} s",
        users_total as f64 / ready_at
    );
    println!("LDAP requests: {total:.0} ({:.0}/s until converged): {}", total / converged, describe(&requests));
    println!(
        "CPU: operator {operator_cpu:.1} s, Samba {samba_cpu:.1} s (operator's share {:.0} %)",
        100.0 * operator_cpu / (operator_cpu + samba_cpu).max(f64::EPSILON)
    );
    let show = |means: Vec<(String, f64)>| {
        means.iter().map(|(k, ms)| format!("{k} {ms:.1} ms")).collect::<Vec<_>>().join(", ")
    };
    println!(
        "mean time per LDAP request (queueing at the domain controller included): {}",
        show(mean_ms(&operator, "makonis_identity_ldap_request_seconds", "operation").await)
    );
    println!(
        "mean time per reconcile: {}",
        show(mean_ms(&operator, "makonis_operator_reconcile_duration_seconds", "controller").await)
    );
    operator.stop().await;

    // Steady state: a resync every 20 s compares every object with the directory.
    let steady_operator = OperatorProcess::start(OperatorOptions {
        kubeconfig: &identity_config,
        controllers: "identity",
        run: &run,
        resync_seconds: 20,
        extra_args: &[],
    })
    .await;
    tokio::time::sleep(steady).await;
    let requests = ldap_requests(&steady_operator).await;
    let writes = requests.iter().filter(|(op, _)| WRITES.contains(&op.as_str())).map(|(_, v)| *v as u64).sum::<u64>();
    println!(
        "steady state, {} s with a 20 s resync (after a restart): LDAP {}; writes: {writes}",
        steady.as_secs(),
        describe(&requests)
    );
    steady_operator.stop().await;

    let floor = domain_controller_floor(&subtree, users_total).await;
    println!(
        "the domain controller alone: {users_total} accounts with passwords added in {floor:.1} s ({:.0}/s), \
         {} at a time over one connection",
        users_total as f64 / floor,
        makonis_identity::controller::CONCURRENCY
    );
    let _ = ldap_tool("ldapdelete", &["-e", "!1.2.840.113556.1.4.805", &subtree], None);
}

/// Seconds the domain controller takes to add `count` accounts like the operator's (names,
/// e-mail, a password that must be changed at the first sign-in) under `subtree`, sent
/// straight over one LDAPS connection as the domain's administrator, as many at once as
/// the operator reconciles: what the directory costs without the operator.
async fn domain_controller_floor(subtree: &str, count: usize) -> f64 {
    let settings = Settings {
        url: env("MAKONIS_TEST_SAMBA_URL", "samba.sh"),
        ca_pem: std::fs::read(env("MAKONIS_TEST_SAMBA_CA", "samba.sh")).expect("the Samba CA"),
        username: env("MAKONIS_TEST_SAMBA_ADMIN_DN", "samba.sh"),
        password: env("MAKONIS_TEST_SAMBA_ADMIN_PASSWORD", "samba.sh"),
        timeout: Duration::from_secs(120),
    };
    let metrics = LdapMetrics::register(&prometheus::Registry::new()).expect("metrics");
    let connection = Connection::open(&settings, metrics).await.expect("signed in as the domain's administrator");
    let unit = format!("OU=Floor,{subtree}");
    let value = |text: &str| vec![text.as_bytes().to_vec()];
    connection
        .add(&unit, vec![("objectClass".into(), value("organizationalUnit")), ("ou".into(), value("Floor"))])
        .await
        .expect("the floor's OU");
    let started = Instant::now();
    futures::stream::iter(0..count)
        .map(|i| {
            let (connection, unit) = (&connection, &unit);
            async move {
                let name = format!("floor{i}");
                let attributes = vec![
                    ("objectClass".into(), value("user")),
                    ("sAMAccountName".into(), value(&name)),
                    ("userPrincipalName".into(), value(&format!("{name}@lm.test"))),
                    ("givenName".into(), value("Līga")),
                    ("sn".into(), value(&format!("Ozoliņa {i}"))),
                    ("displayName".into(), value(&format!("Līga Ozoliņa {i}"))),
                    ("mail".into(), value(&format!("{name}@lm.gov.lv"))),
                    ("userAccountControl".into(), value("512")),
                    ("unicodePwd".into(), vec![unicode_pwd(&format!("Sākum-Parole-{i}!"))]),
                    ("pwdLastSet".into(), value("0")),
                ];
                connection.add(&format!("CN=Līga Ozoliņa {i},{unit}"), attributes).await
            }
        })
        .buffer_unordered(usize::from(makonis_identity::controller::CONCURRENCY))
        .try_collect::<Vec<_>>()
        .await
        .expect("the accounts are added");
    started.elapsed().as_secs_f64()
}

fn describe(requests: &[(String, f64)]) -> String {
    requests.iter().map(|(op, n)| format!("{op} {n:.0}")).collect::<Vec<_>>().join(", ")
}
