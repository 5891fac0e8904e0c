# shellcheck shell=bash
# common.sh — helpers sourced by samba.sh and openldap.sh: messages, tool checks, a
# self-signed CA with a server certificate for 127.0.0.1, polling, and stopping a server.
# Expects $name (the calling script's name, for messages) to be set.

name="${name:?set name (the calling script) before sourcing common.sh}"
PATH="$PATH:/usr/sbin:/sbin"

log() { printf '%s: %s\n' "$name" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# need BINARY PACKAGE: fail with a hint when BINARY is not on PATH (sbin included).
need() {
    command -v "$1" > /dev/null 2>&1 || die "'$1' is missing: install the Debian package '$2' (apt-get install -y $2)"
}

# make_tls DIR: a CA (ca.pem) and a server key and certificate (server.key, mode 0600, and
# server.pem) for IP 127.0.0.1 and localhost, signed by that CA. Keeps existing files.
make_tls() {
    local dir="$1"
    [[ -s "$dir/ca.pem" && -s "$dir/server.pem" && -s "$dir/server.key" ]] && return 0
    mkdir -p "$dir"
    (
        cd "$dir"
        umask 077
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
            -subj "/CN=Makonis test CA ($name)" -keyout ca.key -out ca.pem \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2> /dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -subj "/CN=127.0.0.1" -keyout server.key -out server.csr 2> /dev/null
        printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
            "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" > server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
            -extfile server.ext -out server.pem 2> /dev/null
        rm -f server.csr server.ext ca.srl
        chmod 0644 ca.pem server.pem
        chmod 0600 server.key ca.key
    ) || die "could not create TLS files in $dir with openssl"
}

# await_server PIDFILE SECONDS LOG COMMAND...: run COMMAND every 0.1 s until it succeeds;
# fail, showing the end of LOG, when the server of PIDFILE exits or SECONDS have passed.
await_server() {
    local pid_file="$1" seconds="$2" log_file="$3"
    shift 3
    local deadline=$((SECONDS + seconds))
    until "$@" > /dev/null 2>&1; do
        if ! running "$pid_file"; then
            tail -n 20 "$log_file" >&2 || true
            rm -f "$pid_file"
            die "the server exited while starting (log: $log_file)"
        fi
        ((SECONDS < deadline)) || die "the server did not answer within $seconds s (log: $log_file)"
        sleep 0.1
    done
}

# running PIDFILE: true when PIDFILE names a live process.
running() {
    [[ -s "$1" ]] && kill -0 "$(< "$1")" 2> /dev/null
}

# stop_pid PIDFILE WHAT: SIGTERM the process named in PIDFILE and wait (up to 30 s) for it.
stop_pid() {
    local pid_file="$1" what="$2"
    if ! running "$pid_file"; then
        rm -f "$pid_file"
        log "$what is not running"
        return 0
    fi
    local pid
    pid="$(< "$pid_file")"
    kill -TERM "$pid"
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2> /dev/null; do
        ((SECONDS < deadline)) || die "$what (pid $pid) did not stop within 30 s of SIGTERM"
        sleep 0.1
    done
    rm -f "$pid_file"
    log "$what stopped"
}
