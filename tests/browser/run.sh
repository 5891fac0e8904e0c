#!/usr/bin/env bash
# Runs the portal's real-browser tests from nothing: installs the test dependencies (npm
# ci, into tests/browser/node_modules), builds target/debug/makonis if it is missing or
# older than its sources, starts a fresh local control plane in target/cluster/browser,
# brings up the operators, the twelve demo agencies, the catalog, a few demo services,
# the demo's directory and mail (as root: run.sh's demo person per agency with a mailbox;
# checked here: the ordered services' directory accounts sign in, and the printed commands
# send a mail that is read back over IMAP), the demo accounts and the portal, runs the tests in headless Chromium, and
# stops everything it started, however it ends.
#
# Usage: tests/browser/run.sh [ARGS...]   (ARGS go to `node --test`, e.g.
#        --test-name-pattern=keyboard)
# Needs: Chromium (/usr/bin/chromium: apt-get install chromium), Node 20 or newer with
#        npm, and what ./run.sh needs (Rust, Go). The catalog's webhook listens on
#        127.0.0.1:9443 (manifests/local registers it there), so only one platform at a
#        time can run on a machine; the script refuses to start if the port is taken.
# Ports: API server 127.0.0.1:16543, operators' metrics 127.0.0.1:19464 and :19465,
#        portal 127.0.0.1:18080 (its metrics 127.0.0.1:19468), identity and mail operators'
#        metrics 127.0.0.1:19470 and :19471; the demo's Samba AD DC 127.0.0.1:636, Postfix
#        :2525, Dovecot :9993 (run.sh's: one demo at a time).
# Prints, last: "browser tests: N passed, M failed"; exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../.."

started="$EPOCHREALTIME"
elapsed() { awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }'; }
step() { printf '\n==> [%ss] %s\n' "$(elapsed)" "$*"; }
die() {
    printf 'tests/browser/run.sh: %s\n' "$*" >&2
    exit 1
}

export MAKONIS_CLUSTER_DIR="target/cluster/browser"
export MAKONIS_CLUSTER_PORT=16543
export MAKONIS_CLUSTER_INGRESS_PORT=18743 # the default (port + 2000) is the benchmark's API server
tenancy_metrics=127.0.0.1:19464
catalog_metrics=127.0.0.1:19465
compute_metrics=127.0.0.1:19466
slo_metrics=127.0.0.1:19467
portal_address=127.0.0.1:18080
portal_metrics=127.0.0.1:19468
siem_metrics=127.0.0.1:19469
identity_metrics=127.0.0.1:19470
mail_metrics=127.0.0.1:19471
chromium="${MAKONIS_CHROMIUM:-/usr/bin/chromium}"

# shellcheck source=tests/platform.sh
. tests/platform.sh
test_pid="" cluster_started="" summary=""
# Everything this script started stops on every exit path; the summary line comes last.
on_exit() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n "$test_pid" ]] && kill -0 "$test_pid" 2> /dev/null; then
        kill -TERM "$test_pid" 2> /dev/null || true
        wait "$test_pid" 2> /dev/null || true
    fi
    platform_stop
    [[ -z "$cluster_started" ]] || tests/cluster/cluster.sh stop || true
    if [[ -z "$summary" ]]; then
        summary="browser tests: 0 passed, 1 failed"
        ((status != 0)) || status=1
    fi
    printf '%s\n' "$summary"
    exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "checking the tools"
[[ -x "$chromium" ]] || die "Chromium is missing ($chromium): apt-get install chromium"
command -v node > /dev/null || die "Node.js is missing: install Node 20 or newer (apt-get install nodejs npm)"
command -v npm > /dev/null || die "npm is missing: apt-get install npm"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 20)) || die "Node $(node --version) is too old: the tests need Node 20 or newer"
tests/cluster/cluster.sh stop 2> /dev/null # our own control plane, left by an interrupted run
for address in 127.0.0.1:9443 127.0.0.1:9444 127.0.0.1:9445 127.0.0.1:9446 "127.0.0.1:$MAKONIS_CLUSTER_PORT" "$tenancy_metrics" "$catalog_metrics" "$compute_metrics" "$slo_metrics" "$portal_address" "$portal_metrics" "$siem_metrics" "$identity_metrics" "$mail_metrics" 127.0.0.1:636 127.0.0.1:2525 127.0.0.1:9993 127.0.0.1:2424 127.0.0.1:12340 127.0.0.1:1601 127.0.0.1:2514 127.0.0.1:6514 "127.0.0.1:$MAKONIS_CLUSTER_INGRESS_PORT"; do
    if [[ -n "$(ss -Hltn "sport = :${address##*:}" 2> /dev/null)" ]]; then
        die "port ${address##*:} is in use (another Mākonis platform or test run?); stop it first"
    fi
done
printf 'chromium: %s; node %s\n' "$("$chromium" --version 2> /dev/null | head -1)" "$(node --version)"

step "installing the test dependencies (npm ci)"
lock_hash="$(sha256sum tests/browser/package-lock.json | cut -d' ' -f1)"
stamp="tests/browser/node_modules/.makonis-lock-sha256"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$lock_hash" ]]; then
    echo "up to date"
else
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
    printf '%s\n' "$lock_hash" > "$stamp"
fi

step "building makonis (if missing or older than its sources)"
makonis="$PWD/target/debug/makonis"
if [[ ! -x "$makonis" ]] ||
    [[ -n "$(find Cargo.toml Cargo.lock build.rs src crds catalog operators portal monitoring -type f -newer "$makonis" -print -quit)" ]]; then
    cargo build --locked --bin makonis
else
    echo "up to date ($makonis)"
fi

step "starting a fresh control plane in $MAKONIS_CLUSTER_DIR (port $MAKONIS_CLUSTER_PORT)"
tests/cluster/cluster.sh stop
rm -rf "$MAKONIS_CLUSTER_DIR"
cluster_started=1
tests/cluster/cluster.sh start
eval "$(tests/cluster/cluster.sh env)"

step "installing the platform and starting the operators"
platform_install
platform_operators "$tenancy_metrics" "$catalog_metrics" "$compute_metrics"
platform_slo "$slo_metrics"
platform_siem "$siem_metrics"
platform_detection_rules "$siem_metrics"
# A change to the cluster's rights that the pack alerts on, for the alerts' pages to work.
kubectl create clusterrolebinding makonis-browser-test-grant --clusterrole=view --user=browser-test-intruder \
    --dry-run=client -o yaml | kubectl apply --server-side -f -

step "creating the demo agencies and publishing the catalog"
platform_directory_possible || true
platform_agencies_and_catalog

step "ordering the demo services (waiting for the quota controller to count them)"
# Once the demo orders go through, the quota controller counts instances and the tests'
# own orders are admitted too.
platform_demo_orders || die "the demo orders were refused"
if [[ -n "$platform_directory_base" ]]; then
    step "the demo's directory and mail, and its printed mail commands"
    platform_directory "$identity_metrics"
    platform_mail "$mail_metrics"
    platform_demo_people
    platform_directory_check
    platform_mail_servers
    platform_mail_check lm
else
    printf '%s\n' "${platform_demo_notes[@]}"
fi

step "starting the portal on $portal_address with the demo accounts"
accounts="$MAKONIS_CLUSTER_DIR/demo-accounts.txt"
platform_demo_accounts "$accounts"
mapfile -t portal_siem_args < <(platform_portal_siem_args)
platform_portal "$portal_address" "$portal_metrics" "${portal_siem_args[@]}"

step "measuring the portal as the platform's own objective"
platform_slo_objective "$portal_address"

step "running the browser tests"
results="$MAKONIS_CLUSTER_DIR/browser-results.tap"
export MAKONIS_PORTAL_URL="http://$portal_address"
export MAKONIS_ACCOUNTS="$accounts" # an absolute path: `cluster.sh env` exports one
export MAKONIS_CHROMIUM="$chromium"
export MAKONIS_BROWSER_ARTIFACTS="$MAKONIS_CLUSTER_DIR/browser-artifacts"
set +e
(
    cd tests/browser
    # The whole run is bounded: a browser that hangs cannot keep the script waiting.
    exec timeout --signal=TERM --kill-after=30 1200 node --test --test-concurrency=1 \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$results" \
        "$@" ./*.test.mjs
) &
test_pid=$!
wait "$test_pid"
status=$?
test_pid=""
set -e

count() { sed -n "s/^# $1 \\([0-9]*\\)\$/\\1/p" "$results" 2> /dev/null | tail -1; }
passed="$(count pass)" failed="$(count fail)" cancelled="$(count cancelled)"
passed="${passed:-0}" failed="$((${failed:-0} + ${cancelled:-0}))"
if ((status != 0 && failed == 0)); then
    failed=1 # the runner itself failed (no summary, or a test file that did not load)
fi
step "stopping; logs in $MAKONIS_CLUSTER_DIR (portal.log, *-operator.log), screenshots of failures in $MAKONIS_BROWSER_ARTIFACTS"
summary="browser tests: $passed passed, $failed failed"
((failed == 0))
