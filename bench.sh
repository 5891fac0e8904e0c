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
# shellcheck source=tests/cluster/fresh.sh
. tests/cluster/fresh.sh

printf '==> catalog convergence\n'
cargo bench --locked --bench catalog_convergence
