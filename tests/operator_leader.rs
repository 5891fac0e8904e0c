//! Leader election: of two replicas exactly one reconciles; when it dies the other takes
//! over within the lease time, and a clean shutdown hands the lease over at once. A
//! leader whose connection to the API server stalls stops before another replica takes
//! over, and the Lease's timestamps (another machine's clock) neither let a standby take
//! a live lease nor keep it from a dead one.

mod support;

use std::{path::Path, time::Duration};

use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
    jiff::{SignedDuration, Timestamp},
};
use kube::{Api, api::PostParams};
use makonis_api::tenancy::Agency;
use serde_json::Value;
use support::{
    agencies::{test_agency, unique_id},
    cluster::{
        OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, admin_client, admin_kubeconfig_path, install_platform,
        service_account_kubeconfig,
    },
    operator::{OperatorOptions, OperatorProcess},
    proxy::{FreezableProxy, api_server_address, kubeconfig_through},
    tenancy::wait_ready,
    wait_until,
};

const LEADER: &str = "makonis_operator_leader";

/// Which of `replicas` reports itself leader; `Err` unless exactly one does.
async fn the_leader(replicas: &[&OperatorProcess], lease: &str) -> Result<usize, String> {
    let mut leaders = Vec::new();
    for (i, replica) in replicas.iter().enumerate() {
        if replica.counter(LEADER, &format!(r#"lease="{lease}""#)).await == 1.0 {
            leaders.push(i);
        }
    }
    match leaders.as_slice() {
        [one] => Ok(*one),
        other => Err(format!("leaders: {other:?}")),
    }
}

#[tokio::test]
async fn one_replica_leads_and_another_takes_over() {
    let admin = admin_client().await;
    install_platform(&admin).await;
    let kubeconfig = service_account_kubeconfig(&admin, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT).await;
    let run = unique_id();
    let lease = format!("makonis-test-{run}");
    let args = ["--leader-election", "--lease-name", &lease, "--lease-seconds", "6"];
    let options = || OperatorOptions {
        kubeconfig: &kubeconfig,
        controllers: "tenancy",
        run: &run,
        resync_seconds: 300,
        extra_args: &args,
    };
    let mut replicas = vec![OperatorProcess::start(options()).await, OperatorProcess::start(options()).await];

    let leader = wait_until("exactly one leader", Duration::from_secs(30), || async {
        the_leader(&replicas.iter().collect::<Vec<_>>(), &lease).await
    })
    .await;
    let agencies: Api<Agency> = Api::all(admin.clone());
    let first = format!("l{run}");
    agencies.create(&PostParams::default(), &test_agency(&first, &run)).await.expect("create agency");
    wait_ready(&agencies, &first).await;
    let standby = &replicas[1 - leader];
    assert_eq!(standby.total("makonis_operator_reconcile_total").await, 0.0, "the standby reconciled");

    // The leader dies without a word: the standby takes over once the lease expires.
    replicas.remove(leader).kill().await;
    let survivor = replicas.pop().unwrap();
    wait_until("the standby to lead", Duration::from_secs(30), || async { the_leader(&[&survivor], &lease).await })
        .await;
    let second = format!("m{run}");
    agencies.create(&PostParams::default(), &test_agency(&second, &run)).await.expect("create agency");
    wait_ready(&agencies, &second).await;

    // A clean shutdown releases the lease for the next replica.
    survivor.stop().await;
    let held = Api::<Lease>::namespaced(admin.clone(), OPERATOR_NAMESPACE).get(&lease).await.unwrap();
    let spec = held.spec.unwrap();
    assert_eq!(spec.holder_identity, None, "the lease was released");
    assert_eq!(spec.lease_transitions, Some(1), "one hand-over: from the first leader to the standby");
}

/// Starts a tenancy operator for `run` that campaigns for `lease` (held for `seconds`).
async fn candidate(kubeconfig: &Path, run: &str, lease: &str, seconds: &str) -> OperatorProcess {
    let args = ["--leader-election", "--lease-name", lease, "--lease-seconds", seconds];
    OperatorProcess::start(OperatorOptions {
        kubeconfig,
        controllers: "tenancy",
        run,
        resync_seconds: 300,
        extra_args: &args,
    })
    .await
}

/// When the operator first logged `message` (its JSON log's own timestamp).
fn logged_at(process: &OperatorProcess, message: &str) -> Option<Timestamp> {
    process.log().lines().filter_map(|line| serde_json::from_str::<Value>(line).ok()).find_map(|line| {
        (line["fields"]["message"] == message).then(|| line["timestamp"].as_str()?.parse().ok()).flatten()
    })
}

#[tokio::test]
async fn a_stalled_leader_steps_down_before_another_takes_over() {
    let admin = admin_client().await;
    install_platform(&admin).await;
    let kubeconfig = service_account_kubeconfig(&admin, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT).await;
    let proxy = FreezableProxy::start(api_server_address(&admin_kubeconfig_path())).await;
    let run = unique_id();
    let lease = format!("makonis-stall-{run}");

    // The first replica reaches the API server only through the proxy; it leads.
    let mut stalled = candidate(&kubeconfig_through(&kubeconfig, proxy.address), &run, &lease, "6").await;
    let lead = format!(r#"lease="{lease}""#);
    wait_until("the first replica to lead", Duration::from_secs(30), || async {
        if stalled.counter(LEADER, &lead).await == 1.0 { Ok(()) } else { Err("not yet".to_string()) }
    })
    .await;
    let standby = candidate(&kubeconfig, &run, &lease, "6").await;
    assert_eq!(standby.counter(LEADER, &lead).await, 0.0, "the second replica stands by");

    // Its connection stalls: no answer, no error, no closed socket.
    proxy.freeze();
    let mut stalled_exit = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        // Looked at in this order, an exit seen in the same round as the take-over
        // happened before it.
        if stalled_exit.is_none() {
            stalled_exit = stalled.exit_status();
        }
        if standby.counter(LEADER, &lead).await == 1.0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the standby never took over");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let exit = stalled_exit.expect("the stalled leader was still running when the standby took over");
    assert!(!exit.success(), "losing the lease is an error exit: {exit}");
    let stepped_down = logged_at(&stalled, "lost the leader lease; stopping").expect("the leader says why it stopped");
    let took_over = logged_at(&standby, "leading").expect("the standby logs that it leads");
    assert!(stepped_down < took_over, "stepped down at {stepped_down}, the standby led from {took_over}");
    assert!(stalled.log().contains("renew deadline"), "{}", stalled.log());
    // The new leader works.
    let agencies: Api<Agency> = Api::all(admin.clone());
    let code = format!("s{run}");
    agencies.create(&PostParams::default(), &test_agency(&code, &run)).await.expect("create agency");
    wait_ready(&agencies, &code).await;
    proxy.thaw();
    standby.stop().await;
}

/// A Lease held by `holder` whose renewals carry `renew_time` (another machine's clock).
fn foreign_lease(name: &str, holder: &str, renew_time: Timestamp) -> Lease {
    Lease {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(6),
            acquire_time: Some(MicroTime(renew_time)),
            renew_time: Some(MicroTime(renew_time)),
            lease_transitions: Some(0),
            ..Default::default()
        }),
    }
}

#[tokio::test]
async fn lease_timestamps_from_a_skewed_clock_neither_split_nor_stall_the_election() {
    let admin = admin_client().await;
    install_platform(&admin).await;
    let kubeconfig = service_account_kubeconfig(&admin, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT).await;
    let leases: Api<Lease> = Api::namespaced(admin.clone(), OPERATOR_NAMESPACE);
    let run = unique_id();
    let hour = SignedDuration::from_hours(1);

    // A live holder whose clock is an hour behind: its renewals look long expired.
    let live = format!("makonis-behind-{run}");
    let mut held =
        leases.create(&PostParams::default(), &foreign_lease(&live, "behind", Timestamp::now() - hour)).await.unwrap();
    // A dead holder whose clock was an hour ahead: its last renewal looks fresh for an hour.
    let dead = format!("makonis-ahead-{run}");
    leases.create(&PostParams::default(), &foreign_lease(&dead, "ahead", Timestamp::now() + hour)).await.unwrap();

    let patient = candidate(&kubeconfig, &run, &live, "6").await;
    let heir = candidate(&kubeconfig, &run, &dead, "6").await;
    let (live_label, dead_label) = (format!(r#"lease="{live}""#), format!(r#"lease="{dead}""#));

    // The live holder keeps renewing (an hour behind) for three lease durations: the
    // standby never takes its lease. Meanwhile the dead holder's lease is taken.
    let renewing_until = tokio::time::Instant::now() + Duration::from_secs(18);
    let mut last_renewal;
    loop {
        held.spec.as_mut().unwrap().renew_time = Some(MicroTime(Timestamp::now() - hour));
        held = match leases.replace(&live, &PostParams::default(), &held).await {
            Ok(renewed) => renewed,
            Err(error) => {
                let holder = leases.get(&live).await.ok().and_then(|l| l.spec?.holder_identity);
                panic!("renewing the live lease failed ({error}); it is held by {holder:?}")
            }
        };
        last_renewal = tokio::time::Instant::now();
        assert_eq!(patient.counter(LEADER, &live_label).await, 0.0, "a live lease was taken for its old timestamp");
        if last_renewal >= renewing_until {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(heir.counter(LEADER, &dead_label).await, 1.0, "a dead lease was kept for its future timestamp");
    let taken = leases.get(&dead).await.unwrap().spec.unwrap();
    assert_eq!(taken.lease_transitions, Some(1));
    assert_ne!(taken.holder_identity.as_deref(), Some("ahead"));

    // Once the live holder stops renewing, the standby takes over, but not before the
    // lease has run its course on the standby's own clock.
    wait_until("the standby to take the abandoned lease", Duration::from_secs(30), || async {
        if patient.counter(LEADER, &live_label).await == 1.0 { Ok(()) } else { Err("standing by".to_string()) }
    })
    .await;
    assert!(
        last_renewal.elapsed() >= Duration::from_secs(6),
        "taken {:?} after the last renewal",
        last_renewal.elapsed()
    );
    patient.stop().await;
    heir.stop().await;
}
