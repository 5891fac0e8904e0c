//! Leader election: of two replicas exactly one reconciles; when it dies the other takes
//! over within the lease time, and a clean shutdown hands the lease over at once.

mod support;

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, api::PostParams};
use makonis_api::tenancy::Agency;
use support::{
    agencies::{test_agency, unique_id},
    cluster::{
        OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, admin_client, install_platform, service_account_kubeconfig,
    },
    operator::{OperatorOptions, OperatorProcess},
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
    let args = ["--leader-election", "--lease-name", &lease, "--lease-seconds", "3"];
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
