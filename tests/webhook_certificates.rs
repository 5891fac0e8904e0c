//! Two replicas of an operator serve one admission webhook from one shared certificate
//! Secret: started together on a Secret about to expire, one renews it and both serve the
//! new certificate, whose CA is the published `caBundle`; a certificate rotated in the
//! Secret is served by both without a restart and becomes the `caBundle`; the bundle
//! changes exactly once per certificate, never back and forth. The real API server calls
//! the webhook throughout.

mod support;

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex},
};

use futures::StreamExt;
use k8s_openapi::{
    ByteString,
    api::{
        admissionregistration::v1::ValidatingWebhookConfiguration,
        core::v1::Secret,
        rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject},
    },
    jiff::{SignedDuration, Timestamp},
};
use kube::{
    Api, Client,
    api::{ObjectMeta, PostParams},
    runtime::{WatchStreamExt, watcher},
};
use makonis_api::catalog::{CatalogItem, Template};
use makonis_operator_kit::webhook::tls::{TlsMaterial, generate, to_secret};
use rustls::{
    ClientConfig, RootCertStore,
    pki_types::{CertificateDer, ServerName, pem::PemObject},
};
use support::{
    CONVERGE,
    agencies::{TEST_LABEL, unique_id},
    catalog::{CATALOG_SERVICE_ACCOUNT, test_item},
    cluster::{OPERATOR_NAMESPACE, admin_client, install_platform, service_account_kubeconfig},
    operator::{OperatorOptions, OperatorProcess, free_local_address},
    wait_until,
    webhook::register_webhook,
};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

const HOSTS: [&str; 1] = ["127.0.0.1"];

fn hosts() -> Vec<String> {
    HOSTS.iter().map(|h| h.to_string()).collect()
}

/// Lets the catalog operator's ServiceAccount use the Secret `name` as it may use the
/// Secret of manifests/ (read, watch, replace; it may already create Secrets there).
async fn grant_secret(admin: &Client, name: &str) {
    let role = Role {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(OPERATOR_NAMESPACE.into()),
            ..Default::default()
        },
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["secrets".into()]),
            resource_names: Some(vec![name.into()]),
            verbs: ["get", "list", "watch", "update"].map(String::from).to_vec(),
            ..Default::default()
        }]),
    };
    let binding = RoleBinding {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(OPERATOR_NAMESPACE.into()),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "Role".into(),
            name: name.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: CATALOG_SERVICE_ACCOUNT.into(),
            namespace: Some(OPERATOR_NAMESPACE.into()),
            ..Default::default()
        }]),
    };
    Api::<Role>::namespaced(admin.clone(), OPERATOR_NAMESPACE).create(&PostParams::default(), &role).await.unwrap();
    Api::<RoleBinding>::namespaced(admin.clone(), OPERATOR_NAMESPACE)
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
}

/// The serving certificate a replica presents on `address`, verified against `ca_pem`
/// for 127.0.0.1 (as the API server verifies it against the `caBundle`).
async fn served_certificate(address: SocketAddr, ca_pem: &str) -> Result<Vec<u8>, String> {
    let mut roots = RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(ca.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    }
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(address).await.map_err(|e| e.to_string())?;
    let name = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into());
    let tls = TlsConnector::from(Arc::new(config)).connect(name, tcp).await.map_err(|e| format!("{address}: {e}"))?;
    Ok(tls.get_ref().1.peer_certificates().expect("a certificate")[0].to_vec())
}

fn leaf(pem: &str) -> Vec<u8> {
    CertificateDer::pem_slice_iter(pem.as_bytes()).next().expect("a certificate").unwrap().to_vec()
}

fn text(secret: &Secret, key: &str) -> String {
    String::from_utf8(secret.data.as_ref().unwrap()[key].0.clone()).unwrap()
}

/// Waits until both replicas serve the Secret's certificate and the registration's
/// `caBundle` is the Secret's `ca.crt`; returns the Secret.
async fn wait_settled(admin: &Client, secret: &str, configuration: &str, replicas: [SocketAddr; 2]) -> Secret {
    wait_until("both replicas to serve the shared certificate, its CA published", CONVERGE, || async {
        let stored = Api::<Secret>::namespaced(admin.clone(), OPERATOR_NAMESPACE)
            .get(secret)
            .await
            .map_err(|e| e.to_string())?;
        let (cert, ca) = (text(&stored, "tls.crt"), text(&stored, "ca.crt"));
        let registration = Api::<ValidatingWebhookConfiguration>::all(admin.clone())
            .get(configuration)
            .await
            .map_err(|e| e.to_string())?;
        for hook in registration.webhooks.iter().flatten() {
            if hook.client_config.ca_bundle.as_ref().map(|b| b.0.as_slice()) != Some(ca.as_bytes()) {
                return Err(format!("the caBundle of {} is not the Secret's ca.crt", hook.name));
            }
        }
        for replica in replicas {
            if served_certificate(replica, &ca).await? != leaf(&cert) {
                return Err(format!("{replica} serves another certificate than the Secret's"));
            }
        }
        Ok(stored)
    })
    .await
}

/// Asks the API server to create (dry run) a broken item of the run: the webhook must
/// be reached (over TLS, trusted through the `caBundle`) and refuse it.
async fn webhook_refuses_a_broken_item(admin: &Client, run: &str) {
    let mut item = test_item(&format!("broken-{run}"));
    item.metadata.labels = Some([(TEST_LABEL.to_string(), run.to_string())].into());
    item.spec.templates = vec![Template { name: "config".into(), template: "{{ unclosed".into() }];
    item.spec.retain_on_retire.clear();
    let params = PostParams { dry_run: true, ..Default::default() };
    let error = Api::<CatalogItem>::all(admin.clone()).create(&params, &item).await.expect_err("a broken item");
    let message = error.to_string();
    assert!(message.contains("denied the request") && message.contains("InvalidCatalogItem"), "{message}");
}

#[tokio::test]
async fn replicas_share_one_certificate_and_pick_up_a_rotated_one() {
    let admin = admin_client().await;
    install_platform(&admin).await;
    let run = unique_id();
    let (secret, configuration) = (format!("makonis-webhook-tls-{run}"), format!("makonis-catalog-{run}"));
    let replicas = [free_local_address(), free_local_address()];
    register_webhook(&admin, &run, &configuration, replicas[0].port(), "catalog-webhook.yaml", CATALOG_SERVICE_ACCOUNT)
        .await;
    grant_secret(&admin, &secret).await;
    // A certificate about to expire: both replicas will want to renew it at once.
    let expiring = generate(&hosts(), Timestamp::now() - SignedDuration::from_hours(24 * 340), None).unwrap();
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), OPERATOR_NAMESPACE);
    secrets.create(&PostParams::default(), &to_secret(&secret, OPERATOR_NAMESPACE, &expiring, None)).await.unwrap();

    // Every caBundle the registration ever has, in order.
    let bundles = Arc::new(Mutex::new(Vec::<Option<ByteString>>::new()));
    let config = watcher::Config::default().fields(&format!("metadata.name={configuration}"));
    let recorder = {
        let bundles = bundles.clone();
        let registrations = Api::<ValidatingWebhookConfiguration>::all(admin.clone());
        tokio::spawn(watcher(registrations, config).applied_objects().for_each(move |registration| {
            let bundle = registration.ok().and_then(|r| r.webhooks?.first()?.client_config.ca_bundle.clone());
            let mut seen = bundles.lock().unwrap();
            if seen.last() != Some(&bundle) {
                seen.push(bundle);
            }
            async {}
        }))
    };

    wait_until("the recorder to see the registration", CONVERGE, || async {
        if bundles.lock().unwrap().is_empty() { Err("nothing yet".to_string()) } else { Ok(()) }
    })
    .await;

    let kubeconfig = service_account_kubeconfig(&admin, OPERATOR_NAMESPACE, CATALOG_SERVICE_ACCOUNT).await;
    let spawn = |address: SocketAddr| {
        let args = [
            "--webhook-address".to_string(),
            address.to_string(),
            "--webhook-secret".to_string(),
            secret.clone(),
            "--webhook-configuration".to_string(),
            configuration.clone(),
            "--webhook-hosts".to_string(),
            HOSTS.join(","),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        OperatorProcess::spawn(OperatorOptions {
            kubeconfig: &kubeconfig,
            controllers: "catalog",
            run: &run,
            resync_seconds: 300,
            extra_args: &args,
        })
    };
    let (mut first, mut second) = (spawn(replicas[0]), spawn(replicas[1]));
    first.wait_ready().await;
    second.wait_ready().await;

    let renewed = wait_settled(&admin, &secret, &configuration, replicas).await;
    assert_ne!(text(&renewed, "tls.crt"), expiring.cert_pem, "the expiring certificate was renewed");
    assert!(text(&renewed, "ca.crt").contains(expiring.ca_pem.trim()), "the old CA stays trusted for the changeover");
    webhook_refuses_a_broken_item(&admin, &run).await;

    // The certificate is rotated in the Secret, as an administrator or another tool
    // would: both replicas serve it without a restart, and its CA is published.
    let rotated: TlsMaterial = generate(&hosts(), Timestamp::now(), None).unwrap();
    let mut replacement = to_secret(&secret, OPERATOR_NAMESPACE, &rotated, renewed.metadata.resource_version.clone());
    replacement.metadata.annotations = Some([("rotated-by".to_string(), "test".to_string())].into());
    secrets.replace(&secret, &PostParams::default(), &replacement).await.expect("rotate the certificate");
    let settled = wait_settled(&admin, &secret, &configuration, replicas).await;
    assert_eq!(text(&settled, "tls.crt"), rotated.cert_pem, "the rotated certificate is kept, not replaced");
    webhook_refuses_a_broken_item(&admin, &run).await;

    recorder.abort();
    let history = bundles.lock().unwrap().clone();
    let texts: Vec<String> = history
        .iter()
        .map(|b| b.as_ref().map(|b| String::from_utf8_lossy(&b.0).into_owned()).unwrap_or_default())
        .collect();
    assert_eq!(
        texts,
        ["".to_string(), text(&renewed, "ca.crt"), rotated.ca_pem.clone()],
        "the caBundle went from none to the renewed CA to the rotated one, never back"
    );
    for replica in [&mut first, &mut second] {
        assert!(replica.exit_status().is_none(), "a replica stopped: {}", replica.log());
    }
    first.stop().await;
    second.stop().await;
    Api::<ValidatingWebhookConfiguration>::all(admin.clone())
        .delete(&configuration, &Default::default())
        .await
        .unwrap();
}
