#!/usr/bin/env bash
# Runs every test of Mākonis: formatting, lints, the CRD and API-reference drift checks,
# unit tests, and the integration tests against a real local Kubernetes control plane
# (started here from a clean state and stopped at the end).
#
# Usage: ./test.sh [extra cargo test arguments, e.g. a test name]
# Environment: MAKONIS_TEST_CLUSTER_DIR (default target/cluster/test),
#              MAKONIS_TEST_CLUSTER_PORT (default 16443).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
started=$SECONDS

tests/setup.sh

step() { printf '\n==> %s\n' "$*"; }

step "formatting"
cargo fmt --all -- --check
gofmt_out="$(gofmt -l tests/cluster)"
[[ -z "$gofmt_out" ]] || { echo "gofmt would change: $gofmt_out"; exit 1; }

step "lints"
cargo clippy --locked --workspace --all-targets -- -D warnings
(cd tests/cluster && go vet ./...)

step "local control plane"
export MAKONIS_CLUSTER_DIR="${MAKONIS_TEST_CLUSTER_DIR:-target/cluster/test}"
export MAKONIS_CLUSTER_PORT="${MAKONIS_TEST_CLUSTER_PORT:-16443}"
# shellcheck source=tests/cluster/fresh.sh
. tests/cluster/fresh.sh
tests/cluster/smoke.sh

step "manifests render"
for overlay in manifests/base manifests/deploy manifests/local manifests/examples/agencies; do
    tests/cluster/cluster.sh kubectl kustomize "$overlay" > /dev/null
    echo "ok   $overlay"
done

step "unit and integration tests"
results="$cluster_dir/cargo-test.log"
cargo test --locked --workspace "$@" 2>&1 | tee "$results"
summary="$(awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed", p, f }' "$results")"
tests/cluster/cluster.sh stop
trap - EXIT

printf '\nFinished in %ss.\ntests: %s\n' "$((SECONDS - started))" "$summary"
