//! Nothing lost after a crash: `makonis siem run` is killed with SIGKILL while a real
//! rsyslog streams 200,000 events to it over RELP; after a restart on the same store,
//! every event is stored exactly once, the resent ones counted as duplicates in the
//! LogSource's status, and `makonis siem verify` finds the chain intact; on SQLite, then
//! on PostgreSQL.

mod support;

use std::{process::Stdio, time::Duration};

use jiff::{Timestamp, tz::TimeZone};
use kube::{Api, Client, api::DeleteParams};
use makonis_api::security::LogSource;
use makonis_siem_core::block::decode;
use serde_json::json;
use sqlx::{Connection, PgConnection, SqliteConnection};
use support::{
    CONVERGE,
    agencies::unique_id,
    cluster::{admin_client, install_platform},
    operator::free_local_address,
    siem::{Siem, SiemFiles, create_log_source},
    wait_until,
};
use tokio::process::Command;

const NAMESPACE: &str = "makonis-system";
/// The address rsyslog sends from, so that no other test's LogSource claims it.
const SENDER: &str = "127.0.0.3";
const EVENTS: usize = 200_000;

/// Today's partition's blocks as the store holds them: each block's number of events and,
/// when `bodies`, its body (none while the partition does not exist).
async fn today(files: &SiemFiles, bodies: bool) -> Vec<(i64, Vec<u8>)> {
    let day = Timestamp::now().to_zoned_datetime(TimeZone::UTC).date();
    let body = if bodies { "body" } else { "substr(body, 1, 0)" };
    if let Some(url) = &files.store_url {
        let Ok(mut db) = PgConnection::connect(url).await else { return Vec::new() };
        let select = format!("SELECT last_seq - first_seq + 1, {body} FROM siem.blocks WHERE partition = $1");
        let blocks =
            sqlx::query_as(&select).bind(format!("{day}/authentication")).fetch_all(&mut db).await.unwrap_or_default();
        let _ = db.close().await;
        return blocks;
    }
    let file = files.store.join("partitions").join(day.to_string()).join("authentication.sqlite");
    if !file.exists() {
        return Vec::new();
    }
    let Ok(mut db) = SqliteConnection::connect(&format!("sqlite://{}?mode=ro", file.display())).await else {
        return Vec::new();
    };
    let select = format!("SELECT last_seq - first_seq + 1, {body} FROM blocks");
    let blocks = sqlx::query_as(&select).fetch_all(&mut db).await.unwrap_or_default();
    let _ = db.close().await;
    blocks
}

/// Events in today's partition.
async fn stored(files: &SiemFiles) -> i64 {
    today(files, false).await.iter().map(|(events, _)| events).sum()
}

/// The users of the events in today's partition, each once.
async fn users(files: &SiemFiles) -> usize {
    let mut users = std::collections::BTreeSet::new();
    for (_, body) in today(files, true).await {
        users.extend(decode(&body).expect("a block the store wrote decodes").into_iter().filter_map(|e| e.user));
    }
    users.len()
}

#[tokio::test]
async fn kill_9_while_rsyslog_streams_over_relp_loses_nothing_and_stores_each_event_once() {
    let admin = admin_client().await;
    install_platform(&admin).await;
    let dir = |id: &str| std::env::temp_dir().join(format!("makonis-siem-crash-{id}"));
    let id = unique_id();
    crash(&admin, &id, SiemFiles::new(dir(&id))).await;
    let Ok(server) = std::env::var("MAKONIS_TEST_POSTGRES_URL") else {
        eprintln!(
            "\n*** SKIPPING POSTGRESQL: MAKONIS_TEST_POSTGRES_URL is not set (tests/db/postgres.sh; ./test.sh sets it) ***\n"
        );
        return;
    };
    let id = unique_id();
    let database = format!("siem_crash_{}", id.replace('-', "_"));
    let mut admin_db = PgConnection::connect(&server).await.expect("PostgreSQL reachable");
    sqlx::query(&format!("CREATE DATABASE {database}")).execute(&mut admin_db).await.expect("CREATE DATABASE");
    let url = format!("{}/{database}", server.rsplit_once('/').expect("a database URL").0);
    crash(&admin, &id, SiemFiles::on_postgres(dir(&id), url)).await;
}

/// The SIEM killed in the middle of rsyslog's stream into `files`' store, and restarted.
async fn crash(admin: &Client, id: &str, files: SiemFiles) {
    let dir = files.dir.clone();
    std::fs::create_dir_all(dir.join("rsyslog")).unwrap();

    let name = format!("crash-{id}");
    let sources = Api::<LogSource>::namespaced(admin.clone(), NAMESPACE);
    create_log_source(admin, &name, json!([{"address": SENDER}]), "UTC").await;

    let relp = free_local_address();
    let siem = Siem::start(admin, &files, relp, "siem-1.log").await;
    wait_until("the LogSource to be accepted", CONVERGE, || async {
        let object = sources.get(&name).await.map_err(|e| e.to_string())?;
        let ready = object.status.as_ref().and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready")).cloned();
        (ready.as_ref().map(|c| c.status.as_str()) == Some("True")).then_some(()).ok_or(format!("{ready:?}"))
    })
    .await;

    let input = dir.join("auth.log");
    let text: String = (0..EVENTS)
        .map(|n| {
            format!(
                "Failed password for user{n} from 10.{}.{}.{} port {} ssh2\n",
                n / 62500,
                n / 250 % 250,
                n % 250 + 1,
                1024 + n % 60000
            )
        })
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
ruleset(name="forward" queue.type="LinkedList" queue.size="300000") {{
  action(type="omrelp" target="127.0.0.1" port="{port}" localClientIp="{SENDER}"
         template="RSYSLOG_SyslogProtocol23Format" windowSize="1024"
         action.resumeRetryCount="-1" action.resumeInterval="1")
}}
"#,
            work = dir.join("rsyslog").display(),
            input = input.display(),
            port = relp.port(),
        ),
    )
    .unwrap();
    let mut rsyslog = Command::new("/usr/sbin/rsyslogd")
        .args(["-n", "-f"])
        .arg(&conf)
        .arg("-i")
        .arg(dir.join("rsyslog.pid"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("rsyslog.log")).unwrap())
        .kill_on_drop(true)
        .spawn()
        .expect("rsyslogd (Debian packages rsyslog and rsyslog-relp; tests/setup.sh installs them)");

    // Kill the SIEM once a quarter of the stream is stored, in the middle of it.
    wait_until("a quarter of the events to be stored", Duration::from_secs(300), || async {
        let n = stored(&files).await;
        (n >= EVENTS as i64 / 4).then_some(()).ok_or(format!("{n} stored"))
    })
    .await;
    assert!(!siem.signal("KILL").await, "killed");
    let at_kill = stored(&files).await;
    assert!(at_kill < EVENTS as i64, "the stream was not over when the SIEM was killed ({at_kill} stored)");

    let siem = Siem::start(admin, &files, relp, "siem-2.log").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    loop {
        if let Some(exit) = rsyslog.try_wait().unwrap() {
            panic!("rsyslogd exited: {exit}; see {}", dir.join("rsyslog.log").display());
        }
        let n = stored(&files).await;
        if n >= EVENTS as i64 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{n} of {EVENTS} stored after 600 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Whatever is still in flight is a resend: wait for rsyslog's queue to be acknowledged.
    let status = wait_until("the resends to be counted", CONVERGE, || async {
        let object = sources.get(&name).await.map_err(|e| e.to_string())?;
        let status = object.status.ok_or("no status")?;
        (status.events_received + at_kill >= EVENTS as i64).then_some(status.clone()).ok_or(format!("{status:?}"))
    })
    .await;
    rsyslog.kill().await.unwrap();
    assert!(siem.signal("TERM").await, "the SIEM stops cleanly on SIGTERM");

    assert_eq!(stored(&files).await, EVENTS as i64, "every event once: none lost, none twice");
    assert_eq!(users(&files).await, EVENTS, "each line's own event");
    println!(
        "killed at {at_kill} stored; after the restart {} stored and {} resends counted",
        status.events_received, status.duplicates
    );

    let day = Timestamp::now().to_zoned_datetime(TimeZone::UTC).date().to_string();
    let (verified, out) = Siem::verify(&files, &day).await;
    assert!(verified, "{out}");
    assert!(out.contains(&format!("ok      {day}/authentication  {EVENTS} events")), "{out}");

    sources.delete(&name, &DeleteParams::default()).await.unwrap();
    wait_until("the LogSource to be gone", CONVERGE, || async {
        match sources.get_opt(&name).await {
            Ok(None) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let _ = std::fs::remove_dir_all(&dir);
}
