//! Syslog over RELP from a real rsyslog (Debian's `rsyslog` with `rsyslog-relp`): it reads
//! a file of sshd lines and forwards them with `omrelp`; every line is stored exactly
//! once, each acknowledged only after it is stored.

use std::{
    collections::BTreeSet,
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use makonis_siem::{
    intake::{Intake, Stats, relp, writer},
    store::{Config, PartitionKey, Store},
};
use makonis_siem_core::{
    chain::SigningKey,
    claims::{Claims, Format, Sender, Source},
    retention::SourceCategory,
};
use serde_json::Value;
use tokio::{
    net::TcpListener,
    process::Command,
    sync::{mpsc, watch},
};

const SOURCE: &str = "agency-lm/servers";

#[tokio::test]
async fn rsyslog_forwards_a_file_over_relp_and_every_line_is_stored_once() {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "makonis-siem-relp-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("rsyslog")).unwrap();

    let key = SigningKey::from_pkcs8(&SigningKey::generate().unwrap()).unwrap();
    let config = Config {
        root: dir.join("store"),
        checkpoint_log: dir.join("elsewhere/checkpoints.jsonl"),
        skew_limit: SignedDuration::from_mins(5),
    };
    let store = Store::open(config, key).await.unwrap();
    let source = Source {
        id: SOURCE.into(),
        agency: Some("lm".into()),
        platform: false,
        category: SourceCategory::Authentication,
        format: Format::Syslog,
        zone: TimeZone::UTC,
        senders: vec![Sender::Network("127.0.0.1/32".parse().unwrap())],
    };
    let (claims, _) = Claims::new(vec![source]);
    let (_claims_tx, claims_rx) = watch::channel(Arc::new(claims));
    let (queue_tx, queue_rx) = mpsc::channel(16);
    let stats = Arc::new(Stats::default());
    let intake = Intake { claims: claims_rx, queue: queue_tx, stats: stats.clone() };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let reader = tokio::spawn(relp::serve(listener, intake));
    let writer = tokio::spawn(writer::run(store, queue_rx, stats.clone(), None));

    let lines = 5_000;
    let input = dir.join("auth.log");
    let text: String = (0..lines)
        .map(|n| format!("Failed password for user{n} from 10.0.{}.{} port {} ssh2\n", n / 250, n % 250 + 1, 1024 + n))
        .collect();
    std::fs::write(&input, text).unwrap();
    let conf = dir.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{work}")
module(load="imfile")
module(load="omrelp")
input(type="imfile" File="{input}" Tag="sshd" ruleset="forward")
ruleset(name="forward") {{
  action(type="omrelp" target="127.0.0.1" port="{port}" template="RSYSLOG_SyslogProtocol23Format")
}}
"#,
            work = dir.join("rsyslog").display(),
            input = input.display(),
        ),
    )
    .unwrap();
    let mut rsyslog = Command::new("/usr/sbin/rsyslogd")
        .args(["-n", "-f"])
        .arg(&conf)
        .arg("-i")
        .arg(dir.join("rsyslog.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("rsyslogd (Debian package rsyslog, with rsyslog-relp; tests/setup.sh installs them)");

    let mut waited = Duration::ZERO;
    while stats.source(SOURCE).events < lines as u64 {
        assert!(waited < Duration::from_secs(120), "{} of {lines} stored after 120 s", stats.source(SOURCE).events);
        if let Some(exit) = rsyslog.try_wait().unwrap() {
            panic!("rsyslogd exited: {exit}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    rsyslog.kill().await.unwrap();
    reader.abort();
    let _ = reader.await;
    let mut store = writer.await.unwrap();

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
