//! Shared by the SIEM crate's tests: a store in a directory of its own, an agency's
//! LogSource, and an intake claiming for it.

#![allow(dead_code)] // each test binary uses a different part

pub mod pki;

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
};

use jiff::{SignedDuration, tz::TimeZone};
use makonis_siem::{
    intake::{
        Batch, Intake, Stats,
        tls::{Credentials, TlsFiles},
    },
    store::{Config, Store},
};
use makonis_siem_core::{
    chain::SigningKey,
    claims::{Claims, Format, Sender, Source},
    retention::SourceCategory,
};
use tokio::sync::{mpsc, watch};

/// The LogSource the tests' events belong to.
pub const SERVERS: &str = "agency-lm/servers";

/// A new, empty directory under the system's temporary one, named after `what`.
pub fn fresh_dir(what: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "makonis-siem-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the test's directory");
    dir
}

/// A store under `dir` (its checkpoint log beside it) with a new key, and the key's
/// public half.
pub async fn store_in(dir: &Path) -> (Store, Vec<u8>) {
    let key = SigningKey::from_pkcs8(&SigningKey::generate().expect("a key")).expect("the key");
    let public_key = key.public_key();
    let config = Config {
        root: dir.join("store"),
        checkpoint_log: dir.join("elsewhere/checkpoints.jsonl"),
        skew_limit: SignedDuration::from_mins(5),
    };
    (Store::open(config, key).await.expect("open the store"), public_key)
}

/// The agency `lm`'s authentication LogSource [`SERVERS`], claiming `network`, its RFC
/// 3164 times in `zone`.
pub fn servers(network: &str, zone: &str) -> Source {
    Source {
        id: SERVERS.into(),
        agency: Some("lm".into()),
        platform: false,
        category: SourceCategory::Authentication,
        format: Format::Syslog,
        zone: TimeZone::get(zone).expect("a known zone"),
        senders: vec![Sender::Network(network.parse().expect("a network"))],
    }
}

/// The readers' shared state claiming for `sources` (which must not conflict), with a
/// queue of `capacity` batches and 64 MiB; the queue's receiving end is the writer's.
pub fn intake(sources: Vec<Source>, capacity: usize) -> (Intake, mpsc::Receiver<Batch>, Arc<Stats>) {
    intake_with_budget(sources, capacity, 64 << 20)
}

/// As [`intake`], with a budget of `budget_bytes` of records waiting.
pub fn intake_with_budget(
    sources: Vec<Source>,
    capacity: usize,
    budget_bytes: usize,
) -> (Intake, mpsc::Receiver<Batch>, Arc<Stats>) {
    let (claims, conflicts) = Claims::new(sources);
    assert!(conflicts.is_empty(), "{conflicts:?}");
    let (_, claims_rx) = watch::channel(Arc::new(claims));
    let (queue_tx, queue_rx) = mpsc::channel(capacity);
    let stats = Arc::new(Stats::default());
    (Intake::new(claims_rx, queue_tx, budget_bytes, stats.clone()), queue_rx, stats)
}

/// A platform CA made for the test, the SIEM's server certificate from it (written to
/// `dir`), and the TLS intakes' credentials that take client certificates from it.
pub fn tls_credentials(dir: &Path) -> (pki::Ca, Credentials) {
    let ca = pki::Ca::new("Mākonis platform CA (test)");
    let (certificate, key) = ca.server().write(dir, "server");
    let client_ca = dir.join("client-ca.crt");
    std::fs::write(&client_ca, &ca.pem).expect("write the client CA");
    let credentials = Credentials::load(TlsFiles { certificate, key, client_ca }).expect("the credentials");
    (ca, credentials)
}

/// `lines` failed sshd sign-ins, one per line, each with its own user and address.
pub fn sshd_lines(lines: usize) -> String {
    (0..lines)
        .map(|n| format!("Failed password for user{n} from 10.0.{}.{} port {} ssh2\n", n / 250, n % 250 + 1, 1024 + n))
        .collect()
}

/// Writes `dir/rsyslog.conf`: rsyslog follows `file` (`imfile`, tag `sshd`) and forwards
/// every line over RELP to 127.0.0.1:`relp_port` as RFC 5424; returns its path.
pub fn relp_forwarding(dir: &Path, file: &Path, relp_port: u16) -> PathBuf {
    std::fs::create_dir_all(dir.join("rsyslog")).expect("rsyslog's work directory");
    let conf = dir.join("rsyslog.conf");
    let text = format!(
        r#"global(workDirectory="{work}")
module(load="imfile")
module(load="omrelp")
input(type="imfile" File="{file}" Tag="sshd" ruleset="forward")
ruleset(name="forward") {{
  action(type="omrelp" target="127.0.0.1" port="{relp_port}" template="RSYSLOG_SyslogProtocol23Format")
}}
"#,
        work = dir.join("rsyslog").display(),
        file = file.display(),
    );
    std::fs::write(&conf, text).expect("write rsyslog.conf");
    conf
}

/// A real rsyslogd (Debian's `rsyslog`) in the foreground with `conf`, its pid file in
/// `dir`; killed when dropped.
pub fn rsyslogd(conf: &Path, dir: &Path) -> tokio::process::Child {
    tokio::process::Command::new("/usr/sbin/rsyslogd")
        .args(["-n", "-f"])
        .arg(conf)
        .arg("-i")
        .arg(dir.join("rsyslog.pid"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("rsyslogd (Debian packages rsyslog, rsyslog-relp, rsyslog-openssl; tests/setup.sh installs them)")
}

/// Waits until `source` has `events` stored, failing if rsyslog exits first or after 120 s.
pub async fn until_stored(stats: &Stats, source: &str, events: u64, rsyslog: &mut tokio::process::Child) {
    for _ in 0..1200 {
        if stats.source(source).events >= events {
            return;
        }
        if let Some(exit) = rsyslog.try_wait().expect("rsyslogd's state") {
            panic!("rsyslogd exited: {exit}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{} of {events} stored after 120 s", stats.source(source).events);
}
