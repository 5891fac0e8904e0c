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
    intake::{Batch, Intake, Stats},
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
/// queue of `capacity` batches; the queue's receiving end is the writer's.
pub fn intake(sources: Vec<Source>, capacity: usize) -> (Intake, mpsc::Receiver<Batch>, Arc<Stats>) {
    let (claims, conflicts) = Claims::new(sources);
    assert!(conflicts.is_empty(), "{conflicts:?}");
    let (_, claims_rx) = watch::channel(Arc::new(claims));
    let (queue_tx, queue_rx) = mpsc::channel(capacity);
    let stats = Arc::new(Stats::default());
    (Intake { claims: claims_rx, queue: queue_tx, stats: stats.clone() }, queue_rx, stats)
}
