#!/usr/bin/env bash
# Runs every test of Mākonis: formatting, lints, the CRD and API-reference drift checks,
# unit tests, the integration tests against a real local Kubernetes control plane and
# real PostgreSQL, Samba AD and OpenLDAP servers and an unprivileged libvirt session
# running real QEMU guests (all started here from a clean state and stopped at the end),
# and the portal's tests in a real Chromium.
#
# Usage: ./test.sh [extra cargo test arguments, e.g. a test name]
# Environment: MAKONIS_TEST_CLUSTER_DIR (default target/cluster/test),
#              MAKONIS_TEST_CLUSTER_PORT (default 16443).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
started=$SECONDS
# A one-off build gains nothing from incremental caches, which would double the target's size.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

tests/setup.sh --tests

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

step "PostgreSQL, Samba AD and OpenLDAP for the portal's tests, a libvirt session for the compute tests"
stop_servers() {
    tests/db/postgres.sh stop || true
    tests/directory/samba.sh stop || true
    tests/directory/openldap.sh stop || true
    tests/compute/session.sh stop || true
}
trap 'stop_servers; tests/cluster/cluster.sh stop' EXIT
tests/db/postgres.sh stop
rm -rf target/db/postgres
tests/compute/session.sh stop
rm -rf target/compute/session
for server in tests/db/postgres.sh tests/directory/samba.sh tests/directory/openldap.sh tests/compute/session.sh; do
    "$server" start
    eval "$("$server" env)"
done

step "manifests render"
for overlay in manifests/base manifests/deploy manifests/local manifests/examples/agencies; do
    tests/cluster/cluster.sh kubectl kustomize "$overlay" > /dev/null
    echo "ok   $overlay"
done

step "unit and integration tests"
results="$cluster_dir/cargo-test.log"
cargo test --locked --workspace --no-fail-fast "$@" 2>&1 | tee "$results"
summary="$(awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed", p, f }' "$results")"
stop_servers
tests/cluster/cluster.sh stop
trap - EXIT

step "the portal in a real browser (its own control plane)"
tests/browser/run.sh 2>&1 | tee "$cluster_dir/browser.log"
browser="$(sed -n 's/^browser tests: //p' "$cluster_dir/browser.log" | tail -1)"

printf '\nFinished in %ss.\ntests: %s\nbrowser tests: %s\n' "$((SECONDS - started))" "$summary" "$browser"
