//! `makonis siem replay` and `makonis siem import-sigma`, run as a security officer runs
//! them: replay prints exactly the documented JSON lines and reports what it could not
//! take; what import-sigma prints is accepted by the real API server (server-side dry
//! run) as the detection rule kinds.

mod support;

use std::{path::Path, process::Command};

use k8s_openapi::api::core::v1::Namespace;
use kube::{
    Api,
    api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams},
};
use support::{
    agencies::unique_id,
    cluster::{admin_client, install_platform, yaml_documents},
};

fn makonis(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_makonis")).args(args).output().expect("run makonis");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A new directory for one test's files.
fn test_dir(what: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("makonis-sigma-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("rules/nested")).unwrap();
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

const FAILED: &str = "title: Failed SSH password
id: 4e1b6c55-1f1d-4c59-8f0c-2f8f4d1a0001
name: ssh_failed
logsource: {product: linux, service: sshd}
detection:
  s:
    event.outcome: failure
  condition: s
level: low
";

const BRUTE_FORCE: &str = "title: SSH brute force
id: 4e1b6c55-1f1d-4c59-8f0c-2f8f4d1a0002
correlation:
  type: event_count
  rules: [ssh_failed]
  group-by: [source.ip]
  timespan: 1m
  condition: {gte: 3}
level: high
---
title: Unsupported
id: 4e1b6c55-1f1d-4c59-8f0c-2f8f4d1a0003
logsource: {product: linux}
detection:
  s:
    message|bogus: x
  condition: s
level: low
";

const AUTH_LOG: &str = "Dec  6 10:00:01 web1 sshd[1]: Failed password for root from 10.0.0.1 port 1 ssh2
Dec  6 10:00:02 web1 sshd[1]: Failed password for invalid user ad min from 10.0.0.1 port 2 ssh2
this line is not syslog at all but auto reads it as a message without a header
Dec  6 10:00:03 web1 sshd[1]: Failed password for oracle from 10.0.0.1 port 3 ssh2
";

#[test]
fn replay_prints_one_documented_json_line_per_firing_and_reports_rules_it_could_not_take() {
    let dir = test_dir("replay");
    std::fs::write(dir.join("rules/nested/failed.yml"), FAILED).unwrap();
    std::fs::write(dir.join("rules/brute.yaml"), BRUTE_FORCE).unwrap();
    std::fs::write(dir.join("auth.log"), AUTH_LOG).unwrap();
    let log = dir.join("auth.log");
    let (ok, stdout, stderr) =
        makonis(&["siem", "replay", "--rules", path(&dir.join("rules")), "--year", "2026", path(&log)]);
    assert!(ok, "{stderr}");
    let expected = format!(
        concat!(
            r#"{{"rule_id":"4e1b6c55-1f1d-4c59-8f0c-2f8f4d1a0002","title":"SSH brute force","level":"high","file":"{}","#,
            r#""events":[{{"line":1,"time":"2026-12-06T10:00:01Z"}},{{"line":2,"time":"2026-12-06T10:00:02Z"}},{{"line":4,"time":"2026-12-06T10:00:03Z"}}],"#,
            r#""group":{{"source.ip":"10.0.0.1"}},"first":"2026-12-06T10:00:01Z","last":"2026-12-06T10:00:03Z"}}"#,
            "\n"
        ),
        path(&log)
    );
    assert_eq!(stdout, expected);
    assert!(stderr.contains("brute.yaml:16: unknown modifier |bogus"), "{stderr}");
    assert!(stderr.contains("4 events, 1 alerts"), "{stderr}");

    let (ok, stdout, _) = makonis(&[
        "siem",
        "replay",
        "--rules",
        path(&dir.join("rules/nested/failed.yml")),
        "--year",
        "2026",
        "--logsource",
        "service=auth",
        path(&log),
    ]);
    assert!(ok);
    assert_eq!(stdout.lines().count(), 3, "a detection rule alerts per matching event:\n{stdout}");

    let (ok, _, stderr) =
        makonis(&["siem", "replay", "--rules", path(&dir.join("rules")), "--logsource", "host=x", path(&log)]);
    assert!(!ok && stderr.contains("unknown logsource attribute \"host\""), "{stderr}");
    std::fs::write(dir.join("rules/brute.yaml"), "").unwrap();
    std::fs::write(dir.join("rules/nested/failed.yml"), "title: [").unwrap();
    let (ok, _, stderr) = makonis(&["siem", "replay", "--rules", path(&dir.join("rules")), path(&log)]);
    assert!(!ok && stderr.contains("no rule under"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn what_import_sigma_prints_the_api_server_accepts_as_detection_rules() {
    let admin = admin_client().await;
    install_platform(&admin).await;
    let namespace = format!("sigma-{}", unique_id());
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(serde_json::json!({"metadata": {"name": namespace}})).unwrap(),
        )
        .await
        .unwrap();
    let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("monitoring/rules");
    let sigmahq = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigma/sigmahq/rules");
    for (source, scope) in [(path(&pack), Some(namespace.as_str())), (path(&sigmahq), None)] {
        let mut args = vec!["siem", "import-sigma", source];
        if let Some(namespace) = scope {
            args.extend(["--namespace", namespace]);
        }
        let (ok, stdout, stderr) = makonis(&args);
        assert!(ok, "{stderr}");
        let objects = yaml_documents(&stdout);
        assert!(objects.len() >= 25, "{} objects from {source}: {stderr}", objects.len());
        let kind = if scope.is_some() { "DetectionRule" } else { "ClusterDetectionRule" };
        let plural = if scope.is_some() { "detectionrules" } else { "clusterdetectionrules" };
        let resource = ApiResource {
            group: "security.makonis.lv".into(),
            version: "v1alpha1".into(),
            api_version: "security.makonis.lv/v1alpha1".into(),
            kind: kind.into(),
            plural: plural.into(),
        };
        let api: Api<DynamicObject> = match scope {
            Some(namespace) => Api::namespaced_with(admin.clone(), namespace, &resource),
            None => Api::all_with(admin.clone(), &resource),
        };
        let params = PatchParams { dry_run: true, ..PatchParams::apply("makonis-tests") };
        for object in &objects {
            assert_eq!(object["kind"], kind);
            let name = object["metadata"]["name"].as_str().unwrap();
            api.patch(name, &params, &Patch::Apply(object)).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        if scope.is_none() {
            assert!(stderr.contains("not taken:") && stderr.contains("1 rules not taken"), "{stderr}");
        }
    }
    namespaces.delete(&namespace, &DeleteParams::default()).await.unwrap();
}
