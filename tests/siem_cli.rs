//! `makonis siem keygen` and `makonis siem verify`, run as an operator runs them, on a
//! store written with the key keygen made and then edited in SQL.

use std::{path::Path, process::Command};

use jiff::{SignedDuration, Timestamp, ToSpan};
use makonis_siem::store::{Config, PartitionKey, Store};
use makonis_siem_core::{
    chain::SigningKey,
    event::{Event, Outcome},
    retention::SourceCategory,
};
use sqlx::{Connection, SqliteConnection};

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

#[tokio::test]
async fn keygen_then_verify_finds_an_edit_made_in_sql() {
    let dir = std::env::temp_dir().join(format!("makonis-siem-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("checkpoint.key");
    let (ok, public_key, stderr) = makonis(&["siem", "keygen", "--out", path(&key_file)]);
    assert!(ok, "{stderr}");
    let public_key = public_key.trim().to_owned();
    assert_eq!(public_key.len(), 64, "{public_key}");
    #[cfg(unix)]
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key_file).unwrap().permissions()) & 0o777,
        0o600
    );
    let (ok, _, stderr) = makonis(&["siem", "keygen", "--out", path(&key_file)]);
    assert!(!ok && stderr.contains("it must not exist"), "an existing key is never overwritten: {stderr}");

    let (store_dir, log) = (dir.join("store"), dir.join("elsewhere/checkpoints.jsonl"));
    let signer = SigningKey::from_pkcs8(&std::fs::read(&key_file).unwrap()).unwrap();
    let config =
        Config { root: store_dir.clone(), checkpoint_log: log.clone(), skew_limit: SignedDuration::from_mins(5) };
    let mut store = Store::open(config, signer).await.unwrap();
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
    drop(store);

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

    let partition = PartitionKey { day: "2026-12-05".parse().unwrap(), category: SourceCategory::PlatformAudit };
    let mut db =
        SqliteConnection::connect(&format!("sqlite://{}", partition.path(&store_dir).display())).await.unwrap();
    sqlx::query("UPDATE events SET document = replace(document, 'event 2', 'nothing') WHERE seq = 3")
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
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
