#!/usr/bin/env bash
# Benchmarks Mākonis with optimised builds: the portal under load, the SLO engine (the
# monthly SLA report and probe throughput on one core) and the SIEM (parsing per core,
# beside rsyslog pinned to one core with taskset; syslog over TLS into its store), all
# in-process with no cluster,
# then the catalog and the compute operator on a fresh local control plane of their own
# (target/cluster/bench; the compute part also starts the test QEMU session daemon,
# tests/compute/session.sh), and the identity operator building a sector's directory in the
# test Samba AD domain controller (tests/directory/samba.sh). Prints the numbers;
# docs/benchmarks.md records them.
#
# Usage: ./bench.sh [portal|slo|siem|detect|catalog|compute|identity]   (default: all seven)
# Environment: MAKONIS_BENCH_SECONDS (default 10, per route of the portal benchmark),
#              MAKONIS_BENCH_SLO_SECONDS (default 10, per probe kind of the SLO benchmark),
#              MAKONIS_BENCH_SIEM_EVENTS (default 1000000, lines of the SIEM parse mix),
#              MAKONIS_BENCH_SIEM_INGEST_EVENTS (default 500000, lines sent over TLS),
#              MAKONIS_BENCH_SIEM_SEARCH_DAYS (default 8) and _PER_DAY (default 280000),
#              the store the SIEM search benchmark fills,
#              MAKONIS_BENCH_DETECT_EVENTS (default 300000) and _GROUPS (default 1000000),
#              the detection benchmark's lines and correlation group keys,
#              MAKONIS_BENCH_INSTANCES (default 1000), MAKONIS_BENCH_STEADY_SECONDS
#              (default 60), MAKONIS_BENCH_VMS (default 200), MAKONIS_BENCH_VM_TIMEOUT
#              (default 600 s), MAKONIS_BENCH_CLUSTER_PORT (default 18543),
#              MAKONIS_BENCH_DIRECTORY_USERS (default 3000) and _GROUPS (default 200).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

which="${1:-all}"
case "$which" in
    all | portal | slo | siem | detect | catalog | compute | identity) ;;
    *) printf 'usage: ./bench.sh [portal|slo|siem|detect|catalog|compute|identity]\n' >&2; exit 2 ;;
esac
# Whether a control plane is needed: not for the in-process benchmarks.
cluster=false
[[ "$which" == all || "$which" == catalog || "$which" == compute || "$which" == identity ]] && cluster=true

tests/setup.sh
export MAKONIS_CLUSTER_DIR="target/cluster/bench"
export MAKONIS_CLUSTER_PORT="${MAKONIS_BENCH_CLUSTER_PORT:-18543}"

# The portal benchmark loads the portal with wrk (the Debian package).
if [[ "$which" == all || "$which" == portal ]] && ! command -v wrk > /dev/null; then
    if [[ "$EUID" -eq 0 ]] && command -v apt-get > /dev/null; then
        printf '==> installing wrk\n'
        apt-get install -y --no-install-recommends wrk > /dev/null \
            || { apt-get update > /dev/null && apt-get install -y --no-install-recommends wrk > /dev/null; } || true
    fi
    command -v wrk > /dev/null \
        || { printf 'bench.sh: the portal benchmark needs wrk: apt-get install wrk\n' >&2; exit 1; }
fi

# The SIEM benchmark compares with rsyslog (the Debian package; its service is not started).
if [[ "$which" == all || "$which" == siem ]] && [[ ! -x /usr/sbin/rsyslogd ]]; then
    if [[ "$EUID" -eq 0 ]] && command -v apt-get > /dev/null; then
        printf '==> installing rsyslog\n'
        apt-get install -y --no-install-recommends rsyslog > /dev/null \
            || { apt-get update > /dev/null && apt-get install -y --no-install-recommends rsyslog > /dev/null; } || true
    fi
    [[ -x /usr/sbin/rsyslogd ]] \
        || { printf 'bench.sh: the SIEM benchmark needs rsyslog: apt-get install rsyslog\n' >&2; exit 1; }
fi

printf '==> building (release)\n'
if [[ "$cluster" == true ]]; then
    cargo build --locked --release --bin makonis
fi
if [[ "$which" == all || "$which" == catalog ]]; then
    cargo bench --locked --no-run --bench catalog_convergence
fi
if [[ "$which" == all || "$which" == compute ]]; then
    cargo bench --locked --no-run --bench compute_load
fi
if [[ "$which" == all || "$which" == identity ]]; then
    cargo bench --locked --no-run --bench identity_reconcile
fi
if [[ "$which" == all || "$which" == portal ]]; then
    cargo bench --locked --no-run --bench portal_load
fi
if [[ "$which" == all || "$which" == slo ]]; then
    cargo bench --locked --no-run --bench slo_engine
fi
if [[ "$which" == all || "$which" == siem ]]; then
    cargo bench --locked --no-run -p makonis-siem-core --bench parse
    cargo bench --locked --no-run -p makonis-siem --bench ingest
    cargo bench --locked --no-run -p makonis-siem --bench search
fi
if [[ "$which" == all || "$which" == detect ]]; then
    cargo bench --locked --no-run -p makonis-siem-detect --bench detect
    cargo bench --locked --no-run -p makonis-siem --bench alert_latency
fi

# Before the control plane starts, so that nothing else competes for the cores.
if [[ "$which" == all || "$which" == portal ]]; then
    printf '==> portal under load\n'
    cargo bench --locked --bench portal_load
fi
if [[ "$which" == all || "$which" == slo ]]; then
    printf '==> SLO engine: monthly report and probe throughput\n'
    cargo bench --locked --bench slo_engine
fi
if [[ "$which" == all || "$which" == siem ]]; then
    printf '==> SIEM: parse and normalise per core, beside rsyslog\n'
    # This process on core 0, rsyslogd (started by the benchmark) on core 1.
    taskset -c 0 cargo bench --locked -p makonis-siem-core --bench parse
    printf '==> SIEM: syslog over TLS into the hash-chained SQLite store\n'
    cargo bench --locked -p makonis-siem --bench ingest
    printf '==> SIEM: searching a store of the daily volume of 50 million events in 6 months\n'
    cargo bench --locked -p makonis-siem --bench search
fi
if [[ "$which" == all || "$which" == detect ]]; then
    printf '==> detection: Sigma rules and correlations per core, and correlation memory\n'
    cargo bench --locked -p makonis-siem-detect --bench detect
    printf '==> detection: alert latency from the socket under a steady 20,000 events/s\n'
    cargo bench --locked -p makonis-siem --bench alert_latency
fi

if [[ "$cluster" == true ]]; then
    printf '==> a fresh local control plane\n'
    # shellcheck source=tests/cluster/fresh.sh
    . tests/cluster/fresh.sh

    if [[ "$which" == all || "$which" == catalog ]]; then
        printf '==> catalog convergence\n'
        cargo bench --locked --bench catalog_convergence
    fi

    if [[ "$which" == all || "$which" == identity ]]; then
        printf '==> the test Samba AD domain controller\n'
        tests/directory/samba.sh start
        trap 'tests/directory/samba.sh stop || true; tests/cluster/cluster.sh stop' EXIT
        eval "$(tests/directory/samba.sh env)"
        printf '==> identity: 3,000 people and 200 groups of 12 agencies from nothing, then steady state\n'
        cargo bench --locked --bench identity_reconcile
        tests/directory/samba.sh stop
        trap 'tests/cluster/cluster.sh stop' EXIT
    fi

    if [[ "$which" == all || "$which" == compute ]]; then
        printf '==> the test QEMU session daemon\n'
        tests/compute/session.sh start
        # fresh.sh's trap stops the control plane; stop the session daemon as well.
        trap 'tests/compute/session.sh stop || true; tests/cluster/cluster.sh stop' EXIT
        eval "$(tests/compute/session.sh env)"

        printf '==> compute: placement and backup throughput\n'
        cargo bench --locked --bench compute_load
    fi
fi
