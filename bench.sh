#!/usr/bin/env bash
# Benchmarks Mākonis with optimised builds: the portal under load (in-process, no cluster),
# then the catalog on a fresh local control plane of its own (target/cluster/bench).
# Prints the numbers; docs/benchmarks.md records them.
#
# Usage: ./bench.sh [portal|catalog]   (default: both)
# Environment: MAKONIS_BENCH_SECONDS (default 10, per route of the portal benchmark),
#              MAKONIS_BENCH_INSTANCES (default 1000), MAKONIS_BENCH_STEADY_SECONDS
#              (default 60), MAKONIS_BENCH_CLUSTER_PORT (default 18543).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

which="${1:-all}"
case "$which" in
    all | portal | catalog) ;;
    *) printf 'usage: ./bench.sh [portal|catalog]\n' >&2; exit 2 ;;
esac

tests/setup.sh
export MAKONIS_CLUSTER_DIR="target/cluster/bench"
export MAKONIS_CLUSTER_PORT="${MAKONIS_BENCH_CLUSTER_PORT:-18543}"

# The portal benchmark loads the portal with wrk (the Debian package).
if [[ "$which" != catalog ]] && ! command -v wrk > /dev/null; then
    if [[ "$EUID" -eq 0 ]] && command -v apt-get > /dev/null; then
        printf '==> installing wrk\n'
        apt-get install -y --no-install-recommends wrk > /dev/null \
            || { apt-get update > /dev/null && apt-get install -y --no-install-recommends wrk > /dev/null; } || true
    fi
    command -v wrk > /dev/null \
        || { printf 'bench.sh: the portal benchmark needs wrk: apt-get install wrk\n' >&2; exit 1; }
fi

printf '==> building (release)\n'
if [[ "$which" != portal ]]; then
    cargo build --locked --release --bin makonis
    cargo bench --locked --no-run --bench catalog_convergence
fi
if [[ "$which" != catalog ]]; then
    cargo bench --locked --no-run --bench portal_load
fi

# Before the control plane starts, so that nothing else competes for the cores.
if [[ "$which" != catalog ]]; then
    printf '==> portal under load\n'
    cargo bench --locked --bench portal_load
fi

if [[ "$which" != portal ]]; then
    printf '==> a fresh local control plane\n'
    # shellcheck source=tests/cluster/fresh.sh
    . tests/cluster/fresh.sh

    printf '==> catalog convergence\n'
    cargo bench --locked --bench catalog_convergence
fi
