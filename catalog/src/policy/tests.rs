//! The rules, one object at a time.

use serde_json::{Value, json};

use super::{Breach, Scope, check};
use crate::render::{PlatformVars, RenderedObject, allowed_kind};

fn object(yaml: &str) -> RenderedObject {
    let object: Value = serde_yaml_ng::from_str(yaml).expect("test YAML");
    let api_version = object["apiVersion"].as_str().unwrap();
    let kind = allowed_kind(api_version, object["kind"].as_str().unwrap()).expect("an allowed kind");
    let name = object["metadata"]["name"].as_str().unwrap().to_string();
    RenderedObject { template: "t".into(), kind, name, object }
}

fn domains() -> Vec<String> {
    vec!["vdi.apps.makonis.lv".into(), "vdi.gov.lv".into()]
}

/// The problems of `yaml` (one or more documents) rendered by instance `web`, which also
/// renders a Service `web`, a claim `web-data` and an Ingress `web`.
fn problems(yaml: &str) -> Vec<(Breach, String)> {
    let platform = PlatformVars::default();
    let domains = domains();
    let mut objects: Vec<RenderedObject> = yaml.split("\n---\n").map(object).collect();
    let mut all = objects.clone();
    all.push(object("apiVersion: v1\nkind: Service\nmetadata: {name: web}"));
    all.push(object("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: web-data}"));
    all.push(object("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}"));
    let scope = Scope::new("web", "agency-vdi", &platform, &domains, &["db".to_string()], &all);
    check(&mut objects, &scope).into_iter().map(|p| (p.breach, p.message)).collect()
}

fn assert_refused(yaml: &str, expected: &[&str]) {
    let found = problems(yaml);
    for needle in expected {
        assert!(found.iter().any(|(_, m)| m.contains(needle)), "expected `{needle}` in {found:#?}");
    }
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    metadata: {labels: {makonis.lv/instance: web}}
    spec:
      containers:
        - name: app
          image: registry.makonis.lv/app:1
          env:
            - {name: PASSWORD, valueFrom: {secretKeyRef: {name: web-credentials, key: password}}}
            - {name: DB, valueFrom: {secretKeyRef: {name: db-credentials, key: password}}}
      volumes:
        - {name: data, persistentVolumeClaim: {claimName: web-data}}
        - {name: tls, secret: {secretName: web-tls}}
        - {name: tmp, emptyDir: {}}";

#[test]
fn a_well_behaved_workload_passes_and_gets_the_restricted_settings() {
    assert_eq!(problems(DEPLOYMENT), []);
    let platform = PlatformVars::default();
    let domains = domains();
    let mut objects = vec![object(DEPLOYMENT)];
    let scope = Scope::new("web", "agency-vdi", &platform, &domains, &[], &[]);
    check(&mut objects, &scope);
    let pod = &objects[0].object["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"], json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}));
    assert_eq!(
        pod["containers"][0]["securityContext"],
        json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}})
    );
}

#[test]
fn workloads_may_not_reach_the_host_or_escalate() {
    let yaml = "apiVersion: batch/v1
kind: CronJob
metadata: {name: web}
spec:
  jobTemplate:
    spec:
      template:
        metadata:
          labels: {makonis.lv/instance: other}
          annotations: {container.apparmor.security.beta.kubernetes.io/app: unconfined}
        spec:
          hostNetwork: true
          hostPID: true
          hostIPC: true
          nodeName: node-1
          serviceAccountName: makonis-portal
          tolerations: [{operator: Exists}]
          securityContext: {runAsUser: 0, sysctls: [{name: kernel.core_pattern, value: x}]}
          volumes:
            - {name: root, hostPath: {path: /}}
            - {name: nfs, nfs: {server: x, path: /}}
          initContainers:
            - name: init
              image: x
              securityContext:
                privileged: true
                allowPrivilegeEscalation: true
                capabilities: {add: [SYS_ADMIN, NET_BIND_SERVICE]}
                seccompProfile: {type: Unconfined}
                procMount: Unmasked
              ports: [{containerPort: 80, hostPort: 80}]";
    assert_refused(
        yaml,
        &[
            "/spec/jobTemplate/spec/template/spec/hostNetwork: host namespaces",
            "/hostPID: host namespaces",
            "/hostIPC: host namespaces",
            "/nodeName: pods may not be pinned",
            "/serviceAccountName: service account `makonis-portal`",
            "/tolerations/0: pods may not tolerate",
            "/securityContext/runAsUser: containers may not run as root",
            "/sysctls/0: sysctl `kernel.core_pattern`",
            "/volumes/0/hostPath: `hostPath` volumes are not allowed",
            "/volumes/1/nfs: `nfs` volumes are not allowed",
            "/initContainers/0/securityContext/privileged: privileged",
            "/initContainers/0/securityContext/allowPrivilegeEscalation: privilege escalation",
            "/initContainers/0/securityContext/capabilities/add/0: containers may add NET_BIND_SERVICE only",
            "/initContainers/0/securityContext/seccompProfile: unconfined",
            "/initContainers/0/securityContext/procMount",
            "/initContainers/0/ports/0: host ports",
            "/metadata/labels/makonis.lv~1instance: pods of instance `web` may not claim instance `other`",
            "/metadata/annotations/container.apparmor.security.beta.kubernetes.io~1app: unconfined",
        ],
    );
    assert!(!problems(yaml).iter().any(|(_, m)| m.contains("capabilities/add/1")), "NET_BIND_SERVICE may be added");
}

#[test]
fn workloads_may_use_only_their_own_secrets_and_claims() {
    let yaml = "apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  template:
    spec:
      imagePullSecrets: [{name: registry}]
      containers:
        - name: app
          image: x
          envFrom: [{secretRef: {name: other-credentials}}]
          env: [{name: T, valueFrom: {secretKeyRef: {name: makonis-portal-token, key: token}}}]
      volumes:
        - {name: a, secret: {secretName: other-tls}}
        - {name: b, projected: {sources: [{secret: {name: other}}, {clusterTrustBundle: {name: x}}]}}
        - {name: c, persistentVolumeClaim: {claimName: other-data}}
  volumeClaimTemplates:
    - metadata: {name: data}
      spec: {volumeName: pv-of-another-agency, storageClassName: fast}";
    assert_refused(
        yaml,
        &[
            "/spec/template/spec/imagePullSecrets/0/name: Secret `registry` is not the instance's own (its own: db-credentials, web-credentials, web-tls)",
            "/containers/0/envFrom/0/secretRef/name: Secret `other-credentials`",
            "/containers/0/env/0/valueFrom/secretKeyRef/name: Secret `makonis-portal-token`",
            "/volumes/0/secret/secretName: Secret `other-tls`",
            "/volumes/1/projected/sources/0/secret/name: Secret `other`",
            "/volumes/1/projected/sources/1/clusterTrustBundle: projected `clusterTrustBundle`",
            "/volumes/2/persistentVolumeClaim/claimName: claim `other-data`",
            "/spec/volumeClaimTemplates/0/spec/volumeName: claims get new storage",
            "/spec/volumeClaimTemplates/0/spec/storageClassName: storage class `fast` is not the platform's",
        ],
    );
}

#[test]
fn services_stay_inside_the_cluster_and_select_their_own_pods() {
    let yaml = "apiVersion: v1
kind: Service
metadata: {name: web-evil}
spec:
  type: LoadBalancer
  externalIPs: [8.8.8.8]
  externalName: evil.example
  loadBalancerIP: 1.2.3.4
  clusterIP: 10.96.0.10
  selector: {app: db}
  ports: [{port: 53, nodePort: 30053}]";
    assert_refused(
        yaml,
        &[
            "Service `web-evil`: /spec/type: `LoadBalancer` Services are not allowed",
            "/spec/externalIPs: reaches outside",
            "/spec/externalName: reaches outside",
            "/spec/loadBalancerIP: reaches outside",
            "/spec/clusterIP: cluster IPs are assigned",
            "/spec/ports/0/nodePort: node ports",
            "/spec/selector: must select the instance's own pods only",
        ],
    );
    assert_eq!(
        problems(
            "apiVersion: v1\nkind: Service\nmetadata: {name: web-db}\nspec: {clusterIP: None, selector: {makonis.lv/instance: web}}"
        ),
        []
    );
}

#[test]
fn ingresses_use_the_platforms_class_issuer_and_the_agencys_names() {
    let yaml = "apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web-x
  annotations:
    cert-manager.io/cluster-issuer: public-ca
    cert-manager.io/common-name: bank.example
    nginx.ingress.kubernetes.io/server-snippet: 'location / { }'
    nginx.ingress.kubernetes.io/proxy-body-size: '1m; root /'
    external-dns.alpha.kubernetes.io/hostname: www.lm.gov.lv
spec:
  ingressClassName: internal
  defaultBackend: {service: {name: web, port: {number: 80}}}
  tls: [{hosts: [portal.lm.gov.lv, dms.vdi.gov.lv], secretName: web-tls}]
  rules:
    - host: portal.lm.gov.lv
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: other, port: {number: 80}}}}]}
    - http: {paths: [{path: /, pathType: Prefix, backend: {resource: {kind: Secret, name: x}}}]}";
    let found = problems(yaml);
    assert_refused(
        yaml,
        &[
            "/spec/ingressClassName: must be the platform's ingress class `nginx`",
            "/metadata/annotations/cert-manager.io~1cluster-issuer: must be the platform's issuer `makonis-ca`",
            "/metadata/annotations/cert-manager.io~1common-name: certificates and ingress classes",
            "/metadata/annotations/nginx.ingress.kubernetes.io~1server-snippet: not an annotation items may set",
            "/metadata/annotations/nginx.ingress.kubernetes.io~1proxy-body-size: the value may hold",
            "/metadata/annotations/external-dns.alpha.kubernetes.io~1hostname: external-dns",
            "/spec/defaultBackend",
            "/spec/rules/0/http/paths/0/backend/service/name: Service `other`",
            "/spec/rules/1/http/paths/0/backend/resource",
            "/spec/rules/1/host: every rule must name a host",
            "/spec/tls/0/secretName: must be `web-x-tls`",
        ],
    );
    let foreign: Vec<&String> = found.iter().filter(|(b, _)| *b == Breach::ForeignHost).map(|(_, m)| m).collect();
    assert_eq!(foreign.len(), 2, "{foreign:#?}");
    assert!(foreign[0].contains("/spec/rules/0/host: `portal.lm.gov.lv` is not one of the agency's host names"));
    assert!(foreign[1].contains("/spec/tls/0/hosts/0: `portal.lm.gov.lv`"));
}

#[test]
fn network_policies_cover_their_own_pods_and_admit_no_other_agency() {
    let yaml = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web}
spec:
  podSelector: {}
  ingress:
    - from:
        - ipBlock: {cidr: 0.0.0.0/0}
        - namespaceSelector: {}
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: agency-nva}}
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}
        - podSelector: {matchLabels: {app: x}}";
    let found = problems(yaml);
    assert_refused(
        yaml,
        &[
            "/spec/podSelector: must select the instance's own pods only",
            "/spec/ingress/0/from/0/ipBlock",
            "/spec/ingress/0/from/1/namespaceSelector",
            "/spec/ingress/0/from/2/namespaceSelector",
        ],
    );
    assert!(!found.iter().any(|(_, m)| m.contains("from/3") || m.contains("from/4")), "{found:#?}");
}

#[test]
fn machines_stay_in_the_platforms_pool_with_their_own_volumes() {
    let yaml = "apiVersion: compute.makonis.lv/v1alpha1
kind: VirtualMachine
metadata: {name: web}
spec:
  hostPool: other-pool
  disks: [{name: data, volume: other-data}]
  cloudInit: {userDataSecret: other-credentials}
---
apiVersion: compute.makonis.lv/v1alpha1
kind: Volume
metadata: {name: web-copy}
spec: {hostPool: local, source: {volume: other-data}}
---
apiVersion: compute.makonis.lv/v1alpha1
kind: BackupPolicy
metadata: {name: web}
spec:
  virtualMachineSelector: {matchLabels: {app: x}}
  target: {hostPool: local, host: elsewhere, storagePool: backup}";
    assert_refused(
        yaml,
        &[
            "VirtualMachine `web`: /spec/hostPool: must be the platform's host pool `local`",
            "/spec/disks/0/volume: Volume `other-data`",
            "/spec/cloudInit/userDataSecret: Secret `other-credentials`",
            "Volume `web-copy`: /spec/source/volume: Volume `other-data`",
            "BackupPolicy `web`: /spec/target/host: must be the platform's backup host `local`",
            "/spec/virtualMachineSelector: must select the instance's own",
        ],
    );
}

#[test]
fn a_directory_account_has_the_instances_own_name_and_secret() {
    let account = crate::names::directory_account_name("agency-vdi", "web");
    assert_eq!(account.len(), 20, "Active Directory's longest sAMAccountName");
    assert!(account.starts_with("svc-") && account[4..].chars().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(account, crate::names::directory_account_name("agency-lm", "web"), "each agency's own");
    let own = format!(
        "apiVersion: identity.makonis.lv/v1alpha1\nkind: DirectoryServiceAccount\nmetadata: {{name: web}}\nspec: {{username: {account}}}"
    );
    let reader = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web-reader}
spec:
  template:
    metadata: {labels: {makonis.lv/instance: web}}
    spec:
      containers:
        - name: app
          image: registry.makonis.lv/app:1
          env:
            - {name: BIND, valueFrom: {secretKeyRef: {name: web-directory, key: password}}}";
    assert_eq!(problems(&format!("{own}\n---\n{reader}")), [], "its workloads read its credentials");
    assert_refused(
        "apiVersion: identity.makonis.lv/v1alpha1\nkind: DirectoryServiceAccount\nmetadata: {name: web}\nspec: {username: administrator, secretName: web-credentials}",
        &[
            &format!("/spec/username: must be the instance's directory account `{account}`"),
            "/spec/secretName: must be left out",
        ],
    );
    assert_refused(reader, &["web-directory"]);
}
