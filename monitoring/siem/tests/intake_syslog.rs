//! Syslog over TCP and UDP from a real sender (util-linux `logger`) into the store: events
//! of the LogSource that claims the sender, quarantine for everything else, backpressure
//! on TCP and counted drops on UDP.

use std::{net::SocketAddr, path::PathBuf, process::Command, sync::Arc, time::Duration};

use jiff::{Timestamp, tz::TimeZone};
use makonis_siem::{
    intake::{Batch, Stats, metrics::SiemMetrics, tcp, udp, writer},
    store::{PartitionKey, Store},
};
use makonis_siem_core::{claims::Source, metric_names, retention::SourceCategory};
use serde_json::Value;
use tokio::{
    io::AsyncWriteExt,
    net::{TcpSocket, TcpStream, UdpSocket},
    sync::mpsc,
    task::JoinHandle,
};

mod support;

use support::{SERVERS, fresh_dir, intake_with_budget, servers, store_in};

/// An intake on 127.0.0.1 (TCP and UDP on free ports) over a store in its own directory.
struct Running {
    tcp: SocketAddr,
    udp: SocketAddr,
    stats: Arc<Stats>,
    readers: Vec<JoinHandle<()>>,
    writer: Option<JoinHandle<Store>>,
    store: Option<Store>,
    queue: Option<mpsc::Receiver<Batch>>,
    dir: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        for reader in &self.readers {
            reader.abort();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts the readers; the writer only when `writing` (otherwise `start_writer` does).
async fn start(sources: Vec<Source>, capacity: usize, writing: bool) -> Running {
    start_with_budget(sources, capacity, 64 << 20, writing).await
}

/// As [`start`], with `budget` bytes of records allowed to wait.
async fn start_with_budget(sources: Vec<Source>, capacity: usize, budget: usize, writing: bool) -> Running {
    let dir = fresh_dir("intake");
    let (store, _) = store_in(&dir).await;
    let (intake, queue_rx, stats) = intake_with_budget(sources, capacity, budget);
    // Small socket buffers, so that a few megabytes fill them when nothing is read.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(64 * 1024).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(128).unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (tcp, udp) = (listener.local_addr().unwrap(), socket.local_addr().unwrap());
    let readers = vec![tokio::spawn(tcp::serve(listener, intake.clone())), tokio::spawn(udp::serve(socket, intake))];
    let mut running =
        Running { tcp, udp, stats, readers, writer: None, store: Some(store), queue: Some(queue_rx), dir };
    if writing {
        running.start_writer();
    }
    running
}

impl Running {
    fn start_writer(&mut self) {
        let (store, queue) = (self.store.take().unwrap(), self.queue.take().unwrap());
        self.writer = Some(tokio::spawn(writer::run(store, queue, self.stats.clone(), None, None)));
    }

    /// Stops the readers and returns the store once the writer has stored everything.
    async fn stop(&mut self) -> Store {
        for reader in self.readers.drain(..) {
            reader.abort();
            let _ = reader.await;
        }
        self.writer.take().unwrap().await.unwrap()
    }
}

/// Sends one message with util-linux `logger`, as a host's syslog client would.
fn logger(args: &[&str], message: &str) {
    let status = Command::new("logger")
        .env("TZ", "Europe/Riga")
        .args(args)
        .arg(message)
        .status()
        .expect("util-linux logger is installed (tests/setup.sh)");
    assert!(status.success(), "logger {args:?} failed");
}

/// Polls `condition` every 20 ms for up to `seconds`.
async fn until(what: &str, seconds: u64, mut condition: impl FnMut() -> bool) {
    for _ in 0..seconds * 50 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

fn today(category: SourceCategory) -> PartitionKey {
    PartitionKey { day: Timestamp::now().to_zoned_datetime(TimeZone::UTC).date(), category }
}

#[tokio::test]
async fn logger_over_tcp_and_udp_is_stored_as_the_claiming_sources_events() {
    let mut running = start(vec![servers("127.0.0.1/32", "Europe/Riga")], 64, true).await;
    let (tcp, udp) = (running.tcp.port().to_string(), running.udp.port().to_string());
    logger(
        &["-n", "127.0.0.1", "-P", &tcp, "-T", "--octet-count", "--rfc5424", "-t", "sshd", "-p", "auth.info"],
        "Failed password for invalid user admin from 203.0.113.9 port 4242 ssh2",
    );
    logger(
        &["-n", "127.0.0.1", "-P", &tcp, "-T", "--rfc3164", "-t", "sshd", "-p", "auth.info"],
        "Accepted password for anna from 198.51.100.7 port 50000 ssh2",
    );
    logger(
        &["-n", "127.0.0.1", "-P", &udp, "-d", "--rfc5424", "-t", "CRON"],
        "pam_unix(cron:session): session opened for user root",
    );
    let stats = running.stats.clone();
    until("three events are stored", 20, || stats.source(SERVERS).events == 3).await;
    let figures = stats.source(SERVERS);
    assert_eq!((figures.quarantined, figures.complete), (0, 2), "the sshd sign-ins carry all five fields");

    let mut store = running.stop().await;
    let documents: Vec<Value> = store
        .documents(today(SourceCategory::Authentication), 10)
        .await
        .unwrap()
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(documents.len(), 3, "{documents:?}");
    let failed = documents.iter().find(|d| d["event"]["outcome"] == "failure").expect("the failed sign-in");
    assert_eq!(failed["user"]["name"], "admin");
    assert_eq!(failed["source"]["ip"], "203.0.113.9");
    assert_eq!(failed["source"]["port"], 4242);
    assert_eq!(failed["makonis"]["source"], SERVERS);
    assert_eq!(failed["makonis"]["agency"], "lm");
    assert!(failed["event"]["original"].as_str().unwrap().contains("Failed password"), "{failed}");
    let accepted = documents.iter().find(|d| d["user"]["name"] == "anna").expect("the RFC 3164 sign-in");
    assert!(accepted["makonis"].get("clock_skew_seconds").is_none(), "RFC 3164 read in the source's zone: {accepted}");
    assert!(documents.iter().any(|d| d["process"]["name"] == "CRON"), "the UDP message");
}

#[tokio::test]
async fn unclaimed_senders_and_bad_frames_are_quarantined_with_the_reason() {
    let mut running = start(vec![servers("10.99.0.0/24", "Europe/Riga")], 64, true).await;
    logger(&["-n", "127.0.0.1", "-P", &running.tcp.port().to_string(), "-T", "-t", "sshd"], "from nobody's host");
    let stats = running.stats.clone();
    until("the unclaimed message is quarantined", 20, || stats.source("unknown").quarantined == 1).await;
    let mut store = running.stop().await;
    let quarantined = store.quarantined(10).await.unwrap();
    assert_eq!(quarantined.len(), 1);
    let (source, reason, detail, original) = &quarantined[0];
    assert_eq!(
        (source.as_str(), reason.as_str(), detail.as_str()),
        ("unknown", "unknown_source", "no LogSource claims 127.0.0.1")
    );
    assert!(String::from_utf8_lossy(original).contains("from nobody's host"), "kept byte for byte");

    let mut running = start(vec![servers("127.0.0.0/24", "Europe/Riga")], 64, true).await;
    let mut connection = TcpStream::connect(running.tcp).await.unwrap();
    connection.write_all(b"<999>not a priority\n").await.unwrap();
    connection.write_all(&vec![b'x'; 70 * 1024]).await.unwrap();
    connection.write_all(b"\n<13>1 - host app - - - fine after all that\n").await.unwrap();
    connection.shutdown().await.unwrap();
    let stats = running.stats.clone();
    until("two quarantined, one stored", 20, || {
        let s = stats.source(SERVERS);
        s.quarantined == 2 && s.events == 1
    })
    .await;
    let mut store = running.stop().await;
    let reasons: Vec<String> = store.quarantined(10).await.unwrap().into_iter().map(|q| q.1).collect();
    assert_eq!(reasons, ["line_too_long", "priority"]);
}

/// The line a held-back sender repeats, and how often.
const HELD_LINE: &[u8] = b"<38>Dec  6 10:20:30 web1 sshd[812]: Failed password for root from 10.0.0.1 port 1 ssh2\n";
const HELD_LINES: usize = 40_000;
const HELD_BYTES: usize = HELD_LINE.len() * HELD_LINES;

/// Sends [`HELD_LINES`] lines over TCP to `address` (with a small send buffer) in a
/// task of its own; whether the sender is still held back 3 s later.
async fn tcp_sender_is_held(address: SocketAddr) -> bool {
    let stream: Vec<u8> = HELD_LINE.iter().copied().cycle().take(HELD_BYTES).collect();
    let client = TcpSocket::new_v4().unwrap();
    client.set_send_buffer_size(64 * 1024).unwrap();
    let mut connection = client.connect(address).await.unwrap();
    let sender = tokio::spawn(async move {
        connection.write_all(&stream).await.unwrap();
        connection.shutdown().await.unwrap();
    });
    tokio::time::timeout(Duration::from_secs(3), async {
        while !sender.is_finished() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .is_err()
}

#[tokio::test]
async fn a_full_queue_slows_a_tcp_sender_and_counts_udp_drops() {
    let mut running = start(vec![servers("127.0.0.1/32", "Europe/Riga")], 1, false).await;
    // Nothing drains the queue yet: a TCP sender is held back by its own TCP window.
    let lines = HELD_LINES;
    let held = tcp_sender_is_held(running.tcp).await;
    assert!(held, "the sender wrote {} MB although nothing was stored", HELD_BYTES / 1_000_000);

    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for _ in 0..50 {
        socket.send_to(b"<13>1 - host app - - - dropped?", running.udp).await.unwrap();
    }
    let stats = running.stats.clone();
    until("UDP drops are counted", 20, || stats.udp_dropped_total() > 0).await;

    running.start_writer();
    until("every TCP line is stored", 300, || stats.source(SERVERS).events >= lines as u64).await;
    let stored = stats.source(SERVERS).events;
    assert!(stored <= lines as u64 + 50, "{stored}");
    running.stop().await;
}

#[tokio::test]
async fn a_full_byte_budget_slows_a_tcp_sender_although_the_queue_has_room() {
    // Room for 10,000 batches, but only 10 KB of records: memory stays bounded however
    // small the batches are.
    let mut running = start_with_budget(vec![servers("127.0.0.1/32", "Europe/Riga")], 10_000, 10_000, false).await;
    let lines = HELD_LINES;
    let held = tcp_sender_is_held(running.tcp).await;
    assert!(held, "the sender wrote {} MB into a 10 KB budget", HELD_BYTES / 1_000_000);
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(b"<13>1 - host app - - - no room", running.udp).await.unwrap();
    let stats = running.stats.clone();
    until("the datagram that found no room is counted", 20, || stats.udp_dropped_total() == 1).await;

    running.start_writer();
    until("every TCP line is stored", 300, || stats.source(SERVERS).events >= lines as u64).await;
    assert_eq!(stats.source(SERVERS).events, lines as u64);
    running.stop().await;
}

#[tokio::test]
async fn a_stopping_siem_gives_up_a_batch_its_store_keeps_refusing() {
    let registry = prometheus::Registry::new();
    let mut running = start(vec![servers("127.0.0.0/24", "Europe/Riga")], 64, true).await;
    running.stats.export(SiemMetrics::register(&registry).unwrap());
    // The store cannot make a partition's directory: a file is in its place.
    std::fs::write(running.dir.join("store/partitions"), b"not a directory").unwrap();
    let mut connection = TcpStream::connect(running.tcp).await.unwrap();
    connection.write_all(b"<13>1 - host app - - - never stored\n").await.unwrap();
    connection.shutdown().await.unwrap();
    let errors = || {
        let families = registry.gather();
        let family = families.iter().find(|f| f.name() == metric_names::STORE_ERRORS_TOTAL);
        family.map_or(0.0, |f| f.get_metric().iter().map(|m| m.get_counter().get_value()).sum())
    };
    until("the store to refuse the batch", 20, || errors() > 0.0).await;

    // Asked to stop, the SIEM retries a while more, then gives the batch up and returns
    // (before, it retried for ever and never stopped).
    let refused_before_stopping = errors();
    let stopped = tokio::time::timeout(writer::STOPPING_RETRIES * 2, running.stop()).await;
    assert!(stopped.is_ok(), "the writer returned");
    assert!(errors() > refused_before_stopping + 1.0, "it retried while stopping before giving up");
    assert_eq!(running.stats.source(SERVERS).events, 0, "nothing counted as stored");
}
