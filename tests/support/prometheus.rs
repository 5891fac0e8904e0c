//! A real Prometheus with the blackbox exporter probing HTTP targets, as child processes
//! on 127.0.0.1 with a private directory for their configuration, storage and logs: the
//! independent measurement the SLO engine's availability is compared with.
//!
//! Needs the Debian packages `prometheus` and `prometheus-blackbox-exporter`
//! (`tests/setup.sh --tests` installs them).

use std::{
    fs,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::operator::free_local_address;

const PROMETHEUS: &str = "/usr/bin/prometheus";
const BLACKBOX_EXPORTER: &str = "/usr/bin/prometheus-blackbox-exporter";

/// How long the stack may take to answer ready with a first sample of every target.
const STARTUP: Duration = Duration::from_secs(60);

/// How long a process may take to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// How long one HTTP exchange with Prometheus may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// How many lines of each server's log a failure shows.
const LOG_TAIL_LINES: usize = 20;

/// Stacks started by this process, for unique directory names.
static STACKS: AtomicUsize = AtomicUsize::new(0);

/// Prometheus scraping the blackbox exporter's `http_2xx` probe of each target (job
/// `blackbox`, the target URL as the `instance` label). Both processes are stopped and
/// the directory deleted when dropped.
pub struct PrometheusStack {
    dir: PathBuf,
    prometheus: SocketAddr,
    scrape_interval: Duration,
    servers: Vec<Server>,
}

/// One child process and where it logs.
struct Server {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl PrometheusStack {
    /// Starts the blackbox exporter and Prometheus, which probes each of `targets` (URLs)
    /// every `probe_interval` (whole milliseconds, at least 1 s: the exporter keeps 0.5 s
    /// of the scrape timeout, 90 % of the interval, for itself). Returns once Prometheus
    /// is ready and holds a `probe_success` sample of every target; panics with the tail
    /// of both logs if either process dies or that takes longer than 60 s.
    pub async fn start(targets: &[String], probe_interval: Duration) -> Self {
        Self::start_scraping(targets, &[], probe_interval).await
    }

    /// Like [`Self::start`], and also scrapes the `/metrics` of each `host:port` in
    /// `metrics` (job `targets`) on the same interval.
    pub async fn start_scraping(targets: &[String], metrics: &[String], probe_interval: Duration) -> Self {
        for binary in [PROMETHEUS, BLACKBOX_EXPORTER] {
            assert!(Path::new(binary).exists(), "{binary} is missing: run tests/setup.sh --tests");
        }
        assert!(!targets.is_empty(), "Prometheus needs a target to probe");
        let interval_ms = probe_interval.as_millis();
        assert!(
            interval_ms >= 1000 && probe_interval.subsec_nanos().is_multiple_of(1_000_000),
            "the probe interval must be whole milliseconds and at least 1 s, not {probe_interval:?}"
        );
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "prometheus-{}-{}-{}",
            std::process::id(),
            STACKS.fetch_add(1, Ordering::Relaxed),
            SystemTime::now().duration_since(UNIX_EPOCH).expect("the clock is after 1970").as_nanos()
        ));
        fs::create_dir_all(dir.join("data")).expect("create the Prometheus directory");
        let [exporter, prometheus] = [free_local_address(), free_local_address()];
        let mut stack = Self { dir, prometheus, scrape_interval: probe_interval, servers: Vec::new() };

        let blackbox_config = stack.dir.join("blackbox.yml");
        fs::write(&blackbox_config, BLACKBOX_CONFIG).expect("write blackbox.yml");
        stack.spawn(
            "blackbox exporter",
            BLACKBOX_EXPORTER,
            &[format!("--config.file={}", blackbox_config.display()), format!("--web.listen-address={exporter}")],
        );

        let targets_yaml: Vec<String> =
            targets.iter().map(|target| serde_json::to_string(target).expect("quote a target")).collect();
        let prometheus_config = stack.dir.join("prometheus.yml");
        fs::write(
            &prometheus_config,
            format!(
                "global:
  scrape_interval: {interval_ms}ms
  scrape_timeout: {timeout_ms}ms
  evaluation_interval: {interval_ms}ms
scrape_configs:
  - job_name: blackbox
    metrics_path: /probe
    params:
      module: [http_2xx]
    static_configs:
      - targets: [{targets}]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: \"{exporter}\"
  - job_name: targets
    static_configs:
      - targets: [{metrics}]
",
                timeout_ms = interval_ms * 9 / 10,
                targets = targets_yaml.join(", "),
                metrics = metrics
                    .iter()
                    .map(|m| serde_json::to_string(m).expect("quote an address"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        )
        .expect("write prometheus.yml");
        stack.spawn(
            "prometheus",
            PROMETHEUS,
            &[
                format!("--config.file={}", prometheus_config.display()),
                format!("--storage.tsdb.path={}", stack.dir.join("data").display()),
                "--storage.tsdb.retention.time=1d".to_owned(),
                format!("--web.listen-address={prometheus}"),
            ],
        );

        stack.wait_ready(targets.len()).await;
        stack
    }

    /// Prometheus's HTTP address, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.prometheus)
    }

    /// The value of the instant query `promql`, evaluated at `at_ms` (Unix milliseconds)
    /// or now; panics with Prometheus's answer unless it is exactly one value.
    pub async fn query(&self, promql: &str, at_ms: Option<i64>) -> f64 {
        let (values, body) = self
            .instant(promql, at_ms)
            .await
            .unwrap_or_else(|error| panic!("Prometheus query {promql} failed: {error}\n{}", self.log_tails()));
        match values[..] {
            [value] => value,
            _ => panic!("Prometheus query {promql} gave {} values, not one: {body}", values.len()),
        }
    }

    /// Prometheus's availability of `target` over `[from_ms, to_ms]` (Unix milliseconds):
    /// `avg_over_time(probe_success{instance="<target>"}[<to - from>ms])` evaluated at
    /// `to_ms`, the mean of the probe results whose scrape timestamps lie in the span
    /// (both ends included). First waits until Prometheus has stored a probe at or after
    /// `to_ms`, so no probe of the span is still in flight.
    pub async fn avg_probe_success(&self, target: &str, from_ms: i64, to_ms: i64) -> f64 {
        assert!(from_ms < to_ms, "an empty span [{from_ms}, {to_ms}]");
        let series = format!("probe_success{{instance={}}}", serde_json::to_string(target).expect("quote a target"));
        let latest = format!("timestamp({series})");
        let patience = self.scrape_interval * 3 + HTTP_TIMEOUT;
        let deadline = Instant::now() + patience;
        loop {
            let stored = self.query(&latest, None).await;
            if stored * 1000.0 >= to_ms as f64 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus stored no probe of {target} at or after {} s within {patience:?}; the latest is at {stored} s\n{}",
                seconds(to_ms),
                self.log_tails()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.query(&format!("avg_over_time({series}[{}ms])", to_ms - from_ms), Some(to_ms)).await
    }

    /// Starts `binary` with `args`, logging (stdout and stderr) to `<name>.log`.
    fn spawn(&mut self, name: &'static str, binary: &str, args: &[String]) {
        let log = self.dir.join(format!("{}.log", name.replace(' ', "-")));
        let file = fs::File::create(&log).expect("create a server log");
        let child = Command::new(binary)
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("share the server log"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|error| panic!("start {binary}: {error}"));
        self.servers.push(Server { name, child, log });
    }

    /// Polls until Prometheus is ready and `probe_success` has a sample for each of the
    /// `targets`, checking that both processes stay alive.
    async fn wait_ready(&mut self, targets: usize) {
        let deadline = Instant::now() + STARTUP;
        loop {
            for server in &mut self.servers {
                if let Some(status) = server.child.try_wait().expect("check a server process") {
                    panic!(
                        "the {} exited with {status} while starting; the last lines of its log ({}):\n{}",
                        server.name,
                        server.log.display(),
                        tail(&server.log)
                    );
                }
            }
            let last = match self.readiness(targets).await {
                Ok(()) => return,
                Err(observation) => observation,
            };
            assert!(
                Instant::now() < deadline,
                "Prometheus was not ready within {STARTUP:?}; last observed: {last}\n{}",
                self.log_tails()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether Prometheus is ready and has a `probe_success` sample of every target.
    async fn readiness(&self, targets: usize) -> Result<(), String> {
        let (status, body) = self.get("/-/ready").await?;
        if status != 200 {
            return Err(format!("/-/ready answered {status}: {}", body.trim()));
        }
        let (values, _) = self.instant("probe_success", None).await?;
        if values.len() < targets {
            return Err(format!("probe_success has samples of {} of the {targets} targets", values.len()));
        }
        Ok(())
    }

    /// The values of an instant query and Prometheus's whole answer.
    async fn instant(&self, promql: &str, at_ms: Option<i64>) -> Result<(Vec<f64>, String), String> {
        let mut path = format!("/api/v1/query?query={}", percent_encode(promql));
        if let Some(at) = at_ms {
            path.push_str(&format!("&time={}", seconds(at)));
        }
        let (status, body) = self.get(&path).await?;
        let answer: serde_json::Value =
            serde_json::from_str(&body).map_err(|error| format!("HTTP {status}, not JSON ({error}): {body}"))?;
        if status != 200 || answer["status"] != "success" {
            return Err(format!("HTTP {status}: {body}"));
        }
        let data = &answer["data"];
        let samples = match data["resultType"].as_str() {
            Some("vector") => data["result"].as_array().map(|series| series.iter().map(|one| &one["value"]).collect()),
            Some("scalar") => Some(vec![&data["result"]]),
            _ => None,
        }
        .ok_or_else(|| format!("not a vector or scalar: {body}"))?;
        let values = samples
            .into_iter()
            .map(|sample| sample[1].as_str().and_then(|value| value.parse().ok()))
            .collect::<Option<Vec<f64>>>()
            .ok_or_else(|| format!("a sample without a number: {body}"))?;
        Ok((values, body))
    }

    /// GETs `path_and_query` from Prometheus over HTTP/1.0 (so the answer is neither
    /// chunked nor kept alive) and returns its status and body.
    async fn get(&self, path_and_query: &str) -> Result<(u16, String), String> {
        let exchange = async {
            let mut stream = TcpStream::connect(self.prometheus).await?;
            let request = format!("GET {path_and_query} HTTP/1.0\r\nHost: {}\r\n\r\n", self.prometheus);
            stream.write_all(request.as_bytes()).await?;
            let mut response = Vec::new();
            stream.read_to_end(&mut response).await?;
            Ok::<_, std::io::Error>(response)
        };
        let response = tokio::time::timeout(HTTP_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("GET {path_and_query}: no answer within {HTTP_TIMEOUT:?}"))?
            .map_err(|error| format!("GET {path_and_query}: {error}"))?;
        let response = String::from_utf8_lossy(&response);
        let (head, body) = response
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("GET {path_and_query}: a broken answer: {response}"))?;
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|status| status.parse().ok())
            .ok_or_else(|| format!("GET {path_and_query}: no status in {head}"))?;
        Ok((status, body.to_owned()))
    }

    /// The last lines of each server's log, for failure messages.
    fn log_tails(&self) -> String {
        self.servers
            .iter()
            .map(|server| format!("--- {} ({}):\n{}", server.name, server.log.display(), tail(&server.log)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for PrometheusStack {
    fn drop(&mut self) {
        // Prometheus first, which scrapes the exporter; both get SIGTERM before either is
        // waited for.
        for server in self.servers.iter_mut().rev() {
            if let Ok(None) = server.child.try_wait() {
                let _ = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status();
            }
        }
        let deadline = Instant::now() + STOP_GRACE;
        for server in self.servers.iter_mut().rev() {
            while let Ok(None) = server.child.try_wait() {
                if Instant::now() >= deadline {
                    eprintln!("the {} did not stop within {STOP_GRACE:?} of SIGTERM; killing it", server.name);
                    let _ = server.child.kill();
                    let _ = server.child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The exporter's one module: an HTTP GET that succeeds on any 2xx, over IPv4, without
/// following redirects.
const BLACKBOX_CONFIG: &str = "modules:
  http_2xx:
    prober: http
    timeout: 1s
    http:
      valid_status_codes: []
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      follow_redirects: false
";

/// Unix milliseconds as the seconds Prometheus's API takes, e.g. `1700000000.123`.
fn seconds(unix_ms: i64) -> String {
    format!("{}.{:03}", unix_ms.div_euclid(1000), unix_ms.rem_euclid(1000))
}

/// `text` encoded for a URL's query string.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(byte).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// The last lines of the log at `path`.
fn tail(path: &Path) -> String {
    let log = fs::read_to_string(path).unwrap_or_else(|error| format!("(unreadable: {error})"));
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}
