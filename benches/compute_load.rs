//! How fast the compute operator places and starts virtual machines, and how fast a backup
//! copies a volume compared with `cp`.
//!
//! Run with `./bench.sh compute`, which starts a fresh local control plane and the test
//! QEMU session daemon (`tests/compute/session.sh`) for it. Two parts:
//!
//! 1. **Placement and start**: the real operator (`makonis operator --controllers compute`,
//!    release build, as a child process) and a HostPool `bench` of four hosts, all
//!    `test:///default` (libvirt's in-process test driver: every host is a separate
//!    connection in the operator, sharing one simulated hypervisor). The benchmark creates
//!    `MAKONIS_BENCH_VMS` (default 200) VirtualMachines of 1 vCPU and 512Mi without disks or
//!    networks in the namespace `compute-bench` (not an agency, so no quota applies), 16 at a
//!    time, and lists them every 200 ms until all are `Running`. It prints the time from the
//!    first create to all Running, machines per second, the spread over the hosts, the
//!    operator's CPU time and peak memory, then deletes them all and times until they are
//!    gone (the finalizer undefines each domain).
//! 2. **Backup throughput against `cp`** (needs `MAKONIS_TEST_QEMU_URI`, skipped without
//!    it): a 1 GiB raw volume of pseudo-random data in the session's storage pool `makonis`,
//!    copied three times each, alternating, (a) with `cp --reflink=never` plus `sync` into a
//!    second directory pool on the same disk and (b) with
//!    `makonis_compute::hypervisor::copy_volume`, which is what a Backup does (libvirt
//!    download and upload streams, SHA-256 on the way). The page cache is dropped before
//!    every copy when the kernel allows it.

use std::{
    collections::{BTreeMap, HashMap},
    io::Read,
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Command as StdCommand, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::StreamExt;
use k8s_openapi::{
    api::core::v1::Namespace, apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, Client, Config, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
    config::{KubeConfigOptions, Kubeconfig},
};
use makonis_api::compute::{HostPool, VirtualMachine, VmPhase};
use makonis_compute::hypervisor::{Hypervisor, VolumeFormat, VolumeSource, VolumeSpec, copy_volume};
use proc_stat::process_cpu_seconds;
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    process::{Child, Command},
};

#[path = "support/proc_stat.rs"]
mod proc_stat;

const NAMESPACE: &str = "compute-bench";
const POOL: &str = "bench";
const HOSTS: usize = 4;
/// Creates sent at once.
const CONCURRENT_CREATES: usize = 16;
/// Between two lists of the machines.
const POLL: Duration = Duration::from_millis(200);

const SOURCE_POOL_DEFAULT: &str = "makonis";
const BACKUP_POOL: &str = "makonis-bench-backup";
const SOURCE_VOLUME: &str = "bench-source";
const COPY_VOLUME: &str = "bench-copy";
const VOLUME_BYTES: u64 = 1 << 30;
const ROUNDS: usize = 3;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let vms = setting("MAKONIS_BENCH_VMS", 200) as usize;
    let timeout = Duration::from_secs(setting("MAKONIS_BENCH_VM_TIMEOUT", 600));
    placement(vms, timeout).await;
    match std::env::var("MAKONIS_TEST_QEMU_URI") {
        Ok(uri) if !uri.is_empty() => {
            let pool = std::env::var("MAKONIS_TEST_QEMU_POOL").unwrap_or_else(|_| SOURCE_POOL_DEFAULT.into());
            tokio::task::spawn_blocking(move || backup_throughput(&uri, &pool)).await.expect("the backup benchmark");
        }
        _ => println!(
            "backup throughput: skipped, MAKONIS_TEST_QEMU_URI is not set (eval \"$(tests/compute/session.sh env)\" after tests/compute/session.sh start)"
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Part 1: placement and start through the real operator.

async fn placement(vms: usize, timeout: Duration) {
    let kubeconfig = kubeconfig_path();
    let client = client_from(&kubeconfig).await;
    install_crds(&client).await;
    let operator = Operator::start(&kubeconfig).await;
    println!(
        "compute placement benchmark: {vms} virtual machines on {HOSTS} test hosts, operator log {}",
        operator.log_path.display()
    );

    let pools: Api<HostPool> = Api::all(client.clone());
    let hosts: Vec<_> = (1..=HOSTS)
        .map(|i| {
            json!({
                "name": format!("hv-{i}"),
                "uri": "test:///default",
                "capacity": {"vcpus": 64, "memoryBytes": 274_877_906_944_i64},
            })
        })
        .collect();
    let pool: HostPool = serde_json::from_value(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1",
        "kind": "HostPool",
        "metadata": {"name": POOL},
        "spec": {"hosts": hosts, "storageTiers": [{"name": "standard", "storagePool": "default-pool"}]},
    }))
    .expect("a HostPool");
    create_or_keep(&pools, &pool).await;
    let reachable = wait_for(Duration::from_secs(60), || async {
        let pool = pools.get(POOL).await.ok()?;
        let status = serde_json::to_value(pool.status.as_ref()?).ok()?;
        (status["reachableCount"].as_i64() == Some(HOSTS as i64)).then_some(())
    })
    .await;
    if reachable.is_none() {
        let status = pools.get(POOL).await.ok().and_then(|p| serde_json::to_string(&p.status).ok());
        println!("  the HostPool did not report {HOSTS} reachable hosts within 60 s: {status:?}");
        operator.print_log_tail(30);
    }

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": NAMESPACE}})).unwrap();
    create_or_keep(&namespaces, &namespace).await;

    let machines: Api<VirtualMachine> = Api::namespaced(client.clone(), NAMESPACE);
    let cpu_before = process_cpu_seconds(operator.pid());
    let created_at = Arc::new(Mutex::new(HashMap::new()));
    let started = Instant::now();
    futures::stream::iter(0..vms)
        .for_each_concurrent(CONCURRENT_CREATES, |i| {
            let machines = machines.clone();
            let created_at = created_at.clone();
            async move {
                let name = format!("bench-vm-{i:04}");
                let machine: VirtualMachine = serde_json::from_value(json!({
                    "apiVersion": "compute.makonis.lv/v1alpha1",
                    "kind": "VirtualMachine",
                    "metadata": {"name": name, "namespace": NAMESPACE},
                    "spec": {"hostPool": POOL, "vcpus": 1, "memory": "512Mi"},
                }))
                .expect("a VirtualMachine");
                machines
                    .create(&PostParams::default(), &machine)
                    .await
                    .unwrap_or_else(|e| panic!("create {name}: {e}"));
                created_at.lock().unwrap().insert(name, Instant::now());
            }
        })
        .await;
    let all_created = started.elapsed();

    // Poll until every machine is Running; note when each was first seen Running.
    let mut running_at: HashMap<String, Instant> = HashMap::new();
    let mut last: Vec<VirtualMachine> = Vec::new();
    while running_at.len() < vms && started.elapsed() < timeout {
        match machines.list(&ListParams::default()).await {
            Ok(list) => {
                let now = Instant::now();
                for machine in &list.items {
                    if phase(machine) == Some(VmPhase::Running) {
                        running_at.entry(machine.name_any()).or_insert(now);
                    }
                }
                last = list.items;
            }
            Err(e) => println!("  list failed: {e}"),
        }
        if running_at.len() < vms {
            tokio::time::sleep(POLL).await;
        }
    }
    let all_running = started.elapsed();
    let cpu_start = process_cpu_seconds(operator.pid()) - cpu_before;

    let mut latencies: Vec<Duration> = {
        let created = created_at.lock().unwrap();
        running_at.iter().filter_map(|(name, at)| Some(at.saturating_duration_since(*created.get(name)?))).collect()
    };
    latencies.sort();
    let mut per_host: BTreeMap<String, usize> = BTreeMap::new();
    for machine in &last {
        let host = machine.status.as_ref().and_then(|s| s.host.clone()).unwrap_or_else(|| "(none)".into());
        *per_host.entry(host).or_default() += 1;
    }

    println!("placement and start ({vms} machines, {CONCURRENT_CREATES} creates at a time)");
    println!("  all created after             {:.2} s", all_created.as_secs_f64());
    if running_at.len() == vms {
        println!("  all Running after             {:.2} s", all_running.as_secs_f64());
        println!("  machines per second           {:.1}", vms as f64 / all_running.as_secs_f64());
    } else {
        println!(
            "  NOT all Running: {} of {vms} after {:.0} s (timeout MAKONIS_BENCH_VM_TIMEOUT)",
            running_at.len(),
            all_running.as_secs_f64()
        );
    }
    println!(
        "  create to Running p50 / p99   {:.2} s / {:.2} s (polled every 200 ms)",
        pct(&latencies, 0.5),
        pct(&latencies, 0.99)
    );
    let spread = per_host.iter().map(|(host, n)| format!("{host} {n}")).collect::<Vec<_>>().join(", ");
    println!("  machines per host             {spread}");
    println!("  operator CPU seconds          {cpu_start:.1}");
    if running_at.len() < vms {
        report_stuck(&last, &running_at);
        operator.print_log_tail(40);
    }

    // Delete them all and wait until they are gone.
    let deleting = Instant::now();
    let names: Vec<String> = last.iter().map(|m| m.name_any()).collect();
    futures::stream::iter(names)
        .for_each_concurrent(CONCURRENT_CREATES, |name| {
            let machines = machines.clone();
            async move {
                if let Err(e) = machines.delete(&name, &DeleteParams::default()).await {
                    println!("  delete {name}: {e}");
                }
            }
        })
        .await;
    let deletes_sent = deleting.elapsed();
    let mut remaining = usize::MAX;
    let mut left = Vec::new();
    while deleting.elapsed() < timeout {
        match machines.list(&ListParams::default()).await {
            Ok(list) => {
                remaining = list.items.len();
                left = list.items;
            }
            Err(e) => println!("  list failed: {e}"),
        }
        if remaining == 0 {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    println!("deletion");
    println!("  all deletes accepted after    {:.2} s", deletes_sent.as_secs_f64());
    if remaining == 0 {
        println!("  all gone after                {:.2} s", deleting.elapsed().as_secs_f64());
        println!("  machines per second           {:.1}", vms as f64 / deleting.elapsed().as_secs_f64());
    } else {
        println!("  NOT all gone: {remaining} left after {:.0} s", deleting.elapsed().as_secs_f64());
        report_stuck(&left, &HashMap::new());
        operator.print_log_tail(40);
    }
    let (peak, now) = memory_kib(operator.pid());
    println!("  operator peak RSS             {:.1} MiB (now {:.1} MiB)", peak as f64 / 1024.0, now as f64 / 1024.0);
    let _ = pools.delete(POOL, &DeleteParams::default()).await;
    operator.kill().await;
}

fn phase(machine: &VirtualMachine) -> Option<VmPhase> {
    machine.status.as_ref().and_then(|s| s.phase)
}

/// Prints the machines not (yet) Running, grouped by phase and `Ready` message.
fn report_stuck(machines: &[VirtualMachine], running: &HashMap<String, Instant>) {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for machine in machines.iter().filter(|m| !running.contains_key(&m.name_any())) {
        let status = machine.status.as_ref();
        let ready = status
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
            .map(|c| format!("{} {}: {}", c.status, c.reason, c.message))
            .unwrap_or_else(|| "no Ready condition".into());
        let key =
            format!("phase {:?}, finalizers {:?}, Ready {ready}", status.and_then(|s| s.phase), machine.finalizers());
        groups.entry(key).or_default().push(machine.name_any());
    }
    println!("  machines not done, by phase and Ready condition:");
    for (key, names) in groups {
        println!("    {} × {key} (e.g. {})", names.len(), names.iter().take(3).cloned().collect::<Vec<_>>().join(", "));
    }
}

fn pct(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64()
}

/// Polls `check` every 200 ms until it returns `Some`, or `None` after `timeout`.
async fn wait_for<T, F, Fut>(timeout: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn create_or_keep<K>(api: &Api<K>, object: &K)
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
{
    match api.create(&PostParams::default(), object).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(e) => panic!("create {}: {e}", object.name_any()),
    }
}

/// The admin kubeconfig of the control plane `bench.sh` started.
fn kubeconfig_path() -> PathBuf {
    std::env::var_os("MAKONIS_TEST_KUBECONFIG")
        .or_else(|| std::env::var_os("KUBECONFIG"))
        .map(PathBuf::from)
        .expect("MAKONIS_TEST_KUBECONFIG (or KUBECONFIG) is not set: run ./bench.sh compute")
}

async fn client_from(path: &Path) -> Client {
    let kubeconfig = Kubeconfig::read_from(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let config =
        Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.expect("a usable kubeconfig");
    Client::try_from(config).expect("a Kubernetes client")
}

/// Server-side applies every CRD of `crds/generated` and waits until each is established.
async fn install_crds(client: &Client) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds/generated");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut names = Vec::new();
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).expect("crds/generated").filter_map(|e| Some(e.ok()?.path())).collect();
    files.sort();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".yaml") || name == "kustomization.yaml" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a CRD file");
        let crd: serde_json::Value = serde_yaml_ng::from_str(&text).expect("CRD YAML");
        let crd_name = crd["metadata"]["name"].as_str().expect("metadata.name").to_string();
        crds.patch(&crd_name, &PatchParams::apply("makonis-bench").force(), &Patch::Apply(&crd))
            .await
            .unwrap_or_else(|e| panic!("applying {crd_name}: {e}"));
        names.push(crd_name);
    }
    for name in names {
        let established = wait_for(Duration::from_secs(60), || async {
            let crd = crds.get(&name).await.ok()?;
            let conditions = crd.status?.conditions?;
            conditions.iter().any(|c| c.type_ == "Established" && c.status == "True").then_some(())
        })
        .await;
        assert!(established.is_some(), "the CRD {name} was not established within 60 s");
    }
}

/// `makonis operator --controllers compute`, release build, as a child process.
struct Operator {
    child: Child,
    log_path: PathBuf,
}

impl Operator {
    async fn start(kubeconfig: &Path) -> Self {
        let address = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free local port");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compute-bench");
        std::fs::create_dir_all(&dir).expect("the benchmark's directory");
        let log_path = dir.join(format!("operator-{}.log", address.port()));
        let log = std::fs::File::create(&log_path).expect("operator log file");
        // The operator runs with the admin kubeconfig: this measures its speed, not its
        // rights (the integration tests check those with its own ServiceAccount).
        let child = Command::new(env!("CARGO_BIN_EXE_makonis"))
            .args(["operator", "--controllers", "compute", "--log-format", "json"])
            .arg("--metrics-address")
            .arg(address.to_string())
            .arg("--libvirt-pki-dir")
            .arg(dir.join("pki"))
            .env("KUBECONFIG", kubeconfig)
            .env("MAKONIS_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("the makonis binary starts");
        let mut operator = Self { child, log_path };
        let ready = wait_for(Duration::from_secs(60), || async {
            matches!(http_get(address, "/readyz").await, Ok((200, _))).then_some(())
        })
        .await;
        if ready.is_none() || operator.child.try_wait().expect("child status").is_some() {
            operator.print_log_tail(30);
            panic!("the operator did not become ready within 60 s");
        }
        operator
    }

    fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    fn print_log_tail(&self, lines: usize) {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        println!("  last {lines} lines of the operator's log ({}):", self.log_path.display());
        for line in &all[all.len().saturating_sub(lines)..] {
            println!("    {line}");
        }
    }

    async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A minimal HTTP/1.0 GET against the operator's operations endpoint.
async fn http_get(address: SocketAddr, path: &str) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect(address).await.map_err(|e| e.to_string())?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.map_err(|e| e.to_string())?;
    let code = response.split_whitespace().nth(1).and_then(|c| c.parse().ok()).ok_or("no status line")?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Ok((code, body))
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

// ---------------------------------------------------------------------------------------
// Part 2: backup throughput against cp.

/// 1 GiB of pseudo-random bytes from a fixed seed (splitmix64): incompressible and
/// without holes, so that nothing sparse helps either copy.
struct Noise {
    state: u64,
    left: u64,
}

impl Read for Noise {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let n = (buffer.len() as u64).min(self.left) as usize / 8 * 8;
        for chunk in buffer[..n].chunks_exact_mut(8) {
            self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// `sync; echo 3 > /proc/sys/vm/drop_caches`; whether the kernel allowed it.
fn drop_caches() -> bool {
    let _ = StdCommand::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3\n").is_ok()
}

fn timed(what: &str, command: &mut StdCommand) -> f64 {
    let started = Instant::now();
    let status = command.status().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(status.success(), "{what} failed: {status}");
    started.elapsed().as_secs_f64()
}

fn mb_per_s(seconds: f64) -> f64 {
    VOLUME_BYTES as f64 / 1e6 / seconds
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn backup_throughput(uri: &str, source_pool: &str) {
    let host = Hypervisor::open(uri, None).unwrap_or_else(|e| panic!("{e}"));
    let source_dir = host.pool(source_pool).unwrap_or_else(|e| panic!("{e}")).path.expect("a directory pool");
    let backup_dir = Path::new(&source_dir).with_file_name(BACKUP_POOL);
    let backup = host.ensure_pool_dir(BACKUP_POOL, backup_dir.to_str().unwrap()).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "backup throughput: 1 GiB raw volume of pseudo-random data, pool {source_pool} ({source_dir}) → pool {BACKUP_POOL} ({}), same disk",
        backup.path.as_deref().unwrap_or("?")
    );
    let _ = host.delete_volume(source_pool, SOURCE_VOLUME);
    let _ = host.delete_volume(BACKUP_POOL, COPY_VOLUME);
    let spec = VolumeSpec {
        name: SOURCE_VOLUME.into(),
        capacity_bytes: VOLUME_BYTES,
        format: VolumeFormat::Raw,
        source: VolumeSource::Empty,
    };
    let volume = host.create_volume(source_pool, &spec).unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let uploaded = host
        .upload(source_pool, SOURCE_VOLUME, &mut Noise { state: 0x4d61_6b6f_6e69_7321, left: VOLUME_BYTES })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(uploaded, VOLUME_BYTES);
    println!(
        "  upload of the source (libvirt stream, one hop)  {:.1} s, {:.0} MB/s",
        started.elapsed().as_secs_f64(),
        mb_per_s(started.elapsed().as_secs_f64())
    );
    let cp_target = backup_dir.join("cp-copy");

    let (mut cp_total, mut cp_only, mut ours_total, mut ours, mut dropped) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), true);
    for round in 1..=ROUNDS {
        // (a) cp + sync.
        dropped &= drop_caches();
        let copy = timed("cp", StdCommand::new("cp").arg("--reflink=never").arg(&volume.path).arg(&cp_target));
        let sync = timed("sync", &mut StdCommand::new("sync"));
        std::fs::remove_file(&cp_target).expect("remove the cp copy");
        println!(
            "  round {round} cp         {:>6.0} MB/s with sync ({:.2} s = cp {:.2} s + sync {:.2} s; {:.0} MB/s without sync)",
            mb_per_s(copy + sync),
            copy + sync,
            copy,
            sync,
            mb_per_s(copy)
        );
        cp_total.push(mb_per_s(copy + sync));
        cp_only.push(mb_per_s(copy));

        // (b) what a Backup does.
        dropped &= drop_caches();
        let started = Instant::now();
        let report = copy_volume(&host, source_pool, SOURCE_VOLUME, &host, BACKUP_POOL, COPY_VOLUME, &mut |_| {})
            .unwrap_or_else(|e| panic!("{e}"));
        let copy = started.elapsed().as_secs_f64();
        let sync = timed("sync", &mut StdCommand::new("sync"));
        assert_eq!(report.bytes, VOLUME_BYTES);
        host.delete_volume(BACKUP_POOL, COPY_VOLUME).unwrap_or_else(|e| panic!("{e}"));
        // libvirt does not flush the volume it writes: a sync after it is counted, as for cp.
        println!(
            "  round {round} copy_volume {:>6.0} MB/s with sync ({:.2} s = copy {:.2} s + sync {:.2} s; {:.0} MB/s without sync; SHA-256 {}…)",
            mb_per_s(copy + sync),
            copy + sync,
            copy,
            sync,
            mb_per_s(copy),
            &report.sha256[..12]
        );
        ours_total.push(mb_per_s(copy + sync));
        ours.push(mb_per_s(copy));
    }
    println!("  page cache dropped before each copy: {}", if dropped { "yes" } else { "no (not allowed here)" });
    println!("  median cp + sync              {:.0} MB/s", median(&cp_total));
    println!("  median cp without sync        {:.0} MB/s", median(&cp_only));
    println!("  median copy_volume + sync     {:.0} MB/s", median(&ours_total));
    println!("  median copy_volume w/o sync   {:.0} MB/s", median(&ours));
    println!(
        "  copy_volume as % of cp        {:.0} % both with sync (goal ≥ 90 %); {:.0} % both without sync",
        100.0 * median(&ours_total) / median(&cp_total),
        100.0 * median(&ours) / median(&cp_only)
    );

    let _ = host.delete_volume(source_pool, SOURCE_VOLUME);
    let _ = host.delete_volume(BACKUP_POOL, COPY_VOLUME);
    let _ = std::fs::remove_file(&cp_target);
    remove_pool(uri, BACKUP_POOL);
}

/// Removes the benchmark's storage pool (destroy, delete its empty directory, undefine);
/// the hypervisor module has no call for that, so virsh does it.
fn remove_pool(uri: &str, pool: &str) {
    for action in ["pool-destroy", "pool-delete", "pool-undefine"] {
        let _ = StdCommand::new("virsh").args(["-q", "-c", uri, action, pool]).stdout(Stdio::null()).status();
    }
}
