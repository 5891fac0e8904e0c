#!/usr/bin/env bash
# session.sh — a private, unprivileged libvirt QEMU session daemon for the compute operator's
# hypervisor tests: libvirtd runs as the system user makonis-vm (so every QEMU it starts runs
# as that user, never as root), listens only on a UNIX socket in the state directory, and has
# directory storage pools "makonis" (disks) and "makonis-backup" (backups). Root (the tests, the operator) connects with
# qemu+unix:///session?socket=<state>/run/libvirt/libvirt-sock.
#
# Usage: tests/compute/session.sh start|stop|env
#   start   create the user makonis-vm if missing, start libvirtd in session mode as that
#           user in the background, wait until its socket answers, and create and start the
#           storage pools "makonis" and "makonis-backup" (directories owned by makonis-vm)
#   stop    destroy the running guests, SIGTERM libvirtd, and wait until it and every QEMU
#           it spawned have exited (no-op if nothing runs)
#   env     print export lines for the tests: eval "$(tests/compute/session.sh env)"
#
# State lives in target/compute/session (relative to the repository root, which is two levels
# above this script; MAKONIS_REPO overrides it). Needs the Debian packages libvirt-daemon,
# libvirt-clients, qemu-system-x86 and qemu-utils.
set -euo pipefail

name=session.sh
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="${MAKONIS_REPO:-$(cd "$here/../.." && pwd)}"
PATH="$PATH:/usr/sbin:/sbin"

user=makonis-vm
home=/var/lib/makonis-vm
dir="$repo/target/compute/session"
socket="$dir/run/libvirt/libvirt-sock"
pid_file="$dir/run/libvirt/libvirtd.pid"
qemu_pid_dir="$dir/run/libvirt/qemu/run"
log_file="$dir/libvirtd.log"
uri="qemu+unix:///session?socket=$socket"
pool=makonis
backup_pool=makonis-backup

log() { printf '%s: %s\n' "$name" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# need BINARY PACKAGE: fail with a hint when BINARY is not on PATH (sbin included).
need() {
    command -v "$1" > /dev/null 2>&1 || die "'$1' is missing: install the Debian package '$2' (apt-get install -y $2)"
}

# running PIDFILE: true when PIDFILE names a live process.
running() {
    [[ -s "$1" ]] && kill -0 "$(< "$1")" 2> /dev/null
}

# as_user COMMAND...: COMMAND as makonis-vm with the session daemon's environment.
as_user() {
    runuser -u "$user" -- env XDG_RUNTIME_DIR="$dir/run" XDG_CONFIG_HOME="$dir/config" \
        XDG_CACHE_HOME="$dir/cache" HOME="$home" "$@"
}

# answers: the daemon answers on its socket (as root, the way the tests connect).
answers() {
    virsh -c "$uri" version > /dev/null 2>&1
}

# wait_gone PID SECONDS WHAT: wait until PID has exited; fail after SECONDS.
wait_gone() {
    local deadline=$((SECONDS + $2))
    while kill -0 "$1" 2> /dev/null; do
        ((SECONDS < deadline)) || die "$3 (pid $1) did not exit within $2 s"
        sleep 0.1
    done
}

ensure_user() {
    id -u "$user" > /dev/null 2>&1 && return 0
    useradd --system --create-home --home-dir "$home" --shell /usr/sbin/nologin \
        --comment "Makonis test QEMU session" "$user" || die "could not create the user $user"
    log "created the system user $user"
}

# prepare: private runtime, configuration and cache directories (0700, owned by the user) and
# a qemu.conf that logs guest output to files (no virtlogd to spawn and clean up).
prepare() {
    mkdir -p "$dir"
    local parent="$dir"
    while [[ "$parent" != / ]]; do
        runuser -u "$user" -- test -x "$parent" \
            || die "$user cannot enter $parent; make it world-searchable (chmod o+x) or set MAKONIS_REPO elsewhere"
        parent="$(dirname "$parent")"
    done
    mkdir -p "$dir"
    local sub
    for sub in run config cache pools; do
        install -d -o "$user" -g "$user" -m 0700 "$dir/$sub"
    done
    as_user mkdir -p "$dir/config/libvirt"
    printf '%s\n' '# written by session.sh: guest console output goes to files, no virtlogd' \
        'stdio_handler = "file"' | as_user tee "$dir/config/libvirt/qemu.conf" > /dev/null
}

# ensure_pool NAME: a running directory storage pool NAME under $dir/pools.
ensure_pool() {
    local pool_name="$1" target="$dir/pools/$1"
    if ! virsh -c "$uri" pool-info "$pool_name" > /dev/null 2>&1; then
        virsh -c "$uri" pool-define-as "$pool_name" dir --target "$target" > /dev/null \
            || die "could not define the storage pool $pool_name at $target"
        virsh -c "$uri" pool-build "$pool_name" > /dev/null || die "could not build the storage pool $pool_name"
        virsh -c "$uri" pool-autostart "$pool_name" > /dev/null
        log "defined the storage pool $pool_name at $target"
    fi
    if [[ "$(virsh -c "$uri" pool-info "$pool_name" | awk '/^State:/ { print $2 }')" != running ]]; then
        virsh -c "$uri" pool-start "$pool_name" > /dev/null || die "could not start the storage pool $pool_name"
    fi
}

# ensure_pools: the pool for disks ("makonis") and the one for backups ("makonis-backup").
ensure_pools() {
    ensure_pool "$pool"
    ensure_pool "$backup_pool"
}

start() {
    need libvirtd libvirt-daemon
    need virsh libvirt-clients
    need qemu-system-x86_64 qemu-system-x86
    need qemu-img qemu-utils
    need runuser util-linux
    ensure_user
    if running "$pid_file"; then
        log "libvirtd is already running (pid $(< "$pid_file"))"
        ensure_pools
        return 0
    fi
    prepare
    rm -f "$pid_file"
    # As a non-root user libvirtd is a session daemon: its socket, state and config follow the
    # XDG variables. --timeout 0: never exit for idleness. Started from / so the user's cwd is
    # readable. The daemon writes its own pid file ($pid_file).
    (cd / && as_user libvirtd --timeout 0 < /dev/null > "$log_file" 2>&1) &
    local job=$! deadline=$((SECONDS + 60))
    until answers; do
        if ! kill -0 "$job" 2> /dev/null; then
            tail -n 20 "$log_file" >&2 || true
            die "libvirtd exited while starting (log: $log_file)"
        fi
        ((SECONDS < deadline)) || die "libvirtd did not answer on $socket within 60 s (log: $log_file)"
        sleep 0.2
    done
    ensure_pools
    log "libvirtd runs as $user (pid $(< "$pid_file")), URI $uri"
}

stop() {
    local domain pid
    if running "$pid_file"; then
        while read -r domain; do
            if [[ -n "$domain" ]]; then
                virsh -c "$uri" destroy "$domain" > /dev/null 2>&1 || log "could not destroy $domain; ending its QEMU below"
            fi
        done < <(virsh -c "$uri" list --name 2> /dev/null || true)
        pid="$(< "$pid_file")"
        kill -TERM "$pid"
        wait_gone "$pid" 30 libvirtd
        log "libvirtd stopped"
    else
        log "libvirtd is not running"
    fi
    # QEMU outlives libvirtd by design: end whatever the daemon left behind, by its pid file.
    local file
    for file in "$qemu_pid_dir"/*.pid; do
        [[ -s "$file" ]] || continue
        pid="$(< "$file")"
        if kill -0 "$pid" 2> /dev/null && [[ "$(stat -c %U "/proc/$pid")" == "$user" ]]; then
            kill -TERM "$pid"
            wait_gone "$pid" 30 "QEMU ($file)"
            log "stopped QEMU pid $pid"
        fi
        rm -f "$file" "${file%.pid}.xml"
    done
}

print_env() {
    printf "export %s='%s'\n" MAKONIS_TEST_QEMU_URI "$uri" MAKONIS_TEST_QEMU_POOL "$pool" \
        MAKONIS_TEST_QEMU_BACKUP_POOL "$backup_pool"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) print_env ;;
    *) die "usage: $0 start|stop|env" ;;
esac
