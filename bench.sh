#!/usr/bin/env bash
# Benchmarks Mākonis on a fresh local control plane of its own (target/cluster/bench),
# with optimised builds. Prints the numbers; docs/benchmarks.md records them.
#
# Usage: ./bench.sh
# Environment: MAKONIS_BENCH_INSTANCES (default 1000), MAKONIS_BENCH_STEADY_SECONDS
#              (default 60), MAKONIS_BENCH_CLUSTER_PORT (default 18543).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

tests/setup.sh
export MAKONIS_CLUSTER_DIR="target/cluster/bench"
export MAKONIS_CLUSTER_PORT="${MAKONIS_BENCH_CLUSTER_PORT:-18543}"

printf '==> building (release)\n'
cargo build --locked --release --bin makonis
cargo bench --locked --no-run --bench catalog_convergence

printf '==> a fresh local control plane\n'
tests/cluster/cluster.sh stop
rm -rf "$MAKONIS_CLUSTER_DIR"
trap 'tests/cluster/cluster.sh stop' EXIT
tests/cluster/cluster.sh start
cluster_dir="$(cd "$MAKONIS_CLUSTER_DIR" && pwd)"
export MAKONIS_TEST_KUBECONFIG="$cluster_dir/kubeconfig"
export MAKONIS_TEST_AUDIT_LOG="$cluster_dir/audit.log"

printf '==> catalog convergence\n'
cargo bench --locked --bench catalog_convergence
