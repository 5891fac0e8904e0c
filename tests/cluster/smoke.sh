#!/usr/bin/env bash
# smoke.sh — check that a running local cluster (cluster.sh start) is the real thing:
# namespaces, version, namespace deletion (namespace controller), owner-reference
# garbage collection, ResourceQuota status (quota controller), PVC protection, the
# default ServiceAccount and kube-root-ca.crt, the audit log, a ServiceAccount
# kubeconfig whose rights come only from RBAC, and workloads on KWOK's simulated nodes
# (kube-scheduler + the workload controllers): Deployment, Service EndpointSlices,
# PodDisruptionBudget, Job, DaemonSet, StatefulSet, garbage collection of Pods,
# PV/PVC binding, the simulated volume provisioner (default StorageClass
# makonis-simulated: provisioning, expansion, StatefulSet volumeClaimTemplates,
# reclaim policies Delete and Retain), and the stand-in ingress (HTTPS on
# MAKONIS_CLUSTER_INGRESS: 200 with ready replicas, 503 scaled to 0, 404 unknown host).
#
# Usage: tests/cluster/smoke.sh     (same MAKONIS_CLUSTER_DIR / MAKONIS_CLUSTER_PORT /
#                                    MAKONIS_CLUSTER_INGRESS_PORT as cluster.sh; needs curl)
# Prints one line per check and a closing "N passed, N failed"; exits 1 if any failed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cluster="$here/cluster.sh"
eval "$("$cluster" env)"
: "${KUBECONFIG:?}"
ns="smoke-$$-$RANDOM"
work="$(mktemp -d)"
passed=0 failed=0

k() { "$cluster" kubectl "$@"; }
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$1"; }
check() { # check NAME COMMAND...
    local name="$1"
    shift
    if "$@" > "$work/out" 2>&1; then ok "$name"; else fail "$name"; sed 's/^/     /' "$work/out"; fi
}
# eventually SECONDS COMMAND...: retry COMMAND until it succeeds or SECONDS pass.
eventually() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}
kept_pv="" # the Retain volume of the provisioner checks, deleted by cleanup if still there
cleanup() {
    k delete namespace "$ns" "$ns-apps" "$ns-vol" --wait=false > /dev/null 2>&1 || true
    k delete clusterrolebinding "$ns-secrets" clusterrole/"$ns-secrets" > /dev/null 2>&1 || true
    k delete storageclass "$ns-retain" > /dev/null 2>&1 || true
    k delete persistentvolume "$ns-pv" --wait=false > /dev/null 2>&1 || true
    [[ -z "$kept_pv" ]] || k delete persistentvolume "$kept_pv" --wait=false > /dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

has_system_namespaces() {
    local out
    out="$(k get ns -o name)"
    for n in default kube-system kube-public kube-node-lease; do
        grep -qx "namespace/$n" <<< "$out" || { echo "missing namespace $n in: $out"; return 1; }
    done
}
check "kubectl get ns lists default, kube-system, kube-public, kube-node-lease" has_system_namespaces

want_version="$(awk '{ for (i = 1; i < NF; i++) if ($i == "k8s.io/kubernetes") { print $(i+1); exit } }' "$here/go.mod")"
version_matches() {
    local out
    out="$(k version)"
    echo "$out"
    grep -q "Client Version: $want_version\$" <<< "$out" && grep -q "Server Version: $want_version\$" <<< "$out"
}
check "kubectl version: client and server are $want_version" version_matches

k create namespace "$ns" > /dev/null
sa_exists() { k get serviceaccount default -n "$ns" > /dev/null 2>&1; }
check "serviceaccount controller: default ServiceAccount in a new namespace" eventually 60 sa_exists
rootca_exists() { k get configmap kube-root-ca.crt -n "$ns" > /dev/null 2>&1; }
check "root-ca publisher: kube-root-ca.crt ConfigMap in a new namespace" eventually 60 rootca_exists

# Namespace controller: a deleted namespace with content disappears.
k create namespace "$ns-gone" > /dev/null
k create configmap filler -n "$ns-gone" --from-literal=a=b > /dev/null
ns_gone() { ! k get namespace "$ns-gone" > /dev/null 2>&1; }
k delete namespace "$ns-gone" --wait=false > /dev/null
check "namespace controller: a deleted namespace is removed" eventually 90 ns_gone

# Garbage collector: a dependent of a deleted owner is deleted.
k create configmap owner -n "$ns" --from-literal=a=b > /dev/null
owner_uid="$(k get configmap owner -n "$ns" -o jsonpath='{.metadata.uid}')"
k apply -n "$ns" -f - > /dev/null <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: dependent
  ownerReferences:
  - apiVersion: v1
    kind: ConfigMap
    name: owner
    uid: $owner_uid
data: {a: b}
EOF
k delete configmap owner -n "$ns" > /dev/null
dependent_gone() { ! k get configmap dependent -n "$ns" > /dev/null 2>&1; }
check "garbage collector: dependent of a deleted owner is collected" eventually 90 dependent_gone

# ResourceQuota controller: status.used is filled.
k create quota q -n "$ns" --hard=configmaps=10,pods=5 > /dev/null
quota_used() { [[ -n "$(k get quota q -n "$ns" -o jsonpath='{.status.used.configmaps}')" ]]; }
check "resourcequota controller: status.used is filled" eventually 60 quota_used

# PVC protection: the admission plugin adds the finalizer, the controller removes it
# once no pod uses the claim, and the claim goes away.
k apply -n "$ns" -f - > /dev/null <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
EOF
pvc_finalizer() { [[ "$(k get pvc data -n "$ns" -o jsonpath='{.metadata.finalizers}')" == *kubernetes.io/pvc-protection* ]]; }
check "StorageObjectInUseProtection admission: PVC has the pvc-protection finalizer" pvc_finalizer
k delete pvc data -n "$ns" --wait=false > /dev/null
pvc_gone() { ! k get pvc data -n "$ns" > /dev/null 2>&1; }
check "pvc-protection controller: an unused PVC is deleted" eventually 60 pvc_gone

# Audit log: writes are logged (Metadata, JSON lines), reads are not.
k create configmap audited -n "$ns" --from-literal=a=b > /dev/null
k get configmap audited -n "$ns" > /dev/null
audit_has_create() {
    grep -F "\"namespace\":\"$ns\"" "$MAKONIS_CLUSTER_DIR/audit.log" | grep -F '"name":"audited"' | grep -F '"verb":"create"' | grep -qF '"level":"Metadata"'
}
audit_no_get() {
    ! grep -F "\"namespace\":\"$ns\"" "$MAKONIS_CLUSTER_DIR/audit.log" | grep -F '"name":"audited"' | grep -qF '"verb":"get"'
}
check "audit log: a create is logged at level Metadata" eventually 10 audit_has_create
check "audit log: a get is not logged" audit_no_get

# A ServiceAccount kubeconfig has exactly the rights RBAC gives it.
"$cluster" sa-kubeconfig "$ns" robot "$work/robot.kubeconfig" 2> /dev/null
mode_600() { [[ "$(stat -c %a "$work/robot.kubeconfig")" == 600 ]]; }
check "sa-kubeconfig writes the file with mode 0600" mode_600
can_i() { "$here/../../target/cluster/bin/kubectl" --kubeconfig "$work/robot.kubeconfig" auth can-i list secrets -A 2> /dev/null || true; }
whoami_is_sa() {
    "$here/../../target/cluster/bin/kubectl" --kubeconfig "$work/robot.kubeconfig" auth whoami -o jsonpath='{.status.userInfo.username}' | grep -qx "system:serviceaccount:$ns:robot"
}
check "sa-kubeconfig authenticates as system:serviceaccount:$ns:robot" whoami_is_sa
says() { [[ "$(can_i)" == "$1" ]]; }
check "ServiceAccount without a binding: can-i list secrets -A = no" says no
k create clusterrole "$ns-secrets" --verb=list --resource=secrets > /dev/null
k create clusterrolebinding "$ns-secrets" --clusterrole="$ns-secrets" --serviceaccount="$ns:robot" > /dev/null
check "ServiceAccount with a ClusterRoleBinding: can-i list secrets -A = yes" eventually 10 says yes
k delete clusterrolebinding "$ns-secrets" > /dev/null
check "binding removed: can-i list secrets -A = no again" eventually 10 says no

# Workloads: kube-scheduler binds Pods to KWOK's simulated nodes, KWOK reports them
# Running and Ready (no container runs, so the images need not exist), and the
# controllers do the rest.
kwok_nodes_ready() {
    local n
    for n in kwok-node-0 kwok-node-1; do
        [[ "$(k get node "$n" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]] \
            || { echo "node $n is not Ready"; return 1; }
        [[ -z "$(k get node "$n" -o jsonpath='{.spec.taints}')" ]] || { echo "node $n has taints"; return 1; }
    done
}
check "kwok: nodes kwok-node-0 and kwok-node-1 are Ready and untainted" kwok_nodes_ready

# A namespace of their own: the ResourceQuota above allows only 5 Pods in $ns.
apps="$ns-apps"
k create namespace "$apps" > /dev/null

k apply -n "$apps" -f - > /dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: registry.invalid/web:1, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: once, image: registry.invalid/once:1}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: registry.invalid/agent:1}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: registry.invalid/db:1}]
EOF
check "deployment+replicaset controllers, scheduler, kwok: a 2-replica Deployment becomes Available" \
    k rollout status deployment/web -n "$apps" --timeout=90s
web_pods_running() {
    local out
    out="$(k get pods -n "$apps" -l app=web -o jsonpath='{range .items[*]}{.metadata.name} {.status.phase} {.spec.nodeName} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')"
    echo "$out"
    [[ "$(grep -c . <<< "$out")" == 2 ]] || return 1
    ! grep -vqE '^[^ ]+ Running kwok-node-[0-9]+ True$' <<< "$out"
}
check "the Deployment's 2 Pods are Running and Ready on kwok nodes" eventually 30 web_pods_running
endpoints_ready() {
    local ips want
    ips="$(k get endpointslices -n "$apps" -l kubernetes.io/service-name=web \
        -o jsonpath='{range .items[*].endpoints[?(@.conditions.ready==true)]}{.addresses[0]}{"\n"}{end}' | sort)"
    want="$(k get pods -n "$apps" -l app=web -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}' | sort)"
    echo "ready endpoints: $ips; pod IPs: $want"
    [[ -n "$want" && "$ips" == "$want" ]]
}
check "endpointslice controller: the Service's EndpointSlice lists both Pod IPs as ready" eventually 30 endpoints_ready
pdb_status() {
    local out
    out="$(k get pdb web -n "$apps" -o jsonpath='{.status.expectedPods} {.status.currentHealthy} {.status.disruptionsAllowed}')"
    echo "expectedPods currentHealthy disruptionsAllowed: $out"
    [[ "$out" == "2 2 1" ]]
}
check "disruption controller: PodDisruptionBudget status (2 expected, 2 healthy, 1 disruption allowed)" eventually 30 pdb_status
check "job controller + kwok: a Job completes" k wait --for=condition=Complete job/once -n "$apps" --timeout=90s
check "daemonset controller: one Pod per kwok node, all ready" k rollout status daemonset/agent -n "$apps" --timeout=90s
check "statefulset controller: 2 replicas ready" k rollout status statefulset/db -n "$apps" --timeout=90s

# The stand-in ingress (in the supervisor): HTTPS on MAKONIS_CLUSTER_INGRESS with
# certificates of MAKONIS_CLUSTER_INGRESS_CA, answering for the hosts of Ingresses by
# the ready endpoints of their backend Service. Its own Deployment, so that scaling it
# to 0 leaves the checks above alone.
ingress_port="${MAKONIS_CLUSTER_INGRESS:?}"
ingress_port="${ingress_port##*:}"
ingress_host="$ns.test.apps.makonis.lv"
k apply -n "$apps" -f - > /dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: front}
spec:
  replicas: 1
  selector: {matchLabels: {app: front}}
  template:
    metadata: {labels: {app: front}}
    spec:
      containers: [{name: front, image: registry.invalid/front:1, ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: front}
spec:
  selector: {app: front}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: front}
spec:
  ingressClassName: nginx
  rules:
  - host: $ingress_host
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: front, port: {name: http}}}}
EOF
# answers URL CODE BODY [CURL ARGS...]: GET URL (verifying the certificate with the
# ingress CA) answers HTTP CODE with exactly BODY.
answers() {
    local url="$1" code="$2" body="$3" got
    shift 3
    got="$(curl -sS --max-time 5 --cacert "$MAKONIS_CLUSTER_INGRESS_CA" -o "$work/body" -w '%{http_code}' "$@" "$url")" || true
    echo "$url: HTTP $got: $(cat "$work/body" 2> /dev/null)"
    [[ "$got" == "$code" && "$(cat "$work/body" 2> /dev/null)" == "$body" ]]
}
at_host=(--resolve "$ingress_host:$ingress_port:127.0.0.1")
check "ingress: https://<Ingress host>/healthz answers 200 with the Deployment's ready replica (certificate for the host)" \
    eventually 30 answers "https://$ingress_host:$ingress_port/healthz" 200 \
    "ok: $apps/front (1 ready replica, simulated by the local control plane)" "${at_host[@]}"
k scale deployment front -n "$apps" --replicas=0 > /dev/null
check "ingress: the Deployment scaled to 0 answers 503" \
    eventually 30 answers "https://$ingress_host:$ingress_port/catalog.jsonld" 503 "no ready replicas behind $apps/front" "${at_host[@]}"
check "ingress: a host of no Ingress answers 404" \
    answers "https://nobody-$ns.test.apps.makonis.lv:$ingress_port/" 404 "no Ingress for host nobody-$ns.test.apps.makonis.lv" \
    --resolve "nobody-$ns.test.apps.makonis.lv:$ingress_port:127.0.0.1"
check "ingress: without SNI (https://127.0.0.1) the certificate is valid for 127.0.0.1" \
    answers "https://127.0.0.1:$ingress_port/" 404 "no Ingress for host 127.0.0.1"

# Garbage collection: deleting the Deployment removes its ReplicaSet and its Pods (the
# garbage collector deletes them; KWOK completes the graceful deletion, as a kubelet would).
web_pods="$(k get pods -n "$apps" -l app=web -o name)"
k delete deployment web -n "$apps" > /dev/null
web_gone() {
    local left
    left="$(k get replicasets,pods -n "$apps" -l app=web -o name)"
    echo "had: $web_pods; left: $left"
    [[ -n "$web_pods" && -z "$left" ]]
}
check "garbage collector + kwok: deleting the Deployment removes its ReplicaSet and Pods" eventually 60 web_gone

# Static PersistentVolumes: a PVC with storageClassName "" is never provisioned, but it
# binds to a matching PV.
k apply -f - > /dev/null <<EOF
apiVersion: v1
kind: PersistentVolume
metadata: {name: $ns-pv, labels: {smoke: $ns}}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: /nonexistent/$ns}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: bound, namespace: $ns}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  selector: {matchLabels: {smoke: $ns}}
  resources: {requests: {storage: 1Gi}}
EOF
pvc_bound() { [[ "$(k get pvc bound -n "$ns" -o jsonpath='{.status.phase}')" == Bound ]]; }
check "persistentvolume-binder controller: a PVC binds to a matching PV" eventually 30 pvc_bound
k delete pvc bound -n "$ns" --wait=false > /dev/null
k delete persistentvolume "$ns-pv" --wait=false > /dev/null
pv_gone() { ! k get persistentvolume "$ns-pv" > /dev/null 2>&1; }
check "pv-protection controller: the PV of a deleted claim can be deleted" eventually 60 pv_gone

# The simulated volume provisioner (child volume-provisioner) and StorageClass
# makonis-simulated, the default class. Nothing is stored: a volume is a PV object plus
# an empty directory DIR/volumes/<pv name>.
vol="$ns-vol"
volumes="$(realpath -s -m "$MAKONIS_CLUSTER_DIR/volumes")" # cleaned as Go's filepath.Abs does
class_is_default() {
    local out
    out="$(k get storageclass makonis-simulated -o jsonpath='{.metadata.annotations.storageclass\.kubernetes\.io/is-default-class} {.provisioner} {.volumeBindingMode} {.reclaimPolicy} {.allowVolumeExpansion}')"
    echo "$out"
    [[ "$out" == "true makonis.lv/simulated-volumes Immediate Delete true" ]]
}
check "StorageClass makonis-simulated: default, makonis.lv/simulated-volumes, Immediate, Delete, expandable" class_is_default
k create namespace "$vol" > /dev/null
k apply -f - > /dev/null <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: $ns-retain}
provisioner: makonis.lv/simulated-volumes
reclaimPolicy: Retain
volumeBindingMode: Immediate
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: claim, namespace: $vol}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: kept, namespace: $vol}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: $ns-retain
  resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: store, namespace: $vol}
spec:
  replicas: 1
  serviceName: store
  selector: {matchLabels: {app: store}}
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete, whenScaled: Retain}
  template:
    metadata: {labels: {app: store}}
    spec:
      containers:
      - name: store
        image: registry.invalid/store:1
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 512Mi}}
EOF
# claim_field CLAIM JSONPATH: fields of a claim in $vol.
claim_field() { k get pvc "$1" -n "$vol" -o jsonpath="$2"; }
claim_bound() { [[ "$(claim_field "$1" '{.status.phase}')" == Bound ]]; }
check "volume-provisioner + binder: a 1Gi PVC without storageClassName becomes Bound" eventually 60 claim_bound claim
claim_uid="$(claim_field claim '{.metadata.uid}')"
claim_pv="pvc-$claim_uid"
provisioned_pv() {
    local got want
    got="$(claim_field claim '{.spec.storageClassName} {.spec.volumeName} {.status.capacity.storage}')
$(k get pv "$claim_pv" -o jsonpath='{.spec.capacity.storage} {.spec.accessModes[*]} {.spec.claimRef.namespace}/{.spec.claimRef.name} {.spec.claimRef.uid} {.spec.storageClassName} {.spec.persistentVolumeReclaimPolicy} {.metadata.annotations.pv\.kubernetes\.io/provisioned-by} {.spec.hostPath.path}')"
    want="makonis-simulated $claim_pv 1Gi
1Gi ReadWriteOnce $vol/claim $claim_uid makonis-simulated Delete makonis.lv/simulated-volumes $volumes/$claim_pv"
    printf 'got:\n%s\nwant:\n%s\n' "$got" "$want"
    [[ "$got" == "$want" && -d "$volumes/$claim_pv" ]]
}
check "its PV pvc-<claim uid>: 1Gi, RWO, claimRef with the uid, Delete, provisioned-by, a directory" provisioned_pv
check "volume-provisioner: a claim of a Retain class becomes Bound" eventually 60 claim_bound kept
kept_pv="$(claim_field kept '{.spec.volumeName}')"

k patch pvc claim -n "$vol" -p '{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}' > /dev/null
expanded() {
    local got
    got="$(k get pv "$claim_pv" -o jsonpath='{.spec.capacity.storage}') $(claim_field claim '{.status.capacity.storage}')"
    echo "PV capacity, claim status.capacity: $got"
    [[ "$got" == "2Gi 2Gi" ]]
}
check "volume-provisioner: expanding the claim to 2Gi grows its PV and status.capacity" eventually 30 expanded

store_ready() {
    local got
    got="$(k get statefulset store -n "$vol" -o jsonpath='{.status.readyReplicas}') $(claim_field data-store-0 '{.status.phase}')"
    echo "readyReplicas, claim data-store-0: $got"
    [[ "$got" == "1 Bound" ]]
}
check "StatefulSet with a volumeClaimTemplate: data-store-0 Bound, readyReplicas 1" eventually 90 store_ready
store_pv="$(claim_field data-store-0 '{.spec.volumeName}')"

# Deleting the claims and the StatefulSet (whose retention policy deletes its claim)
# releases the volumes: the provisioner deletes those with reclaim policy Delete, and
# their directories, and keeps the Retain one.
k delete pvc claim kept -n "$vol" --wait=false > /dev/null
k delete statefulset store -n "$vol" --wait=false > /dev/null
volumes_gone() {
    local left="" pv
    for pv in "$claim_pv" "${store_pv:-no-volume-of-data-store-0}"; do
        if k get pv "$pv" > /dev/null 2>&1; then left+=" pv/$pv"; fi
        if [[ -e "$volumes/$pv" ]]; then left+=" $volumes/$pv"; fi
    done
    if k get pvc data-store-0 -n "$vol" > /dev/null 2>&1; then left+=" pvc/data-store-0"; fi
    echo "left:$left"
    [[ -z "$left" ]]
}
check "volume-provisioner: the PVs and directories of the deleted claim and StatefulSet are deleted" eventually 90 volumes_gone
kept_released() {
    local got
    got="$(k get pv "$kept_pv" -o jsonpath='{.status.phase} {.spec.persistentVolumeReclaimPolicy}')"
    echo "PV $kept_pv: $got"
    [[ "$got" == "Released Retain" && -d "$volumes/$kept_pv" ]]
}
check "reclaim policy Retain: the Released PV and its directory are kept" eventually 30 kept_released
k delete pv "$kept_pv" --wait=false > /dev/null
kept_gone() { ! k get pv "$kept_pv" > /dev/null 2>&1 && [[ ! -e "$volumes/$kept_pv" ]]; }
check "volume-provisioner: deleting a retained PV by hand removes its directory" eventually 30 kept_gone
k delete storageclass "$ns-retain" > /dev/null

echo "$passed passed, $failed failed"
((failed == 0))
