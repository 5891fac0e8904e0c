#!/usr/bin/env bash
# Checks (and where possible installs) what building and testing Mākonis needs on a
# fresh machine. Idempotent; run by ./run.sh, and by ./test.sh with --tests.
#
# Needs: Rust (cargo with rustfmt and clippy, 1.89 or newer) and Go (1.26 or newer; the
# Kubernetes modules require it). Both come with our machines. Installs, from Debian's
# packages when missing, libvirt's development files (the compute operator links
# libvirt). With --demo (./run.sh) it also installs the servers of the demo: Samba AD as
# the sector's domain, Postfix and Dovecot with their LDAP modules and OpenDKIM as the mail system,
# rsyslog with RELP and TLS and OpenSSH's server as the SIEM's log senders, and the
# clients the demo prints (ldap-utils, curl). With --tests it installs those and the
# other real servers the tests talk to (PostgreSQL, OpenLDAP, libvirt's daemon with QEMU,
# Prometheus with the blackbox exporter), Chromium for the browser tests, wrk for the
# benchmarks and genisoimage (to read cloud-init seed images back); Node.js and npm must
# be there (they come with our machines).
#
# Usage: tests/setup.sh [--demo | --tests]
set -euo pipefail

die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

command -v cargo > /dev/null || die "cargo is missing: install Rust 1.89 or newer (https://rustup.rs)"
cargo fmt --version > /dev/null 2>&1 || rustup component add rustfmt || die "rustfmt is missing"
cargo clippy --version > /dev/null 2>&1 || rustup component add clippy || die "clippy is missing"

command -v go > /dev/null || die "go is missing: install Go 1.26 or newer (the Kubernetes v1.37 modules need it)"
go_version="$(go env GOVERSION)"
[[ "$go_version" =~ ^go1\.([0-9]+) ]] && ((BASH_REMATCH[1] >= 26)) \
    || die "Go $go_version is too old: Kubernetes v1.37 needs Go 1.26 or newer"

printf 'setup: %s, %s\n' "$(cargo --version)" "$go_version"

# Debian packages, each with a file that tells whether it is installed.
packages=()
need() { [[ -e "$1" ]] || packages+=("${@:2}"); }
# install: installs what need() collected.
install() {
    ((${#packages[@]})) || return 0
    command -v apt-get > /dev/null || die "missing: ${packages[*]} (install them from your distribution)"
    sudo=()
    ((EUID == 0)) || sudo=(sudo)
    printf 'setup: installing %s\n' "${packages[*]}"
    printf '%s\n' "slapd slapd/no_configuration boolean true" \
        "postfix postfix/main_mailer_type select No configuration" | "${sudo[@]}" debconf-set-selections
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q > /dev/null
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}" \
        > /dev/null || die "apt-get install ${packages[*]} failed"
    packages=()
}

need /usr/bin/pkg-config pkg-config
need /usr/include/libvirt/libvirt.h libvirt-dev
install

case "${1:-}" in
    "") exit 0 ;;
    --demo | --tests) ;;
    *) die "usage: tests/setup.sh [--demo | --tests]" ;;
esac

need /usr/sbin/samba samba winbind krb5-user ldb-tools
need /usr/bin/ldapsearch ldap-utils
need /usr/bin/openssl openssl
need /usr/bin/curl curl
need /usr/bin/logger bsdutils
need /usr/sbin/rsyslogd rsyslog
need /usr/sbin/sshd openssh-server
need /usr/bin/ssh openssh-client
need /usr/bin/ssh-keygen openssh-client
need /usr/sbin/postfix postfix
need /usr/lib/postfix/postfix-ldap.so postfix-ldap
need /usr/sbin/dovecot dovecot-core
need /usr/lib/dovecot/imap dovecot-imapd
need /usr/lib/dovecot/lmtp dovecot-lmtpd
need /usr/lib/dovecot/modules/auth/libauthdb_ldap.so dovecot-ldap
need /usr/sbin/opendkim opendkim
compgen -G "/usr/lib/*/rsyslog/omrelp.so" > /dev/null || packages+=(rsyslog-relp)
compgen -G "/usr/lib/*/rsyslog/lmnsd_ossl.so" > /dev/null || packages+=(rsyslog-openssl)
install

[[ "$1" == "--tests" ]] || exit 0

need /usr/sbin/slapd slapd
need /usr/bin/chromium chromium chromium-driver
need /usr/bin/wrk wrk
need /usr/sbin/libvirtd libvirt-daemon libvirt-daemon-driver-qemu
need /usr/bin/virsh libvirt-clients
need /usr/bin/qemu-system-x86_64 qemu-system-x86
need /usr/bin/qemu-img qemu-utils
need /usr/bin/isoinfo genisoimage
need /usr/bin/prometheus prometheus
need /usr/bin/promtool prometheus
need /usr/bin/prometheus-blackbox-exporter prometheus-blackbox-exporter
need /usr/bin/prometheus-alertmanager prometheus-alertmanager
compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || packages+=(postgresql)
install
if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
    die "node and npm are missing: install Node.js 20 or newer"
fi
