#!/usr/bin/env bash
# openldap.sh — a private OpenLDAP slapd for the portal's directory tests: suffix
# dc=lm,dc=test, plain LDAP with StartTLS on 127.0.0.1:3890 and LDAPS on 127.0.0.1:6360
# (certificate from a CA of its own), memberOf and referential integrity, and the test
# users and groups. See README.md next to this file.
#
# Usage: tests/directory/openldap.sh start|stop|env
#   start   create the configuration (cn=config) once, start slapd in the background, wait
#           until it answers over StartTLS and LDAPS, and add whatever test entry is missing
#   stop    SIGTERM slapd and wait until it has exited (no-op if it is not running)
#   env     print export lines for the tests: eval "$(tests/directory/openldap.sh env)"
#
# State lives in target/directory/openldap (relative to the repository root).
set -euo pipefail

name=openldap.sh
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=SCRIPTDIR/common.sh
source "$here/common.sh"

mkdir -p "$repo/target/directory/openldap"
cd "$repo/target/directory/openldap"
dir="$PWD"
pid_file="$dir/run/slapd.pid"
url="ldap://127.0.0.1:3890"
ldaps_url="ldaps://127.0.0.1:6360"
base="dc=lm,dc=test"
admin_dn="cn=admin,$base"
admin_password='Admin-Parole-123!'
bind_dn="cn=svc-portal,$base"
bind_password='Svc-Parole-123!'
user_password='Parole-123!'
schemas=(core cosine nis inetorgperson)

# write_config FILE: the cn=config LDIF (back_mdb with memberof and refint overlays).
write_config() {
    {
        cat << LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $dir/run/slapd.pid
olcArgsFile: $dir/run/slapd.args
olcTLSCACertificateFile: $dir/tls/ca.pem
olcTLSCertificateFile: $dir/tls/server.pem
olcTLSCertificateKeyFile: $dir/tls/server.key

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: {0}back_mdb
olcModuleLoad: {1}memberof
olcModuleLoad: {2}refint

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

LDIF
        local schema
        for schema in "${schemas[@]}"; do
            printf 'include: file:///etc/ldap/schema/%s.ldif\n\n' "$schema"
        done
        cat << LDIF
dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: $dir/data
olcSuffix: $base
olcRootDN: $admin_dn
olcRootPW: $(slappasswd -s "$admin_password")
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: member eq
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by users read by * none

dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfRefInt: TRUE
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf

dn: olcOverlay={1}refint,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcRefintConfig
olcOverlay: {1}refint
olcRefintAttribute: member
olcRefintAttribute: memberOf
LDIF
    } > "$1"
}

# person UID GIVEN SURNAME: an inetOrgPerson under ou=people.
person() {
    cat << LDIF
dn: uid=$1,ou=people,$base
objectClass: inetOrgPerson
uid: $1
cn: $2 $3
givenName: $2
sn: $3
displayName: $2 $3
mail: $1@lm.test
userPassword: $(slappasswd -s "$user_password")

LDIF
}

# group NAME MEMBER_DN...: a groupOfNames under ou=groups.
group() {
    printf 'dn: cn=%s,ou=groups,%s\nobjectClass: groupOfNames\ncn: %s\n' "$1" "$base" "$1"
    local member
    for member in "${@:2}"; do printf 'member: %s\n' "$member"; done
    printf '\n'
}

# group_in OU NAME MEMBER_DN...: a groupOfNames named NAME in OU (relative to the base).
group_in() {
    printf 'dn: cn=%s,%s,%s\nobjectClass: groupOfNames\ncn: %s\n' "$2" "$1" "$base" "$2"
    local member
    for member in "${@:3}"; do printf 'member: %s\n' "$member"; done
    printf '\n'
}

# ou NAME PARENT: an organizationalUnit NAME under PARENT (relative to the base, or empty).
ou() {
    printf 'dn: ou=%s,%s%s\nobjectClass: organizationalUnit\nou: %s\n\n' "$1" "${2:+$2,}" "$base" "$1"
}

# write_data FILE: the test entries, parents before children.
write_data() {
    {
        cat << LDIF
dn: $base
objectClass: dcObject
objectClass: organization
dc: lm
o: LM test directory

dn: ou=people,$base
objectClass: organizationalUnit
ou: people

dn: ou=groups,$base
objectClass: organizationalUnit
ou: groups

dn: $bind_dn
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: svc-portal
description: the portal's service account: finds users and their groups
userPassword: $(slappasswd -s "$bind_password")

LDIF
        person anna.requester Anna Bērziņa
        person janis.approver Jānis Kalniņš
        group VDI-Requesters "uid=anna.requester,ou=people,$base"
        group VDI-Approvers "uid=janis.approver,ou=people,$base"
        group VDI-Staff "cn=VDI-Requesters,ou=groups,$base"
        # Role groups in organisational units, and groups of the same names elsewhere (a CN
        # is unique only within its container).
        person vdi.admin Ilze Ozola
        person platform.admin Pēteris Egle
        person mallory.rogue Mallory Viltniece
        ou iestades ""
        ou vdi ou=iestades
        ou makonis ""
        ou rogue ""
        group_in ou=vdi,ou=iestades VDI-Makonis-Admins "uid=vdi.admin,ou=people,$base"
        group_in ou=makonis Makonis-Platform-Admins "uid=platform.admin,ou=people,$base"
        group_in ou=rogue VDI-Makonis-Admins "uid=mallory.rogue,ou=people,$base"
        group_in ou=rogue Makonis-Platform-Admins "uid=mallory.rogue,ou=people,$base"
    } > "$1"
}

# ldap_admin TOOL ARGS...: an ldap-utils TOOL as the root DN over StartTLS (certificate verified).
ldap_admin() {
    LDAPTLS_CACERT="$dir/tls/ca.pem" LDAPTLS_REQCERT=demand \
        "$1" -ZZ -H "$url" -x -D "$admin_dn" -w "$admin_password" "${@:2}"
}

# add_missing_data: add the test entries that are not in the directory yet.
add_missing_data() {
    local existing
    existing="$(ldap_admin ldapsearch -LLL -o ldif-wrap=no -b "$base" '(objectClass=*)' 1.1 2> /dev/null | sed -n 's/^dn: //p')" \
        || existing=""
    write_data "$dir/data.ldif"
    awk -v existing="$existing" '
        BEGIN { RS = ""; ORS = "\n\n"; n = split(existing, dns, "\n"); for (i = 1; i <= n; i++) have[tolower(dns[i])] = 1 }
        { dn = $0; sub(/^dn: /, "", dn); sub(/\n.*/, "", dn); if (!(tolower(dn) in have)) print }
    ' "$dir/data.ldif" > "$dir/missing.ldif"
    if [[ -s "$dir/missing.ldif" ]]; then
        ldap_admin ldapadd -f "$dir/missing.ldif" > /dev/null \
            || die "could not add the test entries (see $dir/missing.ldif)"
        log "added $(grep -c '^dn: ' "$dir/missing.ldif") test entries"
    fi
    rm -f "$dir/data.ldif" "$dir/missing.ldif"
}

# answers: slapd answers over StartTLS and over LDAPS, verifying its certificate both ways.
answers() {
    ldap_admin ldapsearch -b "" -s base > /dev/null \
        && LDAPTLS_CACERT="$dir/tls/ca.pem" LDAPTLS_REQCERT=demand \
            ldapsearch -H "$ldaps_url" -x -D "$admin_dn" -w "$admin_password" -b "" -s base > /dev/null
}

configure() {
    log "creating the configuration in $dir"
    rm -rf "$dir/config" "$dir/data"
    mkdir -p "$dir/config" "$dir/data" "$dir/run"
    make_tls "$dir/tls"
    write_config "$dir/config.ldif"
    slapadd -n 0 -F "$dir/config" -l "$dir/config.ldif" > "$dir/slapadd.log" 2>&1 \
        || { cat "$dir/slapadd.log" >&2; die "slapadd of the configuration failed"; }
}

start() {
    need slapd slapd
    need slapadd slapd
    need slappasswd slapd
    need ldapsearch ldap-utils
    need ldapadd ldap-utils
    need openssl openssl
    if running "$pid_file"; then
        log "slapd is already running (pid $(< "$pid_file"))"
        add_missing_data
        return 0
    fi
    local port
    for port in 3890 6360; do
        if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
            die "port $port on 127.0.0.1 is in use by another server; stop it first"
        fi
    done
    [[ -d "$dir/config/cn=config" ]] || configure
    mkdir -p "$dir/run"
    rm -f "$pid_file"
    # -d none: stay in the foreground (our background job, so the pid is known), errors only.
    slapd -d none -h "$url/ $ldaps_url/" -F "$dir/config" < /dev/null > "$dir/slapd.log" 2>&1 &
    local pid=$!
    echo "$pid" > "$pid_file"
    await_server "$pid_file" 30 "$dir/slapd.log" answers
    add_missing_data
    log "slapd runs (pid $pid), StartTLS on $url, LDAPS on $ldaps_url"
}

print_env() {
    local var
    for var in "MAKONIS_TEST_OPENLDAP_URL=$url" "MAKONIS_TEST_OPENLDAP_LDAPS_URL=$ldaps_url" \
        "MAKONIS_TEST_OPENLDAP_CA=$dir/tls/ca.pem" "MAKONIS_TEST_OPENLDAP_BIND_DN=$bind_dn" \
        "MAKONIS_TEST_OPENLDAP_BIND_PASSWORD=$bind_password" "MAKONIS_TEST_OPENLDAP_BASE=$base" \
        "MAKONIS_TEST_OPENLDAP_ADMIN_DN=$admin_dn" "MAKONIS_TEST_OPENLDAP_ADMIN_PASSWORD=$admin_password"; do
        printf "export %s='%s'\n" "${var%%=*}" "${var#*=}"
    done
}

case "${1:-}" in
    start) start ;;
    stop) stop_pid "$pid_file" slapd ;;
    env) print_env ;;
    *) die "usage: $0 start|stop|env" ;;
esac
