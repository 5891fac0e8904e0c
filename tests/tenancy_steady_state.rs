//! An idle operator writes nothing: reconciles that find everything in place send no
//! create, patch, update or delete. Counted from the API server's own audit log, while
//! the operator's metrics prove that reconciles did run.

mod support;

use std::time::Duration;

use support::{
    CONVERGE,
    audit::{audit_offset, read_writes},
    cluster::{OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT},
    tenancy::{TestRun, wait_ready},
    wait_until,
};

const AGENCIES: usize = 3;
/// Reconciles per agency to observe in steady state.
const RECONCILES_EACH: f64 = 4.0;
const RUNS: &str = "makonis_operator_reconcile_total";
const WRITES: &str = "makonis_operator_api_writes_total";

#[tokio::test]
async fn idle_operator_makes_no_writes() {
    // A drift check every second makes the steady state busy: many reconciles, no writes.
    let t = TestRun::start(1).await;
    let (run, agencies, operator) = (&t.run, &t.agencies, &t.operator);
    let codes: Vec<String> = (0..AGENCIES).map(|i| t.code(&format!("s{i}"))).collect();
    for code in &codes {
        t.create(code).await;
    }
    for code in &codes {
        wait_ready(agencies, code).await;
        wait_until("quota usage in the status", CONVERGE, || async {
            let agency = agencies.get(code).await.map_err(|e| e.to_string())?;
            agency.status.and_then(|s| s.quota).map(|_| ()).ok_or_else(|| "no status.quota yet".to_string())
        })
        .await;
    }

    let offset = audit_offset();
    let labels = r#"controller="makonis-tenancy""#;
    let runs_before = operator.counter(RUNS, labels).await;
    let writes_before = operator.total(WRITES).await;
    let target = runs_before + RECONCILES_EACH * AGENCIES as f64;
    let runs_after = wait_until("steady-state reconciles", Duration::from_secs(60), || async {
        let runs = operator.counter(RUNS, labels).await;
        if runs >= target { Ok(runs) } else { Err(format!("{runs} of {target}")) }
    })
    .await;

    let operator_user = format!("system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_SERVICE_ACCOUNT}");
    let (writes, _) = read_writes(offset);
    let ours: Vec<_> = writes
        .iter()
        .filter(|w| w.user == operator_user && (w.name.contains(run.as_str()) || w.namespace.contains(run.as_str())))
        .collect();
    let metric_writes = operator.total(WRITES).await - writes_before;
    println!(
        "steady state: {} reconciles, {} writes in the audit log, {metric_writes} counted by the operator",
        runs_after - runs_before,
        ours.len()
    );
    assert!(ours.is_empty(), "the idle operator wrote: {ours:#?}");
    assert_eq!(metric_writes, 0.0, "the operator counted writes of its own");
    // The audit log is only trusted because it sees the operator's writes at all.
    let (all, _) = read_writes(0);
    assert!(
        all.iter().any(|w| w.user == operator_user && w.name.contains(run.as_str())),
        "no writes by the operator were ever audited"
    );
}
