#!/usr/bin/env bash
# Sets up and runs Mākonis locally: builds everything, starts the local Kubernetes control
# plane, installs the CRDs and RBAC, starts the operator under its own ServiceAccount,
# creates the twelve demo agencies and waits until they are Ready. Then it keeps the
# operator in the foreground; Ctrl-C stops the operator and the control plane (their data
# stays in target/cluster/dev for the next run).
#
# Usage: ./run.sh
# Environment: MAKONIS_CLUSTER_PORT (default 6443), MAKONIS_METRICS_ADDRESS
#              (default 127.0.0.1:9464), MAKONIS_LOG (default info).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

tests/setup.sh
export MAKONIS_CLUSTER_DIR="target/cluster/dev"
export MAKONIS_CLUSTER_PORT="${MAKONIS_CLUSTER_PORT:-6443}"
metrics_address="${MAKONIS_METRICS_ADDRESS:-127.0.0.1:9464}"

step() { printf '\n==> %s\n' "$*"; }

step "building makonis"
cargo build --locked --bin makonis
makonis="$PWD/target/debug/makonis"

step "starting the local control plane"
tests/cluster/cluster.sh start
eval "$(tests/cluster/cluster.sh env)"

operator_pid=""
cleanup() {
    trap - EXIT INT TERM
    if [[ -n "$operator_pid" ]] && kill -0 "$operator_pid" 2> /dev/null; then
        kill -TERM "$operator_pid" 2> /dev/null || true
        wait "$operator_pid" 2> /dev/null || true
    fi
    tests/cluster/cluster.sh stop
}
trap cleanup EXIT INT TERM

step "installing the CRDs, the platform namespace and RBAC"
kubectl apply --server-side --force-conflicts -k manifests/base
kubectl wait --for=condition=Established --timeout=60s crd/agencies.tenancy.makonis.lv

step "starting the operator as ServiceAccount makonis-system/makonis-tenancy-operator"
operator_kubeconfig="$MAKONIS_CLUSTER_DIR/operator.kubeconfig"
tests/cluster/cluster.sh sa-kubeconfig makonis-system makonis-tenancy-operator "$operator_kubeconfig"
KUBECONFIG="$operator_kubeconfig" "$makonis" operator --metrics-address "$metrics_address" \
    > "$MAKONIS_CLUSTER_DIR/operator.log" 2>&1 &
operator_pid=$!

step "creating the twelve demo agencies"
kubectl apply --server-side -k manifests/examples/agencies
kubectl wait --for=condition=Ready --timeout=120s agency --all
kubectl get agencies

cat << EOF

Mākonis is running.
  In another terminal:   eval "\$(tests/cluster/cluster.sh env)"
                         kubectl get agencies            # the twelve agencies
                         kubectl describe agency vdi     # conditions and Events
                         kubectl get ns,resourcequota,networkpolicy,rolebinding -n agency-vdi
                         kubectl explain agency.spec.quota
  Operator metrics:      http://$metrics_address/metrics   (health: /healthz, /readyz)
  Operator log:          $MAKONIS_CLUSTER_DIR/operator.log
  API server audit log:  $MAKONIS_CLUSTER_DIR/audit.log
  The self-service portal is not part of this release yet; agencies are managed with kubectl.

Press Ctrl-C to stop the operator and the control plane.
EOF
wait "$operator_pid"
