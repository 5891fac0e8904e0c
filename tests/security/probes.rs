//! Threats: probes (see docs/security/threat-model.md, "Tenants steering the platform").
//!
//! An agency admin may create Probes and reads back their cause and body match: a Probe
//! pointed at the API server, cloud metadata, the engine's own machine or another agency
//! would make the SLO engine a request forger. Each test runs the real engine (as its
//! ServiceAccount, serving its admission webhook to the real API server) against real
//! listeners on 127.0.0.1 and 127.0.0.2.

use std::sync::atomic::Ordering;

use kube::{
    Api, Client,
    api::{DeleteParams, ObjectMeta, Patch, PatchParams, PostParams},
    config::Kubeconfig,
};
use makonis_api::{
    slo::{HttpProbe, Probe, ProbeSpec, ProbeState, TcpProbe},
    tenancy::Agency,
};
use serde_json::json;

use crate::support::{
    CONVERGE,
    agencies::{TEST_LABEL, test_agency},
    cluster::{admin_kubeconfig_path, client_as},
    slo::{SloEngine, SloOptions, probe_target},
    tenancy::{TestRun, wait_ready},
    wait_until,
};

/// The engine probes every Probe in the cluster and writes their status: the tests of
/// this file run one engine at a time, so that no engine judges another test's probes.
static ONE_ENGINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// An agency of the run whose Agency lists the extra domain `<code>.makonis.test` (a
/// reserved top-level domain: nothing outside this machine answers it); its namespace.
async fn agency_with_a_domain(t: &TestRun, prefix: &str) -> (String, String) {
    let code = t.code(prefix);
    let mut agency: Agency = test_agency(&code, &t.run);
    agency.spec.domains = vec![format!("{code}.makonis.test")];
    t.agencies.create(&PostParams::default(), &agency).await.expect("create agency");
    let namespace = wait_ready(&t.agencies, &code).await.namespace_name();
    (code, namespace)
}

/// A directory user holding the agency admin role of `code`.
async fn agency_admin(code: &str) -> Client {
    client_as(&format!("admin@{code}.gov.lv"), &[&format!("{}-Admins", code.to_uppercase())]).await
}

/// A Probe named `name` of `url` (HTTP) or `host:5432` (TCP), labelled with the run,
/// checked every second and confirmed by one result.
fn probe(run: &str, name: &str, target: Target) -> Probe {
    let (http, tcp) = match target {
        Target::Url(url) => (
            Some(HttpProbe {
                url,
                expected_status: Vec::new(),
                body_match: None,
                latency_threshold: None,
                certificate_expiry_warning_days: 14,
            }),
            None,
        ),
        Target::Tcp(host) => (None, Some(TcpProbe { host, port: 5432 })),
    };
    Probe {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some([(TEST_LABEL.to_string(), run.to_string())].into()),
            ..Default::default()
        },
        spec: ProbeSpec {
            instance: None,
            http,
            tcp,
            interval: "1s".into(),
            timeout: "1s".into(),
            failure_threshold: 1,
            success_threshold: 1,
        },
        status: None,
    }
}

/// What a Probe checks.
enum Target {
    Url(String),
    Tcp(String),
}

/// The API server's URL, as the clients of the tests (and the engine) reach it.
fn api_server_url() -> String {
    let kubeconfig = Kubeconfig::read_from(admin_kubeconfig_path()).expect("admin kubeconfig");
    kubeconfig.clusters[0].cluster.as_ref().and_then(|c| c.server.clone()).expect("the API server's URL")
}

#[tokio::test]
async fn an_agency_admin_cannot_point_a_probe_outside_the_agency() {
    let _one = ONE_ENGINE.lock().await;
    let t = TestRun::start(300).await;
    let (code, namespace) = agency_with_a_domain(&t, "pa").await;
    let other = t.code("pz");
    let engine = SloEngine::start(
        &t.admin,
        SloOptions {
            run: &t.run,
            webhook: true,
            hosts: None,
            // The accepted names of the agency's own domain go to a closed local port (see
            // SloEngine::start).
            extra_args: &["--probe-deny-cidr".into(), "10.96.0.0/12".into()],
        },
    )
    .await;
    let api_server = api_server_url();
    let admin = agency_admin(&code).await;
    let probes: Api<Probe> = Api::namespaced(admin, &namespace);

    // Every forbidden class of target, refused by the API server with the field and why.
    let refused = [
        ("loopback", Target::Url("http://127.0.0.2:8080/".into()), "spec.http.url: 127.0.0.2 is a loopback address"),
        ("loopback-v6", Target::Url("http://[::1]:8080/".into()), "spec.http.url: ::1 is a loopback address"),
        (
            "localhost",
            Target::Url("http://localhost:8080/".into()),
            "spec.http.url: `localhost` is the engine's own machine",
        ),
        (
            "metadata",
            Target::Url("http://169.254.169.254/latest/meta-data/".into()),
            "spec.http.url: 169.254.169.254 is a link-local address",
        ),
        ("api-server", Target::Url(format!("{api_server}/api/v1/secrets")), "is the Kubernetes API server's address"),
        (
            "api-service",
            Target::Url("https://kubernetes.default.svc/".into()),
            "spec.http.url: `kubernetes.default.svc` is a Service of namespace default",
        ),
        (
            "cluster-range",
            Target::Url("http://10.96.0.10/".into()),
            "spec.http.url: 10.96.0.10 is in the cluster's internal range 10.96.0.0/12",
        ),
        (
            "other-service",
            Target::Tcp(format!("db.agency-{other}.svc")),
            &format!("spec.tcp.host: `db.agency-{other}.svc` is a Service of namespace agency-{other}"),
        ),
        ("other-agency", Target::Url(format!("https://web.{other}.apps.makonis.lv/")), "spec.http.url: `web."),
        (
            "user-info",
            Target::Url(format!("http://web.{code}.apps.makonis.lv@127.0.0.1/")),
            "spec.http.url: the URL carries user info",
        ),
        ("decimal-ip", Target::Url("http://2130706433/".into()), "is neither a host name of the agency"),
    ];
    for (name, target, expected) in refused {
        let error = probes.create(&PostParams::default(), &probe(&t.run, name, target)).await.expect_err(name);
        let message = error.to_string();
        assert!(message.contains("probes.slo.makonis.lv") && message.contains(expected), "{name}: {message}");
        assert!(probes.get_opt(name).await.expect("read back").is_none(), "{name} was stored");
    }

    // The agency's own host names and the Services of its namespace are accepted.
    let allowed = [
        ("web", Target::Url(format!("https://web.{code}.apps.makonis.lv/healthz"))),
        ("portal", Target::Url(format!("https://portal.{code}.makonis.test:8443/"))),
        ("db", Target::Tcp(format!("db.{namespace}.svc"))),
    ];
    for (name, target) in allowed {
        probes
            .create(&PostParams::default(), &probe(&t.run, name, target))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // Changing an accepted probe's target is judged like creating it.
    let change = json!({"spec": {"http": {"url": "http://169.254.169.254/"}}});
    let error = probes.patch("web", &PatchParams::default(), &Patch::Merge(&change)).await.expect_err("repointed");
    assert!(error.to_string().contains("spec.http.url: 169.254.169.254 is a link-local address"), "{error}");

    // The platform's own probes (outside agency namespaces) are not limited.
    let platform: Api<Probe> = Api::namespaced(t.admin.clone(), "makonis-system");
    let own = probe(&t.run, &format!("own-{}", t.run), Target::Url("http://127.0.0.1:9/readyz".into()));
    platform.create(&PostParams::default(), &own).await.expect("a platform probe of 127.0.0.1");
    platform.delete(&format!("own-{}", t.run), &DeleteParams::default()).await.expect("delete the platform probe");
    for name in ["web", "portal", "db"] {
        let _ = probes.delete(name, &DeleteParams::default()).await;
    }
    engine.finish(&t.admin).await;
}

#[tokio::test]
async fn an_agency_host_that_resolves_to_a_forbidden_address_is_never_connected_to() {
    let _one = ONE_ENGINE.lock().await;
    let t = TestRun::start(300).await;
    let (code, namespace) = agency_with_a_domain(&t, "pr").await;
    // A name of the agency's that its DNS answers with a loopback address, one answered
    // with the API server's address, and one the operator routes to a real listener.
    let (loopback, loopback_hits) = probe_target("127.0.0.2", "secret").await;
    let (api, api_hits) = probe_target("127.0.0.1", "secret").await;
    let (routed, routed_hits) = probe_target("127.0.0.1", "secret").await;
    let hosts = format!("127.0.0.2 loop.{code}.makonis.test\n127.0.0.1 api.{code}.makonis.test");
    let engine = SloEngine::start(
        &t.admin,
        SloOptions {
            run: &t.run,
            webhook: true,
            hosts: Some(&hosts),
            extra_args: &["--resolve".into(), format!("ok.{code}.makonis.test={routed}")],
        },
    )
    .await;
    let probes: Api<Probe> = Api::namespaced(agency_admin(&code).await, &namespace);
    for (name, url) in [
        ("loop", format!("http://loop.{code}.makonis.test:{}/", loopback.port())),
        ("api", format!("http://api.{code}.makonis.test:{}/", api.port())),
        ("ok", format!("http://ok.{code}.makonis.test/")),
    ] {
        // These pass admission: they are the agency's own names.
        probes.create(&PostParams::default(), &probe(&t.run, name, Target::Url(url))).await.expect(name);
    }
    // A probe admission never judged (created by a cluster admin without the run's label,
    // as one predating the webhook or made while it was down) is held at run time too.
    let mut bypass = probe(&t.run, "bypass", Target::Url(format!("http://{api}/")));
    bypass.metadata.labels = None;
    Api::<Probe>::namespaced(t.admin.clone(), &namespace)
        .create(&PostParams::default(), &bypass)
        .await
        .expect("a probe outside the webhook's selector");

    let admin_probes: Api<Probe> = Api::namespaced(t.admin.clone(), &namespace);
    let confirmed = |name: &'static str, want: ProbeState| {
        let probes = admin_probes.clone();
        async move {
            let status = probes.get(name).await.map_err(|e| e.to_string())?.status.unwrap_or_default();
            match status.state {
                Some(state) if state == want => Ok(status.cause.unwrap_or_default()),
                other => Err(format!("{name}: {other:?}, cause {:?}", status.cause)),
            }
        }
    };
    wait_until("the routed probe to be up", CONVERGE, || confirmed("ok", ProbeState::Up)).await;
    let cause = wait_until("the loopback name to be refused", CONVERGE, || confirmed("loop", ProbeState::Down)).await;
    assert!(
        cause.contains(&format!(
            "`loop.{code}.makonis.test` resolves to 127.0.0.2, which is a loopback address: not connected"
        )),
        "{cause}"
    );
    let cause =
        wait_until("the API server's name to be refused", CONVERGE, || confirmed("api", ProbeState::Down)).await;
    assert!(cause.contains("resolves to 127.0.0.1, which is the Kubernetes API server's address"), "{cause}");
    let cause =
        wait_until("the unjudged probe to be refused", CONVERGE, || confirmed("bypass", ProbeState::Down)).await;
    assert!(cause.contains("127.0.0.1 is the Kubernetes API server's address"), "{cause}");

    // The refused targets were never connected to; the routed one was.
    assert_eq!(loopback_hits.load(Ordering::SeqCst), 0, "the loopback listener was reached");
    assert_eq!(api_hits.load(Ordering::SeqCst), 0, "the API server's address was reached");
    assert!(routed_hits.load(Ordering::SeqCst) > 0);
    let metrics = engine.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("makonis_slo_probe_results_total{") && l.contains("category=\"forbidden\"")),
        "{metrics}"
    );
    for name in ["loop", "api", "ok", "bypass"] {
        let _ = admin_probes.delete(name, &DeleteParams::default()).await;
    }
    engine.finish(&t.admin).await;
}
