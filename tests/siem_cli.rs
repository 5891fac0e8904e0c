//! `makonis siem keygen` and `makonis siem verify`, run as an operator runs them, on a
//! store written with the key keygen made and then edited in SQL.

use std::{path::Path, process::Command};

use jiff::{SignedDuration, Timestamp, ToSpan};
use makonis_siem::store::{Backend, Config, PartitionKey, PostgresConfig, Store};
use makonis_siem_core::{
    chain::SigningKey,
    event::{Event, Outcome},
    retention::SourceCategory,
};
use sqlx::{Connection, PgConnection};

#[path = "../monitoring/siem/tests/support/backends.rs"]
mod backends;

fn makonis(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_makonis")).args(args).output().expect("run makonis");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A new directory for one test's files.
fn test_dir(what: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("makonis-siem-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The partition [`fill`] fills.
fn partition() -> PartitionKey {
    PartitionKey { day: "2026-12-05".parse().unwrap(), category: SourceCategory::PlatformAudit }
}

/// Five events of the platform's audit on 2026-12-05, stored with the key in `key_file`
/// and checkpointed.
async fn fill(backend: impl Into<Backend>, key_file: &Path) {
    let signer = SigningKey::from_pkcs8(&std::fs::read(key_file).unwrap()).unwrap();
    let mut store = Store::open(backend, signer).await.unwrap();
    let at: Timestamp = "2026-12-05T10:00:00Z".parse().unwrap();
    let events: Vec<_> = (0..5)
        .map(|n| {
            let event = Event {
                timestamp: at + (n as i64).minutes(),
                created: at + (n as i64).minutes(),
                time_from_record: true,
                outcome: Outcome::Success,
                message: format!("event {n}"),
                original: format!("<13>event {n}").into_bytes(),
                source: "makonis-system/portal".into(),
                ..Event::default()
            };
            (event, SourceCategory::PlatformAudit)
        })
        .collect();
    let now: Timestamp = "2026-12-06T12:00:00Z".parse().unwrap();
    store.append(&mut events.clone(), now).await.unwrap();
    store.checkpoint_closed(now, SignedDuration::from_hours(1)).await.unwrap();
}

/// `makonis siem keygen` into `dir`: the key file and the public key.
fn keygen(dir: &Path) -> (std::path::PathBuf, String) {
    let key_file = dir.join("checkpoint.key");
    let (ok, public_key, stderr) = makonis(&["siem", "keygen", "--out", path(&key_file)]);
    assert!(ok, "{stderr}");
    (key_file, public_key.trim().to_owned())
}

#[tokio::test]
async fn keygen_then_verify_finds_an_edit_made_in_sql() {
    let dir = test_dir("cli");
    let (key_file, public_key) = keygen(&dir);
    assert_eq!(public_key.len(), 64, "{public_key}");
    #[cfg(unix)]
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key_file).unwrap().permissions()) & 0o777,
        0o600
    );
    let (ok, _, stderr) = makonis(&["siem", "keygen", "--out", path(&key_file)]);
    assert!(!ok && stderr.contains("it must not exist"), "an existing key is never overwritten: {stderr}");

    let (store_dir, log) = (dir.join("store"), dir.join("elsewhere/checkpoints.jsonl"));
    let config =
        Config { root: store_dir.clone(), checkpoint_log: log.clone(), skew_limit: SignedDuration::from_mins(5) };
    fill(config.clone(), &key_file).await;

    let args = |public_key: &str| {
        vec![
            "siem".to_owned(),
            "verify".into(),
            "--store".into(),
            path(&store_dir).into(),
            "--checkpoint-log".into(),
            path(&log).into(),
            "--public-key".into(),
            public_key.into(),
            "--from".into(),
            "2026-12-01".into(),
            "--to".into(),
            "2026-12-06".into(),
        ]
    };
    let run = |args: Vec<String>| makonis(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let (ok, stdout, stderr) = run(args(&public_key));
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("ok      2026-12-05/platform-audit  5 events, 1 checkpoints"), "{stdout}");

    let other = "00".repeat(32);
    let (ok, stdout, _) = run(args(&other));
    assert!(!ok && stdout.contains("is not signed by the platform's key"), "another key: {stdout}");

    let store = Backend::Sqlite(config);
    backends::tamper(&store, partition(), 3, |e| e.document = e.document.replace("event 2", "nothing")).await;
    let (ok, stdout, stderr) = run(args(&public_key));
    assert!(!ok, "{stdout}");
    assert!(stdout.contains("BROKEN  2026-12-05/platform-audit  event 3 was altered"), "{stdout}");
    assert!(stderr.contains("1 of 1 partitions from 2026-12-01 to 2026-12-06 failed the check"), "{stderr}");

    let (ok, _, stderr) = makonis(&[
        "siem",
        "verify",
        "--store",
        path(&dir.join("nothing")),
        "--public-key",
        &public_key,
        "--from",
        "2026-12-01",
    ]);
    assert!(!ok && stderr.contains("is not a SIEM store"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn verify_with_a_store_url_finds_an_edit_made_in_postgresql() {
    let Ok(server) = std::env::var("MAKONIS_TEST_POSTGRES_URL") else {
        eprintln!(
            "\n*** SKIPPING POSTGRESQL: MAKONIS_TEST_POSTGRES_URL is not set (tests/db/postgres.sh; ./test.sh sets it) ***\n"
        );
        return;
    };
    let dir = test_dir("cli-postgres");
    let (key_file, public_key) = keygen(&dir);
    let name = format!("siem_cli_{}_{}", std::process::id(), Timestamp::now().as_microsecond() % 1_000_000);
    let mut admin = PgConnection::connect(&server).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}_empty")).execute(&mut admin).await.unwrap();
    let base = server.rsplit_once('/').unwrap().0;
    let (url, empty) = (format!("{base}/{name}"), format!("{base}/{name}_empty"));
    let log = dir.join("elsewhere/checkpoints.jsonl");
    let config =
        PostgresConfig { url: url.clone(), checkpoint_log: log.clone(), skew_limit: SignedDuration::from_mins(5) };
    fill(config.clone(), &key_file).await;

    let verify = |url: &str| {
        makonis(&[
            "siem",
            "verify",
            "--store-url",
            url,
            "--checkpoint-log",
            path(&log),
            "--public-key",
            &public_key,
            "--from",
            "2026-12-01",
            "--to",
            "2026-12-06",
        ])
    };
    let (ok, stdout, stderr) = verify(&url);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("ok      2026-12-05/platform-audit  5 events, 1 checkpoints"), "{stdout}");

    let store = Backend::Postgres(config);
    backends::tamper(&store, partition(), 3, |e| e.document = e.document.replace("event 2", "nothing")).await;
    let (ok, stdout, _) = verify(&url);
    assert!(!ok && stdout.contains("BROKEN  2026-12-05/platform-audit  event 3 was altered"), "{stdout}");

    let (ok, _, stderr) = verify(&empty);
    assert!(!ok && stderr.contains("no SIEM store"), "{stderr}");
    let (ok, _, stderr) = makonis(&[
        "siem",
        "verify",
        "--store",
        "x",
        "--store-url",
        &url,
        "--public-key",
        &public_key,
        "--from",
        "2026-12-01",
    ]);
    assert!(!ok && stderr.contains("cannot be used with"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
