# shellcheck shell=bash
# Sourced by test.sh and bench.sh: starts a control plane from a clean state in
# $MAKONIS_CLUSTER_DIR (on $MAKONIS_CLUSTER_PORT), stops it when the calling script exits,
# and exports what the Rust tests and benchmarks read: MAKONIS_TEST_KUBECONFIG and
# MAKONIS_TEST_AUDIT_LOG. Sets cluster_dir to the directory's absolute path.
tests/cluster/cluster.sh stop
rm -rf "$MAKONIS_CLUSTER_DIR"
trap 'tests/cluster/cluster.sh stop' EXIT
tests/cluster/cluster.sh start
cluster_dir="$(cd "$MAKONIS_CLUSTER_DIR" && pwd)"
export MAKONIS_TEST_KUBECONFIG="$cluster_dir/kubeconfig"
export MAKONIS_TEST_AUDIT_LOG="$cluster_dir/audit.log"
# The stand-in ingress of this cluster, for the SLO tests' probes; where its API server's
# audit webhook posts and the SIEM certificates, for the SIEM's tests.
eval "$(tests/cluster/cluster.sh env | grep -E '^export MAKONIS_CLUSTER_(INGRESS|SIEM_HTTPS|PKI)')"
