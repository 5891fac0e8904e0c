#!/usr/bin/env bash
# Sets up and runs Mākonis locally: builds everything, starts the local Kubernetes control
# plane, installs the CRDs, RBAC and the catalog's webhook registration, starts the
# tenancy and catalog operators (each under its own ServiceAccount), creates the twelve
# demo agencies, publishes the sector's catalog, orders a few services and waits until
# they are Ready. Then it keeps the operators in the foreground; Ctrl-C stops them and the
# control plane (their data stays in target/cluster/dev for the next run).
#
# Usage: ./run.sh
# Environment: MAKONIS_CLUSTER_PORT (default 6443), MAKONIS_METRICS_ADDRESS (tenancy
#              operator, default 127.0.0.1:9464), MAKONIS_CATALOG_METRICS_ADDRESS
#              (default 127.0.0.1:9465), MAKONIS_LOG (default info). The catalog's
#              webhook listens on 127.0.0.1:9443, where manifests/local registers it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

tests/setup.sh
export MAKONIS_CLUSTER_DIR="target/cluster/dev"
export MAKONIS_CLUSTER_PORT="${MAKONIS_CLUSTER_PORT:-6443}"
metrics_address="${MAKONIS_METRICS_ADDRESS:-127.0.0.1:9464}"
catalog_metrics_address="${MAKONIS_CATALOG_METRICS_ADDRESS:-127.0.0.1:9465}"

step() { printf '\n==> %s\n' "$*"; }

step "building makonis"
cargo build --locked --bin makonis
makonis="$PWD/target/debug/makonis"

step "starting the local control plane"
tests/cluster/cluster.sh start
eval "$(tests/cluster/cluster.sh env)"

operator_pids=()
cleanup() {
    trap - EXIT INT TERM
    for pid in "${operator_pids[@]}"; do
        if kill -0 "$pid" 2> /dev/null; then
            kill -TERM "$pid" 2> /dev/null || true
            wait "$pid" 2> /dev/null || true
        fi
    done
    tests/cluster/cluster.sh stop
}
trap cleanup EXIT INT TERM

step "installing the CRDs, the platform namespace, RBAC and the catalog's webhook registration"
kubectl apply --server-side --force-conflicts -k manifests/local
kubectl wait --for=condition=Established --timeout=60s \
    crd/agencies.tenancy.makonis.lv crd/catalogitems.catalog.makonis.lv crd/serviceinstances.catalog.makonis.lv

# start_operator NAME SERVICE_ACCOUNT ARGS...: runs `makonis operator ARGS` in the
# background as the ServiceAccount makonis-system/SERVICE_ACCOUNT (a token from the
# TokenRequest API, never admin rights), logging to $MAKONIS_CLUSTER_DIR/NAME.log.
start_operator() {
    local name="$1" account="$2"
    shift 2
    local kubeconfig="$MAKONIS_CLUSTER_DIR/$name.kubeconfig"
    tests/cluster/cluster.sh sa-kubeconfig makonis-system "$account" "$kubeconfig"
    KUBECONFIG="$kubeconfig" "$makonis" operator "$@" > "$MAKONIS_CLUSTER_DIR/$name.log" 2>&1 &
    operator_pids+=("$!")
}

step "starting the tenancy operator as ServiceAccount makonis-system/makonis-tenancy-operator"
start_operator tenancy-operator makonis-tenancy-operator --controllers tenancy --metrics-address "$metrics_address"

step "starting the catalog operator as ServiceAccount makonis-system/makonis-catalog-operator"
start_operator catalog-operator makonis-catalog-operator --controllers catalog \
    --metrics-address "$catalog_metrics_address" --webhook-address 127.0.0.1:9443
printf 'waiting for the webhook to publish its CA bundle '
until [[ -n "$(kubectl get validatingwebhookconfiguration makonis-catalog \
    -o jsonpath='{.webhooks[0].clientConfig.caBundle}' 2> /dev/null)" ]]; do
    if ! kill -0 "${operator_pids[1]}" 2> /dev/null; then
        printf '\nthe catalog operator exited:\n'
        tail -20 "$MAKONIS_CLUSTER_DIR/catalog-operator.log"
        exit 1
    fi
    printf '.'
    sleep 0.5
done
echo " ok"

step "creating the twelve demo agencies"
kubectl apply --server-side -k manifests/examples/agencies
kubectl wait --for=condition=Ready --timeout=120s agency --all
kubectl get agencies

step "publishing the sector's catalog"
kubectl apply --server-side -f catalog/items/
kubectl get catalogitems

step "ordering demo services"
# Until kube-controller-manager's quota controller has discovered the ServiceInstance
# kind and counted each agency's instances (up to a minute or two after the CRD first
# appears), the API server refuses orders with "status unknown for quota"; retry until then.
printf 'waiting for the quota controller to count service instances '
for attempt in $(seq 1 360); do
    if out="$(kubectl apply --server-side -k manifests/examples/orders 2>&1)"; then
        printf ' ok\n%s\n' "$out"
        break
    fi
    if ! grep -q "status unknown for quota" <<< "$out" || ((attempt == 360)); then
        printf '\n%s\n' "$out"
        exit 1
    fi
    printf '.'
    sleep 0.5
done
kubectl wait --for=jsonpath='{.status.phase}'=Ready --timeout=180s -A serviceinstances --all
kubectl get serviceinstances -A

cat << EOF

Mākonis is running.
  In another terminal:   eval "\$(tests/cluster/cluster.sh env)"
                         kubectl get agencies                  # the twelve agencies
                         kubectl get catalogitems              # the sector's catalog
                         kubectl get si -A                     # ordered services and their phase
                         kubectl describe si -n agency-vdi atvertie-dati
                         kubectl get deploy,sts,svc,pvc,ingress -n agency-vdi -l makonis.lv/instance=atvertie-dati
  Order a service:       docs/agency-guide.md ("Ordering a service"); the catalog: docs/catalog/
  Operator metrics:      http://$metrics_address/metrics (tenancy), http://$catalog_metrics_address/metrics (catalog)
  Operator logs:         $MAKONIS_CLUSTER_DIR/tenancy-operator.log, $MAKONIS_CLUSTER_DIR/catalog-operator.log
  API server audit log:  $MAKONIS_CLUSTER_DIR/audit.log
  The self-service portal is not part of this release yet; services are ordered with kubectl.

Press Ctrl-C to stop the operators and the control plane.
EOF
wait -n "${operator_pids[@]}"
