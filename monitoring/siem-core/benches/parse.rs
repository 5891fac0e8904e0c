//! What parsing costs the SIEM: framing, syslog parsing, field extraction and the ECS
//! document, per core, side by side with rsyslog parsing the same stream to JSON.
//!
//! Run with `./bench.sh siem` (or `cargo bench -p makonis-siem-core --bench parse`, which skips rsyslog
//! when `rsyslogd` is not installed). Everything runs in this process, optimised:
//!
//! 1. **The mix**: `MAKONIS_BENCH_SIEM_EVENTS` (default 1,000,000) newline-framed lines
//!    from a fixed xorshift generator: 30 % RFC 3164 sshd sign-ins (accepted, failed,
//!    invalid users, IPv4 and IPv6), 10 % RFC 3164 from other programs (sudo, cron,
//!    kernel), 40 % RFC 5424 with structured data, 10 % Samba AD JSON audit records and
//!    10 % Windows Security events as JSON, both carried in syslog as their senders do
//!    (Samba's syslog backend, NXLog's `to_json()` over IETF syslog).
//! 2. **Mākonis**: the stream pushed in 64 KiB chunks through `Framer`, each frame through
//!    `syslog::parse`, `normalise::from_syslog` and `Event::document` (the JSON the store
//!    keeps), on one thread; 3 runs, the fastest reported, as events per CPU-second of
//!    that thread (and per wall-clock second).
//! 3. **rsyslog**: `rsyslogd -n` pinned to one core with `taskset`, reading the same bytes
//!    from one TCP connection (`imptcp`), parsing JSON payloads with `mmjsonparse` and
//!    writing each message as a JSON line of the same fields (`@timestamp`, host, program,
//!    pid, severity, message, the original) to a file. Its CPU time comes from
//!    `/proc/<pid>/stat` once every line is written; the sender's is not counted.
//!
//! The goal (issue: at least rsyslog's own rate on the same file) is reported, not failed.

#[path = "../../../benches/support/proc_stat.rs"]
mod proc_stat;

#[path = "support/mix.rs"]
mod mix;

use std::{
    hint::black_box,
    io::Write as _,
    net::{Ipv4Addr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use jiff::Timestamp;
use makonis_siem_core::{
    event::DEFAULT_SKEW_LIMIT,
    framing::{Frame, Framer},
    normalise::{Origin, from_syslog},
    syslog::{LegacyClock, default_zone, parse},
};

fn main() {
    let events: usize =
        std::env::var("MAKONIS_BENCH_SIEM_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let stream = mix::generate(events);
    println!(
        "siem parse: {events} lines, {:.1} MB, mean {} bytes per line",
        stream.len() as f64 / 1e6,
        stream.len() / events
    );

    let mut best: Option<Run> = None;
    for run in 1..=3 {
        let result = makonis(&stream);
        assert_eq!(result.events + result.malformed, events, "every line comes out once");
        println!(
            "  Mākonis run {run}: {:.0} events per CPU-second ({:.0} per wall second), {} malformed, {:.0} document bytes per event",
            result.per_cpu_second(events),
            events as f64 / result.wall,
            result.malformed,
            result.document_bytes as f64 / events as f64
        );
        if best.as_ref().is_none_or(|b| result.cpu < b.cpu) {
            best = Some(result);
        }
    }
    let ours = best.expect("three runs").per_cpu_second(events);

    let theirs = match which("rsyslogd") {
        Some(rsyslogd) => match rsyslog(&rsyslogd, &stream, events) {
            Ok(rate) => Some(rate),
            Err(e) => {
                println!("  rsyslog: not measured: {e}");
                None
            }
        },
        None => {
            println!("  rsyslog: not installed (apt-get install rsyslog); not compared");
            None
        }
    };

    println!("\nsummary (docs/benchmarks.md):");
    println!("| parse + normalise, one core | events per CPU-second |");
    println!("|---|---|");
    println!("| Mākonis (framing, RFC 5424/3164, extraction, ECS document) | {ours:.0} |");
    if let Some(theirs) = theirs {
        println!("| rsyslog 8 (imptcp, mmjsonparse, JSON lines to a file), `taskset` one core | {theirs:.0} |");
        let verdict = if ours >= theirs { "met" } else { "MISSED" };
        println!("goal: at least rsyslog's rate — {verdict} ({:.2}×)", ours / theirs);
    }
}

/// One run of the Mākonis pipeline.
struct Run {
    events: usize,
    malformed: usize,
    document_bytes: usize,
    cpu: f64,
    wall: f64,
}

impl Run {
    fn per_cpu_second(&self, events: usize) -> f64 {
        events as f64 / self.cpu.max(0.01)
    }
}

fn makonis(stream: &[u8]) -> Run {
    let origin = Origin { source: "agency-lm/servers".into(), agency: Some("lm".into()), received: Timestamp::now() };
    let clock = LegacyClock::new(origin.received, default_zone());
    let (cpu0, wall0) = (proc_stat::cpu_seconds("/proc/thread-self/stat"), Instant::now());
    let (mut events, mut malformed, mut document_bytes) = (0, 0, 0);
    let mut framer = Framer::new();
    let mut handle = |frame: Frame| match frame {
        Frame::Message(bytes) => match parse(&bytes, &clock) {
            Ok(message) => {
                let event = from_syslog(&message, &origin, &bytes);
                document_bytes += black_box(event.document(DEFAULT_SKEW_LIMIT)).len();
                events += 1;
            }
            Err(_) => malformed += 1,
        },
        Frame::Malformed { .. } => malformed += 1,
    };
    for chunk in stream.chunks(64 * 1024) {
        framer.push(chunk);
        while let Some(frame) = framer.next_frame() {
            handle(frame);
        }
    }
    if let Some(frame) = framer.finish() {
        handle(frame);
    }
    let cpu = proc_stat::cpu_seconds("/proc/thread-self/stat") - cpu0;
    Run { events, malformed, document_bytes, cpu, wall: wall0.elapsed().as_secs_f64() }
}

/// rsyslog's events per CPU-second on the same bytes.
fn rsyslog(rsyslogd: &Path, stream: &[u8], events: usize) -> Result<f64, String> {
    let dir = std::env::temp_dir().join(format!("makonis-bench-rsyslog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let port =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let out = dir.join("out.json");
    let config = dir.join("rsyslog.conf");
    std::fs::write(&config, rsyslog_config(&dir, port, &out)).map_err(|e| e.to_string())?;
    let child = Command::new("taskset")
        .args(["-c", "1"])
        .arg(rsyslogd)
        .args(["-n", "-f"])
        .arg(&config)
        .arg("-i")
        .arg(dir.join("rsyslogd.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("taskset rsyslogd: {e}"))?;
    let child = Stopped(child);
    let result = (|| {
        let mut connection = wait_for(|| TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok(), Duration::from_secs(10))
            .ok_or("rsyslogd did not listen within 10 s")?;
        let pid = child.0.id();
        let cpu0 = proc_stat::process_cpu_seconds(pid);
        let wall0 = Instant::now();
        connection.write_all(stream).map_err(|e| e.to_string())?;
        drop(connection);
        let mut written = 0;
        let deadline = Instant::now() + Duration::from_secs(600);
        while written < events {
            if Instant::now() > deadline {
                return Err(format!("rsyslog wrote {written} of {events} lines in 600 s"));
            }
            std::thread::sleep(Duration::from_millis(200));
            written = count_lines(&out);
        }
        let cpu = proc_stat::process_cpu_seconds(pid) - cpu0;
        println!(
            "  rsyslog: {written} lines in {:.1} s wall, {cpu:.2} CPU-seconds: {:.0} events per CPU-second",
            wall0.elapsed().as_secs_f64(),
            events as f64 / cpu.max(0.01)
        );
        Ok(events as f64 / cpu.max(0.01))
    })();
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// rsyslogd, stopped when dropped.
struct Stopped(Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rsyslog_config(dir: &Path, port: u16, out: &Path) -> String {
    format!(
        r#"global(workDirectory="{dir}" maxMessageSize="64k")
module(load="imptcp")
module(load="mmjsonparse")
template(name="ecs" type="list" option.jsonf="on") {{
  property(outname="@timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="event.created" name="timegenerated" dateFormat="rfc3339" format="jsonf")
  property(outname="host.name" name="hostname" format="jsonf")
  property(outname="process.name" name="programname" format="jsonf")
  property(outname="process.pid" name="procid" format="jsonf")
  property(outname="log.syslog.severity.code" name="syslogseverity" format="jsonf")
  property(outname="message" name="msg" format="jsonf")
  property(outname="event.original" name="rawmsg" format="jsonf")
  property(outname="record" name="$!" format="jsonf")
}}
ruleset(name="bench") {{
  if re_match($msg, "^ *\\{{") then {{
    action(type="mmjsonparse" cookie="")
  }}
  action(type="omfile" file="{out}" template="ecs")
}}
input(type="imptcp" port="{port}" address="127.0.0.1" ruleset="bench")
"#,
        dir = dir.display(),
        out = out.display()
    )
}

fn count_lines(path: &Path) -> usize {
    std::fs::read(path).map(|bytes| bytes.iter().filter(|&&b| b == b'\n').count()).unwrap_or(0)
}

fn wait_for<T>(mut f: impl FnMut() -> Option<T>, timeout: Duration) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = f() {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn which(program: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"].iter().map(|d| Path::new(d).join(program)).find(|p| p.exists())
}
