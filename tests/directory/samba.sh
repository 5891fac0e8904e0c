#!/usr/bin/env bash
# samba.sh — a throwaway Samba Active Directory domain controller for the portal's
# directory tests: realm LM.TEST, domain LM, LDAPS on 127.0.0.1:636 with a certificate
# from a CA of its own, and the test users and groups. See README.md next to this file.
#
# Usage: tests/directory/samba.sh start|stop|status|env
#   start   provision (first time ~20 s; later restored from a cached tarball in
#           target/directory/cache/, about 1 s in all), start samba in the background
#           with its JSON audit in log/audit.json, wait until an LDAPS search works, and
#           make sure the test data exists
#   stop    SIGTERM samba and wait until it has exited (no-op if it is not running)
#   status  exit 0 when samba runs, 1 when not
#   env     print export lines for the tests: eval "$(tests/directory/samba.sh env)"
#
# Samba binds fixed ports (389, 636, 3268, 3269) on 127.0.0.1: one per machine, as root.
# State lives in target/directory/samba (relative to the repository root).
set -euo pipefail

name=samba.sh
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=SCRIPTDIR/common.sh
source "$here/common.sh"

mkdir -p "$repo/target/directory/samba" "$repo/target/directory/cache"
cd "$repo/target/directory"
dir="$PWD/samba"
cache_dir="$PWD/cache"
conf="$dir/etc/smb.conf"
pid_file="$dir/server.pid"
# Samba's JSON audit (sign-ins, directory, password and group membership changes), one
# record per line, for the SIEM's tests: set when samba starts, not provisioned.
audit_log="$dir/log/audit.json"
audit_level="0"
for class in auth_json_audit:3 dsdb_json_audit:5 dsdb_password_json_audit:5 dsdb_group_json_audit:5; do
    audit_level+=" $class@$audit_log"
done
url="ldaps://127.0.0.1:636"
base="DC=lm,DC=test"
admin_dn="CN=Administrator,CN=Users,$base"
admin_password='Admin-Parole-123!'
bind_dn="CN=svc-portal,CN=Users,$base"
bind_password='Svc-Parole-123!'
user_password='Parole-123!'

# tool ARGS...: samba-tool on this domain controller's configuration, output discarded.
tool() { samba-tool "$@" -s "$conf" > /dev/null; }

# ldaps_search ARGS...: ldapsearch as Administrator over LDAPS, verifying the server's certificate.
ldaps_search() {
    LDAPTLS_CACERT="$dir/tls/ca.pem" LDAPTLS_REQCERT=demand \
        ldapsearch -LLL -o ldif-wrap=no -H "$url" -x -D "$admin_dn" -w "$admin_password" "$@"
}

# The test data: user ACCOUNT PASSWORD GIVEN SURNAME; group NAME MEMBER...
users=(
    "anna.requester|$user_password|Anna|Bērziņa"
    "janis.approver|$user_password|Jānis|Kalniņš"
    "disabled.user|$user_password|Dace|Liepiņa"
    "svc-portal|$bind_password|Portal|Service"
    "vdi.admin|$user_password|Ilze|Ozola"
    "platform.admin|$user_password|Pēteris|Egle"
    "mallory.rogue|$user_password|Mallory|Viltniece"
)
groups=(
    "VDI-Requesters|anna.requester"
    "VDI-Approvers|janis.approver"
    "VDI-Staff|VDI-Requesters"
)
# Organisational units (parents first), and groups placed in them: SAM|OU|CN|MEMBERS. A CN
# is unique only within its container, so the rogue OU repeats the CNs of the role groups
# (with sAMAccountNames of their own, which the domain keeps unique).
ous=("OU=Iestades" "OU=VDI,OU=Iestades" "OU=Makonis" "OU=Rogue")
placed_groups=(
    "VDI-Makonis-Admins|OU=VDI,OU=Iestades|VDI-Makonis-Admins|vdi.admin"
    "Makonis-Platform-Admins|OU=Makonis|Makonis-Platform-Admins|platform.admin"
    "rogue-vdi-admins|OU=Rogue|VDI-Makonis-Admins|mallory.rogue"
    "rogue-platform-admins|OU=Rogue|Makonis-Platform-Admins|mallory.rogue"
)

# data_complete: one LDAPS search proving every test object and membership is there.
data_complete() {
    local found
    found="$(ldaps_search -b "$base" \
        '(|(sAMAccountName=anna.requester)(sAMAccountName=janis.approver)(sAMAccountName=disabled.user)(sAMAccountName=svc-portal)(objectClass=group))' \
        sAMAccountName member userAccountControl)" || return 1
    local want
    for want in "sAMAccountName: anna.requester" "sAMAccountName: janis.approver" \
        "sAMAccountName: disabled.user" "sAMAccountName: svc-portal" "userAccountControl: 514" \
        "member: CN=anna.requester,CN=Users,$base" "member: CN=janis.approver,CN=Users,$base" \
        "member: CN=VDI-Requesters,CN=Users,$base" "member: CN=vdi.admin,CN=Users,$base" \
        "member: CN=platform.admin,CN=Users,$base" "member: CN=mallory.rogue,CN=Users,$base" \
        "dn: CN=Makonis-Platform-Admins,OU=Rogue,$base" "dn: CN=VDI-Makonis-Admins,OU=Rogue,$base" \
        "dn: CN=Makonis-Platform-Admins,OU=Makonis,$base" "dn: CN=VDI-Makonis-Admins,OU=VDI,OU=Iestades,$base"; do
        grep -qxF "$want" <<< "$found" || return 1
    done
}

# create_data: add whatever test object or membership is missing (samba-tool on the local
# database; works whether samba runs or not).
create_data() {
    local entry account password given surname group members member ou cn
    for entry in "${users[@]}"; do
        IFS='|' read -r account password given surname <<< "$entry"
        if ! samba-tool user show "$account" -s "$conf" > /dev/null 2>&1; then
            tool user create "$account" "$password" --use-username-as-cn --given-name="$given" \
                --surname="$surname" --mail-address="$account@lm.test"
            log "created user $account"
        fi
    done
    tool user disable disabled.user
    for ou in "${ous[@]}"; do
        samba-tool ou listobjects "$ou" -s "$conf" > /dev/null 2>&1 || { tool ou create "$ou" && log "created $ou"; }
    done
    for entry in "${placed_groups[@]}"; do
        IFS='|' read -r group ou cn members <<< "$entry"
        if ! samba-tool group show "$group" -s "$conf" > /dev/null 2>&1; then
            tool group add "$group" --groupou="$ou"
            [[ "$cn" == "$group" ]] || tool group rename "$group" --force-new-cn="$cn"
            log "created group $group as CN=$cn,$ou"
        fi
        for member in $members; do
            samba-tool group listmembers "$group" -s "$conf" 2> /dev/null | grep -qxF "$member" \
                || { tool group addmembers "$group" "$member" && log "added $member to $group"; }
        done
    done
    for entry in "${groups[@]}"; do
        IFS='|' read -r group members <<< "$entry"
        samba-tool group show "$group" -s "$conf" > /dev/null 2>&1 || { tool group add "$group" && log "created group $group"; }
        for member in $members; do
            samba-tool group listmembers "$group" -s "$conf" 2> /dev/null | grep -qxF "$member" \
                || { tool group addmembers "$group" "$member" && log "added $member to $group"; }
        done
    done
}

provision() {
    log "provisioning a domain controller in $dir (once; cached afterwards)"
    rm -rf "$dir"
    mkdir -p "$dir/run" "$dir/log"
    samba-tool domain provision --realm=LM.TEST --domain=LM --server-role=dc --dns-backend=NONE \
        --adminpass="$admin_password" --use-rfc2307 --targetdir="$dir" --host-ip=127.0.0.1 \
        --option="interfaces=127.0.0.1" --option="bind interfaces only=yes" \
        --option="pid directory=$dir/run" --option="log file=$dir/log/samba.log" \
        --option="server services=ldap" --option="prefork children=1" > "$dir/log/provision.log" 2>&1 \
        || { tail -n 20 "$dir/log/provision.log" >&2; die "samba-tool domain provision failed (log: $dir/log/provision.log)"; }
    make_tls "$dir/tls"
    sed -i "/^\[global\]/a\\
\ttls enabled = yes\\
\ttls keyfile = $dir/tls/server.key\\
\ttls certfile = $dir/tls/server.pem\\
\ttls cafile = $dir/tls/ca.pem" "$conf"
    # Cached copies may be months old: passwords must not expire.
    tool domain passwordsettings set --max-pwd-age=0
    create_data
    local cached
    cached="$(cache_file)"
    rm -f "$cache_dir"/samba-*.tar.gz
    tar -C "$(dirname "$dir")" -czf "$cached.tmp" "$(basename "$dir")"
    mv "$cached.tmp" "$cached"
    log "cached the provisioned directory in $cached"
}

# The provisioned directory holds absolute paths, so the cache is keyed by the directory's
# path and by everything that shapes it (a change to these provisions afresh).
cache_file() {
    local key
    key="$({ printf '%s\n' "$dir" "${users[@]}" "${groups[@]}" "${ous[@]}" "${placed_groups[@]}"; declare -f provision create_data make_tls; } \
        | sha256sum | cut -c1-16)"
    printf '%s/samba-%s.tar.gz' "$cache_dir" "$key"
}

start() {
    need samba samba
    need samba-tool samba
    need ldapsearch ldap-utils
    need openssl openssl
    need sha256sum coreutils
    if running "$pid_file" && [[ -f "$audit_log" ]]; then
        log "samba is already running (pid $(< "$pid_file"))"
        data_complete || create_data
        return 0
    fi
    if running "$pid_file"; then
        log "samba runs without its audit log (started by an older samba.sh): restarting it"
        stop_pid "$pid_file" samba
    fi
    if (exec 3<> /dev/tcp/127.0.0.1/636) 2> /dev/null; then
        die "port 636 on 127.0.0.1 is in use by another server; stop it first (one domain controller per machine)"
    fi
    local cached
    cached="$(cache_file)"
    if [[ -f "$cached" ]]; then
        rm -rf "$dir"
        tar -C "$(dirname "$dir")" -xzf "$cached"
    else
        provision
    fi
    rm -f "$dir"/run/*.pid
    samba --foreground --no-process-group -s "$conf" --option="log level=$audit_level" \
        < /dev/null > "$dir/log/stdout.log" 2>&1 &
    echo $! > "$pid_file"
    await_server "$pid_file" 60 "$dir/log/samba.log" ldaps_search -b "$base" -s base dn
    data_complete || create_data
    log "samba runs (pid $(< "$pid_file")), LDAPS on $url"
}

print_env() {
    local var
    for var in "MAKONIS_TEST_SAMBA_URL=$url" "MAKONIS_TEST_SAMBA_CA=$dir/tls/ca.pem" \
        "MAKONIS_TEST_SAMBA_BIND_DN=$bind_dn" "MAKONIS_TEST_SAMBA_BIND_PASSWORD=$bind_password" \
        "MAKONIS_TEST_SAMBA_BASE=$base" "MAKONIS_TEST_SAMBA_ADMIN_DN=$admin_dn" \
        "MAKONIS_TEST_SAMBA_ADMIN_PASSWORD=$admin_password" "MAKONIS_TEST_SAMBA_AUDIT_LOG=$audit_log"; do
        printf "export %s='%s'\n" "${var%%=*}" "${var#*=}"
    done
}

case "${1:-}" in
    start) start ;;
    stop) stop_pid "$pid_file" samba ;;
    status) running "$pid_file" ;;
    env) print_env ;;
    *) die "usage: $0 start|stop|status|env" ;;
esac
