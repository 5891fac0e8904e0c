#!/usr/bin/env bash
# cluster.sh — build, start and stop Mākonis's local Kubernetes control plane
# (embedded etcd + real kube-apiserver, kube-controller-manager and kube-scheduler, plus
# KWOK's simulated nodes, a simulated volume provisioner and a stand-in HTTPS ingress,
# built from the upstream modules in this directory). See README.md next to this file.
#
# Usage: tests/cluster/cluster.sh COMMAND [ARGS...]
#   build                         build target/cluster/bin/{makonis-cluster,kubectl} (cached)
#   start                         build if needed, start the cluster for DIR, wait until ready
#   stop                          stop the cluster for DIR (no-op if none is running)
#   status                        say whether DIR's cluster runs (exit 0 ready, 1 starting, 3 stopped)
#                                 and list its components (child processes) with their pids
#   env                           print export lines: eval "$(tests/cluster/cluster.sh env)"
#   kubectl ARGS...               run the built kubectl against DIR's cluster
#   sa-kubeconfig NS SA OUTFILE   write a kubeconfig (mode 0600) that acts as ServiceAccount NS/SA
#
# Environment:
#   MAKONIS_CLUSTER_DIR            state directory (default <repo>/target/cluster/dev;
#                                  a relative path is taken relative to <repo>)
#   MAKONIS_CLUSTER_PORT           kube-apiserver port on 127.0.0.1 (default 6443)
#   MAKONIS_CLUSTER_INGRESS_PORT   stand-in ingress (HTTPS) port on 127.0.0.1
#                                  (default MAKONIS_CLUSTER_PORT + 2000, e.g. 8443)
#   (the API server's audit webhook posts to the SIEM intake at MAKONIS_CLUSTER_PORT + 1000)
#   MAKONIS_CLUSTER_START_TIMEOUT  seconds `start` waits for readiness (default 180)
#   MAKONIS_SA_TOKEN_DURATION      lifetime of sa-kubeconfig's token (default 24h)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin_dir="$repo/target/cluster/bin"
bin="$bin_dir/makonis-cluster"
kubectl_bin="$bin_dir/kubectl"

dir="${MAKONIS_CLUSTER_DIR:-$repo/target/cluster/dev}"
[[ "$dir" == /* ]] || dir="$repo/$dir"
port="${MAKONIS_CLUSTER_PORT:-6443}"
ingress_port="${MAKONIS_CLUSTER_INGRESS_PORT:-$((port + 2000))}" # the rule of ingress.go
start_timeout="${MAKONIS_CLUSTER_START_TIMEOUT:-180}"

kubeconfig="$dir/kubeconfig"
pid_file="$dir/cluster.pid"          # written by the supervisor once the cluster is ready
launch_pid_file="$dir/supervisor.pid" # written by `start` when it launches the supervisor

log() { printf 'cluster.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# elapsed START: seconds since START (an $EPOCHREALTIME value), one decimal.
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# k8s_version: the k8s.io/kubernetes version required by go.mod (e.g. v1.37.2).
k8s_version() {
    awk '{ for (i = 1; i < NF; i++) if ($i == "k8s.io/kubernetes" && $(i+1) ~ /^v1\./) { print $(i+1); exit } }' "$here/go.mod"
}

# ldflags: the version stamp, as upstream's hack/lib/version.sh sets it. The build date
# is the release time of the module (from the module cache), so builds are reproducible.
ldflags() {
    local version major minor info date="1970-01-01T00:00:00Z"
    version="$(k8s_version)"
    [[ "$version" =~ ^v([0-9]+)\.([0-9]+)\. ]] || die "cannot read the k8s.io/kubernetes version from $here/go.mod"
    major="${BASH_REMATCH[1]}" minor="${BASH_REMATCH[2]}"
    info="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/${version}.info"
    if [[ -f "$info" ]]; then
        date="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info")"
        date="${date:-1970-01-01T00:00:00Z}"
    fi
    local flags="-s -w" pkg key val
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        for key in gitVersion gitMajor gitMinor gitCommit gitTreeState buildDate; do
            case "$key" in
                gitVersion) val="$version" ;;
                gitMajor) val="$major" ;;
                gitMinor) val="$minor" ;;
                gitCommit) val="unknown" ;; # a module zip carries no commit id
                gitTreeState) val="clean" ;;
                buildDate) val="$date" ;;
            esac
            flags+=" -X $pkg.$key=$val"
        done
    done
    printf '%s\n' "$flags"
}

# stamp LDFLAGS: hash of everything the binary is built from.
stamp() {
    (
        cd "$here"
        go version
        printf '%s\n' "$1"
        for f in go.mod go.sum *.go; do
            printf '== %s\n' "$f"
            cat "$f"
        done
    ) | sha256sum | cut -d' ' -f1
}

cmd_build() {
    local flags want t0
    flags="$(ldflags)"
    want="$(stamp "$flags")"
    if [[ -x "$bin" && -f "$bin_dir/.stamp" && "$(cat "$bin_dir/.stamp")" == "$want" ]]; then
        ln -sfn makonis-cluster "$kubectl_bin"
        log "build: up to date ($bin)"
        return 0
    fi
    mkdir -p "$bin_dir"
    log "build: building $(k8s_version) control plane into $bin (the first build takes a long time)"
    t0="$EPOCHREALTIME"
    (
        cd "$here"
        CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "$flags" -o "$bin.tmp" .
    )
    mv -f "$bin.tmp" "$bin"
    ln -sfn makonis-cluster "$kubectl_bin"
    printf '%s\n' "$want" > "$bin_dir/.stamp"
    log "build: done in $(elapsed "$t0")s"
}

# running PID: the process exists and is not a zombie.
running() {
    local pid="$1" state
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/stat" ]] || return 1
    state="$(sed 's/^.*) \(.\).*/\1/' "/proc/$pid/stat" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != Z ]]
}

# alive PID: running, and a makonis-cluster supervisor (a pid file may be stale and its
# pid reused by something else).
alive() {
    running "$1" || return 1
    tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q 'makonis-cluster run'
}

# supervisor_pid: print the pid of DIR's running supervisor, fail if there is none.
supervisor_pid() {
    local f pid
    for f in "$pid_file" "$launch_pid_file"; do
        [[ -f "$f" ]] || continue
        pid="$(tr -dc '0-9' < "$f")"
        if alive "$pid"; then
            printf '%s\n' "$pid"
            return 0
        fi
    done
    return 1
}

# ready: the supervisor reported ready and the API server answers /readyz with ok.
ready() {
    [[ -f "$pid_file" && -f "$kubeconfig" && -x "$bin" ]] || return 1
    supervisor_pid > /dev/null || return 1
    [[ "$(KUBECONFIG="$kubeconfig" "$kubectl_bin" get --raw /readyz --request-timeout=5s 2>/dev/null)" == ok ]]
}

# ingress_addr: 127.0.0.1:PORT of the stand-in ingress: as the running supervisor logged
# it (it may have been started with another MAKONIS_CLUSTER_INGRESS_PORT), else the
# port this script would start it on.
ingress_addr() {
    local addr=""
    if supervisor_pid > /dev/null; then
        addr="$(sed -n 's|.* makonis-cluster: ingress started in the supervisor: https://\([0-9.:]*\),.*|\1|p' "$dir/supervisor.log" 2>/dev/null | tail -n 1)"
    fi
    printf '%s\n' "${addr:-127.0.0.1:$ingress_port}"
}

print_logs() {
    local f
    for f in supervisor.log apiserver.log controller-manager.log scheduler.log kwok.log volume-provisioner.log etcd.log; do
        [[ -s "$dir/$f" ]] || continue
        printf '\n===== tail of %s =====\n' "$dir/$f" >&2
        tail -n 40 "$dir/$f" >&2
    done
}

print_usage_hint() {
    local addr
    addr="$(ingress_addr)"
    cat <<EOF
Use it:
  export KUBECONFIG=$kubeconfig
  export PATH=$bin_dir:\$PATH
  kubectl get ns
(or: eval "\$($here/cluster.sh env)")
Ingress:   https://$addr for every Ingress host (CA $dir/ingress-ca.pem), e.g.
  curl --cacert $dir/ingress-ca.pem --resolve HOST:${addr##*:}:127.0.0.1 https://HOST:${addr##*:}/
Audit log: $dir/audit.log   Logs: $dir/{supervisor,apiserver,controller-manager,scheduler,kwok,volume-provisioner,etcd}.log
Stop it:   $here/cluster.sh stop
EOF
}

# wait_stopped PID SECONDS: poll until PID has exited; fail on timeout.
wait_stopped() {
    local pid="$1" deadline=$((SECONDS + $2))
    while running "$pid"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# stop_pid PID: SIGTERM, wait, then SIGKILL its process group.
stop_pid() {
    local pid="$1"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_stopped "$pid" 40; then
        log "stop: supervisor $pid still running after 40s; killing its process group"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        wait_stopped "$pid" 10 || die "stop: could not kill $pid"
    fi
    # Best effort: give init a moment to reap the exited supervisor, so that a
    # `pgrep makonis-cluster` right after stop does not list a <defunct> entry.
    local deadline=$((SECONDS + 5))
    while [[ -e "/proc/$pid" ]] && ((SECONDS < deadline)); do sleep 0.1; done
}

cmd_start() {
    local t0 pid
    t0="$EPOCHREALTIME"
    cmd_build
    mkdir -p "$dir"
    if ready; then
        log "start: already running and ready for $dir (pid $(supervisor_pid), port ${port})"
        print_usage_hint
        return 0
    fi
    if pid="$(supervisor_pid)"; then
        log "start: a supervisor (pid $pid) is already starting for $dir; waiting for it"
    else
        rm -f "$pid_file" "$launch_pid_file"
        log "start: starting the cluster in $dir on 127.0.0.1:$port (ingress 127.0.0.1:$ingress_port)"
        setsid nohup "$bin" run --dir "$dir" --port "$port" --ingress-port "$ingress_port" > "$dir/supervisor.log" 2>&1 < /dev/null &
        pid=$!
        printf '%s\n' "$pid" > "$launch_pid_file"
    fi
    local deadline=$((SECONDS + start_timeout))
    until ready; do
        if ! running "$pid"; then
            print_logs
            die "start: the supervisor exited before the cluster was ready (see $dir/supervisor.log)"
        fi
        if ((SECONDS >= deadline)); then
            print_logs
            log "start: not ready after ${start_timeout}s; stopping it"
            stop_pid "$pid"
            exit 1
        fi
        sleep 0.5
    done
    log "start: ready in $(elapsed "$t0")s (pid $pid)"
    print_usage_hint
}

cmd_stop() {
    local pid
    if ! pid="$(supervisor_pid)"; then
        log "stop: no cluster running for $dir"
        rm -f "$launch_pid_file"
        return 0
    fi
    log "stop: stopping supervisor $pid ($dir)"
    stop_pid "$pid"
    rm -f "$launch_pid_file"
    log "stop: stopped"
}

# components PID: one line per child process of supervisor PID: its component name and
# pid, and for the volume provisioner whether it has reported ready; then the
# ingress, which runs inside the supervisor itself (as etcd does, which is not listed).
components() {
    local cpid sub name note
    # shellcheck disable=SC2034 # exe: the binary's path, not needed
    while read -r cpid exe sub _; do
        case "$sub" in
            apiserver) name=kube-apiserver ;;
            controller-manager) name=kube-controller-manager ;;
            scheduler) name=kube-scheduler ;;
            *) name="$sub" ;;
        esac
        note=""
        if [[ "$sub" == volume-provisioner ]]; then
            if [[ -f "$dir/volume-provisioner.ready" ]]; then
                note=" (ready; StorageClass makonis-simulated, volumes in $dir/volumes)"
            else
                note=" (not ready yet)"
            fi
        fi
        printf '  %-24s pid %s%s\n' "$name" "$cpid" "$note"
    done < <(ps --ppid "$1" -o pid=,args= 2>/dev/null)
    if grep -q ' makonis-cluster: ingress ready' "$dir/supervisor.log" 2>/dev/null; then
        note="ready; https://$(ingress_addr), CA $dir/ingress-ca.pem"
    else
        note="not ready yet; https://$(ingress_addr)"
    fi
    printf '  %-24s in the supervisor (%s)\n' ingress "$note"
}

cmd_status() {
    local pid
    if ! pid="$(supervisor_pid)"; then
        echo "stopped: no cluster running for $dir"
        return 3
    fi
    if ready; then
        echo "ready: pid $pid, dir $dir, KUBECONFIG=$kubeconfig, $("$kubectl_bin" --kubeconfig "$kubeconfig" config view -o jsonpath='{.clusters[0].cluster.server}')"
        components "$pid"
        return 0
    fi
    echo "starting: pid $pid, dir $dir (not ready yet)"
    components "$pid"
    return 1
}

cmd_env() {
    printf 'export KUBECONFIG=%q\n' "$kubeconfig"
    # shellcheck disable=SC2016 # $PATH is for the shell that evals this line
    printf 'export PATH=%q:"$PATH"\n' "$bin_dir"
    printf 'export MAKONIS_CLUSTER_DIR=%q\n' "$dir"
    printf 'export MAKONIS_CLUSTER_PORT=%q\n' "$port"
    printf 'export MAKONIS_CLUSTER_INGRESS=%q\n' "$(ingress_addr)"
    printf 'export MAKONIS_CLUSTER_INGRESS_CA=%q\n' "$dir/ingress-ca.pem"
    # Where the API server's audit webhook posts (the rule of audit.go), and the PKI
    # directory with the SIEM intake's certificates (siem-*).
    printf 'export MAKONIS_CLUSTER_SIEM_HTTPS=%q\n' "127.0.0.1:$((port + 1000))"
    printf 'export MAKONIS_CLUSTER_PKI=%q\n' "$dir/pki"
}

cmd_kubectl() {
    [[ -x "$kubectl_bin" ]] || cmd_build
    [[ -f "$kubeconfig" ]] || die "kubectl: no cluster running for $dir (run: $here/cluster.sh start)"
    KUBECONFIG="$kubeconfig" exec "$kubectl_bin" "$@"
}

# sa-kubeconfig NS SA OUTFILE: create ServiceAccount NS/SA if missing, request a token
# for it (TokenRequest API), and write a kubeconfig with that token and the cluster CA.
# The token never appears on a command line or on the terminal.
cmd_sa_kubeconfig() {
    (($# == 3)) || die "usage: cluster.sh sa-kubeconfig NAMESPACE SERVICEACCOUNT OUTFILE"
    local ns="$1" sa="$2" out="$3" duration="${MAKONIS_SA_TOKEN_DURATION:-24h}"
    [[ -f "$kubeconfig" ]] || die "sa-kubeconfig: no cluster running for $dir"
    local k=("$kubectl_bin" --kubeconfig "$kubeconfig")
    if ! "${k[@]}" get serviceaccount "$sa" -n "$ns" > /dev/null 2>&1; then
        "${k[@]}" create serviceaccount "$sa" -n "$ns" > /dev/null
    fi
    local token server ca
    token="$("${k[@]}" create token "$sa" -n "$ns" --duration="$duration")"
    server="$("${k[@]}" config view -o jsonpath='{.clusters[0].cluster.server}')"
    ca="$(base64 -w0 < "$dir/pki/ca.crt")"
    local user="system:serviceaccount:$ns:$sa" context="$ns-$sa@makonis-local" tmp
    tmp="$(mktemp "$(dirname "$out")/.sa-kubeconfig.XXXXXX")"
    chmod 600 "$tmp"
    cat > "$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: makonis-local
  cluster:
    server: $server
    certificate-authority-data: $ca
users:
- name: "$user"
  user:
    token: $token
contexts:
- name: "$context"
  context:
    cluster: makonis-local
    user: "$user"
    namespace: "$ns"
current-context: "$context"
EOF
    mv -f "$tmp" "$out"
    log "sa-kubeconfig: wrote $out (ServiceAccount $ns/$sa, token valid $duration)"
}

main() {
    local cmd="${1:-}"
    (($#)) && shift
    case "$cmd" in
        build) cmd_build "$@" ;;
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        status) cmd_status "$@" ;;
        env) cmd_env "$@" ;;
        kubectl) cmd_kubectl "$@" ;;
        sa-kubeconfig) cmd_sa_kubeconfig "$@" ;;
        -h | --help | help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' ;;
        *)
            sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
            exit 2
            ;;
    esac
}

main "$@"
