//! Syslog over RELP from a real rsyslog (Debian's `rsyslog` with `rsyslog-relp`): it reads
//! a file of sshd lines and forwards them with `omrelp`; every line is stored exactly
//! once, each acknowledged only after it is stored.

use std::{collections::BTreeSet, path::PathBuf, sync::Arc};

use jiff::{Timestamp, tz::TimeZone};
use makonis_siem::{
    intake::{Stats, relp, writer},
    store::{PartitionKey, Store},
};
use makonis_siem_core::retention::SourceCategory;
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

mod support;

use support::{
    SERVERS as SOURCE, fresh_dir, intake, relp_forwarding, rsyslogd, servers, sshd_lines, store_in, until_stored,
};

/// A RELP intake over a store in a directory of its own, claiming 127.0.0.1 for SOURCE.
struct Running {
    dir: PathBuf,
    port: u16,
    stats: Arc<Stats>,
    reader: JoinHandle<()>,
    writer: JoinHandle<Store>,
}

async fn start() -> Running {
    let dir = fresh_dir("relp");
    let (store, _) = store_in(&dir).await;
    let (intake, queue_rx, stats) = intake(vec![servers("127.0.0.1/32", "UTC")], 16);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let reader = tokio::spawn(relp::serve(listener, intake));
    let writer = tokio::spawn(writer::run(store, queue_rx, stats.clone(), None, None));
    Running { dir, port, stats, reader, writer }
}

impl Running {
    async fn stop(self) -> (Store, PathBuf) {
        self.reader.abort();
        let _ = self.reader.await;
        (self.writer.await.unwrap(), self.dir)
    }
}

#[tokio::test]
async fn rsyslog_forwards_a_file_over_relp_and_every_line_is_stored_once() {
    let running = start().await;
    let (dir, port, stats) = (running.dir.clone(), running.port, running.stats.clone());

    let lines = 5_000;
    let input = dir.join("auth.log");
    std::fs::write(&input, sshd_lines(lines)).unwrap();
    let conf = relp_forwarding(&dir, &input, port);
    let mut rsyslog = rsyslogd(&conf, &dir);
    until_stored(&stats, SOURCE, lines as u64, &mut rsyslog).await;
    rsyslog.kill().await.unwrap();
    let (mut store, dir) = running.stop().await;

    let figures = stats.source(SOURCE);
    assert_eq!((figures.events, figures.quarantined), (lines as u64, 0));
    let today = PartitionKey {
        day: Timestamp::now().to_zoned_datetime(TimeZone::UTC).date(),
        category: SourceCategory::Authentication,
    };
    let documents = store.documents(today, lines as i64 + 10).await.unwrap();
    assert_eq!(documents.len(), lines, "every line once, none twice");
    let users: BTreeSet<String> = documents
        .iter()
        .map(|d| serde_json::from_str::<Value>(d).unwrap()["user"]["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(users.len(), lines, "each line's own user");
    let _ = std::fs::remove_dir_all(&dir);
}

/// One RELP session as a client: open, the messages, close; returns the server's answers.
async fn session(port: u16, messages: &[&[u8]]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut request = b"1 open 14 relp_version=0\n".to_vec();
    for (i, message) in messages.iter().enumerate() {
        request.extend_from_slice(format!("{} syslog {} ", i + 2, message.len()).as_bytes());
        request.extend_from_slice(message);
        request.push(b'\n');
    }
    request.extend_from_slice(format!("{} close 0\n", messages.len() + 2).as_bytes());
    stream.write_all(&request).await.unwrap();
    let mut answers = Vec::new();
    stream.read_to_end(&mut answers).await.unwrap();
    String::from_utf8(answers).unwrap()
}

#[tokio::test]
async fn a_message_resent_after_a_lost_acknowledgement_is_stored_once_and_counted() {
    let running = start().await;
    let message: &[u8] =
        b"<38>1 2026-12-06T10:00:00.123456Z web1 sshd 7 - - Failed password for root from 10.0.0.9 port 22 ssh2";
    let other: &[u8] =
        b"<38>1 2026-12-06T10:00:00.654321Z web1 sshd 7 - - Failed password for root from 10.0.0.9 port 22 ssh2";
    let first = session(running.port, &[message, message]).await;
    assert!(first.contains("2 rsp 6 200 OK\n") && first.contains("3 rsp 6 200 OK\n"), "{first}");
    // The sender did not see that answer (say), so it opens a new session and resends.
    let again = session(running.port, &[message, other]).await;
    assert!(
        again.contains("2 rsp 6 200 OK\n") && again.contains("3 rsp 6 200 OK\n"),
        "a resend is acknowledged too: {again}"
    );
    assert!(again.ends_with("4 rsp 0\n"), "{again}");
    let stats = running.stats.clone();
    let (_, dir) = running.stop().await;
    let figures = stats.source(SOURCE);
    assert_eq!(
        (figures.events, figures.duplicates),
        (3, 1),
        "twice in one session: two events; again in the next: a resend, stored once and counted"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
