# shellcheck shell=bash
# Sourced by tests/platform.sh: the demo's Active Directory and mail. The Samba AD DC of
# tests/directory/samba.sh (realm LM.TEST) becomes the Directory `demo`; the identity
# operator gives every agency its OU, sub-OUs and role groups there and a demo person;
# the mail operator serves each agency's domain from real Postfix and Dovecot that read
# that directory, with a mailbox for the demo person. Needs root (Samba binds 636, Postfix
# and Dovecot switch users) and the Debian packages tests/setup.sh --demo installs; what
# this machine cannot run is left out with a note in platform_demo_notes.

# The base DN of the demo agencies' OUs in manifests/examples/agencies, and the demo
# domain's (the Samba fixture's): platform_agencies_and_catalog moves the agencies' OUs
# into the demo domain when platform_directory_base is set.
platform_example_base="DC=lm,DC=gov,DC=lv"
platform_directory_base=""
# Where the demo's mail system lives, and its ports on 127.0.0.1 (MAKONIS_MAIL_SMTP_PORT,
# MAKONIS_MAIL_SUBMISSION_PORT and MAKONIS_MAIL_IMAPS_PORT override the three people use).
platform_mail_dir=""
platform_mail_smtp="${MAKONIS_MAIL_SMTP_PORT:-2525}"
platform_mail_submission="${MAKONIS_MAIL_SUBMISSION_PORT:-5587}"
platform_mail_imaps="${MAKONIS_MAIL_IMAPS_PORT:-9993}"
# The demo people's table (agency, address, password), written by platform_demo_people.
platform_mail_people=""

# platform_directory_possible: true when this machine can run the demo's directory and
# mail (root, the servers installed, and the Samba fixture started); otherwise notes why
# not, and the demo goes on without them.
platform_directory_possible() {
    local missing=() binary
    for binary in /usr/sbin/samba /usr/bin/ldapmodify /usr/sbin/postfix /usr/lib/postfix/postfix-ldap.so \
        /usr/sbin/dovecot /usr/lib/dovecot/imap /usr/lib/dovecot/lmtp /usr/lib/dovecot/modules/auth/libauthdb_ldap.so \
        /usr/sbin/opendkim /usr/bin/openssl /usr/bin/curl /usr/bin/iconv; do
        [[ -e "$binary" ]] || missing+=("$binary")
    done
    if ((EUID != 0)); then
        platform_demo_notes+=("directory and mail: left out, they need root (Samba binds port 636; Postfix and Dovecot switch users)")
        return 1
    fi
    if ((${#missing[@]})); then
        platform_demo_notes+=("directory and mail: left out, missing ${missing[*]} (tests/setup.sh --demo installs them)")
        return 1
    fi
    platform_demo_samba || return 1
    platform_directory_base="$(platform_samba_env MAKONIS_TEST_SAMBA_BASE)"
}

# platform_directory METRICS: the Samba fixture as the Directory `demo` (its administrator
# as the operator's bind account: it is a demo domain of its own), and the identity operator
# (metrics on METRICS) as ServiceAccount makonis-system/makonis-identity-operator, waiting
# until every agency's OU is in place. Needs platform_directory_possible and the agencies.
platform_directory() {
    local metrics="$1" code
    platform_secret makonis-system demo-directory-ca "ca.crt=$(platform_samba_env MAKONIS_TEST_SAMBA_CA)"
    platform_secret makonis-system demo-directory-bind "username=$(platform_samba_env MAKONIS_TEST_SAMBA_ADMIN_DN)" \
        "password=$(platform_samba_env MAKONIS_TEST_SAMBA_ADMIN_PASSWORD)"
    kubectl apply --server-side -f - << EOF
apiVersion: identity.makonis.lv/v1alpha1
kind: Directory
metadata: {name: demo}
spec:
  url: $(platform_samba_env MAKONIS_TEST_SAMBA_URL)
  caSecret: demo-directory-ca
  bindSecret: demo-directory-bind
  baseDn: $platform_directory_base
  userPrincipalSuffix: lm.test
  drift: Correct
  leaverGraceDays: 30
EOF
    platform_start identity-operator makonis-identity-operator operator --controllers identity \
        --metrics-address "$metrics"
    for code in $(platform_agency_codes); do
        platform_wait_until identity-operator "${platform_pids[-1]}" "agency $code's OU in the directory" \
            platform_agency_unit_ready "$code"
    done
}

# platform_agency_codes: the codes of the agencies, one per line.
platform_agency_codes() {
    kubectl get agencies -o jsonpath='{range .items[*]}{.spec.code}{"\n"}{end}'
}

# platform_agency_unit_ready CODE: true once Directory demo reports agency CODE's OU ready.
platform_agency_unit_ready() {
    [[ "$(kubectl get directory demo -o jsonpath="{.status.agencies[?(@.code==\"$1\")].ready}")" == "true" ]]
}

# platform_secret NAMESPACE NAME KEY=VALUE...: creates or replaces the Secret NAME; a VALUE
# that names a file is that file's contents. Values pass through files of a private
# directory, never through a command line.
platform_secret() {
    local namespace="$1" name="$2" pair key value files args=()
    shift 2
    files="$(umask 077 && mktemp -d)"
    for pair in "$@"; do
        key="${pair%%=*}" value="${pair#*=}"
        if [[ -f "$value" ]]; then
            args+=("--from-file=$key=$value")
        else
            (umask 077 && printf '%s' "$value" > "$files/$key")
            args+=("--from-file=$key=$files/$key")
        fi
    done
    kubectl create secret generic "$name" -n "$namespace" "${args[@]}" --dry-run=client -o yaml |
        kubectl apply --server-side --force-conflicts -f - > /dev/null
    rm -rf "$files"
}

# platform_demo_people: in every agency, a demo person (DirectoryUser `demo`, a requester,
# `<code>.demo`, `demo@<the agency's first domain>`), the agency's MailDomain and the
# person's Mailbox; waits until each account exists, sets its password (the table
# $MAKONIS_CLUSTER_DIR/demo-mail.txt prints it) and waits until each mailbox delivers.
platform_demo_people() {
    local code domain dn password
    platform_mail_people="$MAKONIS_CLUSTER_DIR/demo-mail.txt"
    for code in $(platform_agency_codes); do
        domain="$(kubectl get agency "$code" -o jsonpath='{.spec.domains[0]}')"
        platform_apply_counted kubectl apply --server-side -f - << EOF
apiVersion: identity.makonis.lv/v1alpha1
kind: DirectoryUser
metadata: {name: demo, namespace: agency-$code}
spec:
  username: $code.demo
  givenName: Dace
  surname: Bērziņa
  displayName: "Dace Bērziņa (${code^^})"
  email: demo@$domain
  title: Referente
  roles: [requesters]
---
apiVersion: mail.makonis.lv/v1alpha1
kind: MailDomain
metadata: {name: ${domain//./-}, namespace: agency-$code}
spec:
  domain: $domain
  dmarc: quarantine
---
apiVersion: mail.makonis.lv/v1alpha1
kind: Mailbox
metadata: {name: demo, namespace: agency-$code}
spec:
  user: demo
  quota: 1Gi
EOF
    done
    (umask 077 && printf '%-14s %-28s %s\n' AGENCY ADDRESS PASSWORD > "$platform_mail_people")
    for code in $(platform_agency_codes); do
        kubectl wait --for=condition=Ready --timeout=120s -n "agency-$code" directoryuser/demo > /dev/null
        dn="$(kubectl get directoryuser demo -n "agency-$code" -o jsonpath='{.status.dn}')"
        password="Pasts-$(head -c 9 /dev/urandom | base64 | tr -d '/+=')-7"
        platform_set_password "$dn" "$password"
        printf '%-14s %-28s %s\n' "$code" "$(kubectl get directoryuser demo -n "agency-$code" -o jsonpath='{.spec.email}')" \
            "$password" >> "$platform_mail_people"
    done
    for code in $(platform_agency_codes); do
        kubectl wait --for=condition=Ready --timeout=120s -n "agency-$code" mailbox/demo > /dev/null
    done
}

# platform_set_password DN PASSWORD: sets the account's password as the domain's
# administrator and clears "must change at next sign-in", standing in for the person's
# first sign-in (the portal's /password page in production): the mail servers accept
# only a password the person has set.
platform_set_password() {
    local value
    value="$(printf '"%s"' "$2" | iconv -f UTF-8 -t UTF-16LE | base64 -w0)"
    printf 'dn:: %s\nchangetype: modify\nreplace: unicodePwd\nunicodePwd:: %s\n-\nreplace: pwdLastSet\npwdLastSet: -1\n-\n' \
        "$(printf %s "$1" | base64 -w0)" "$value" |
        LDAPTLS_CACERT="$(platform_samba_env MAKONIS_TEST_SAMBA_CA)" LDAPTLS_REQCERT=demand \
            ldapmodify -x -H "$(platform_samba_env MAKONIS_TEST_SAMBA_URL)" \
            -D "$(platform_samba_env MAKONIS_TEST_SAMBA_ADMIN_DN)" \
            -y <(printf %s "$(platform_samba_env MAKONIS_TEST_SAMBA_ADMIN_PASSWORD)") > /dev/null
}

# platform_mail METRICS: the mail operator (metrics on METRICS) as ServiceAccount
# makonis-mail/makonis-mail-operator, rendering Postfix's and Dovecot's configuration into
# $MAKONIS_CLUSTER_DIR/mail (SMTP on 127.0.0.1:$platform_mail_smtp, IMAP over TLS on
# :$platform_mail_imaps, with a certificate of a CA of its own), reading the directory as
# the fixture's read-only account.
platform_mail() {
    local metrics="$1" dir="$MAKONIS_CLUSTER_DIR/mail" sub
    platform_mail_dir="$dir"
    for sub in config state/postfix/data state/postfix/log state/postfix/spool state/dovecot/log state/opendkim mail tls; do
        mkdir -p "$dir/$sub"
    done
    chown postfix "$dir/state/postfix/data"
    chown mail:mail "$dir/mail"
    platform_mail_tls "$dir/tls"
    platform_secret makonis-mail demo-mail-directory "username=$(platform_samba_env MAKONIS_TEST_SAMBA_BIND_DN)" \
        "password=$(platform_samba_env MAKONIS_TEST_SAMBA_BIND_PASSWORD)" "ca.crt=$(platform_samba_env MAKONIS_TEST_SAMBA_CA)"
    platform_start mail-operator makonis-mail/makonis-mail-operator operator --controllers mail \
        --metrics-address "$metrics" --mail-directory demo --mail-namespace makonis-mail \
        --mail-bind-secret demo-mail-directory --mail-hostname mail.lm.test --mail-listen 127.0.0.1 \
        --mail-smtp-port "$platform_mail_smtp" --mail-submission-port "$platform_mail_submission" \
        --mail-imaps-port "$platform_mail_imaps" --mail-lmtp-port "${MAKONIS_MAIL_LMTP_PORT:-2424}" \
        --mail-quota-status-port "${MAKONIS_MAIL_QUOTA_STATUS_PORT:-12340}" --mail-auth-port "${MAKONIS_MAIL_AUTH_PORT:-12345}" \
        --mail-dkim-port "${MAKONIS_MAIL_DKIM_PORT:-8891}" \
        --mail-config-dir "$dir/config" --mail-state-dir "$dir/state" --mail-root "$dir/mail" \
        --mail-tls-cert "$dir/tls/tls.crt" --mail-tls-key "$dir/tls/tls.key"
    platform_mail_pid="${platform_pids[-1]}"
}

# platform_mail_tls DIR: a CA (ca.crt) and a certificate for 127.0.0.1 and localhost signed
# by it (tls.crt, tls.key), made once.
platform_mail_tls() {
    local dir="$1"
    [[ -s "$dir/tls.crt" && -s "$dir/tls.key" && -s "$dir/ca.crt" ]] && return 0
    (
        cd "$dir" && umask 077
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
            -subj "/CN=Makonis demo mail CA" -keyout ca.key -out ca.crt \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2> /dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
            -keyout tls.key -out tls.csr 2> /dev/null
        printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:mail.lm.test" "basicConstraints=CA:FALSE" \
            "extendedKeyUsage=serverAuth" > tls.ext
        openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile tls.ext \
            -out tls.crt 2> /dev/null
        rm -f tls.csr tls.ext ca.srl
        chmod 0644 ca.crt tls.crt
    )
}

# platform_mail_servers: starts Postfix, Dovecot and OpenDKIM on the configuration the mail
# operator rendered (waiting for it), and waits until Postfix and Dovecot answer;
# platform_stop stops them.
platform_mail_servers() {
    local dir="$platform_mail_dir"
    platform_wait_until mail-operator "$platform_mail_pid" "the mail configuration" \
        test -s "$dir/config/postfix/main.cf" -a -s "$dir/config/dovecot/dovecot.conf" -a -s "$dir/config/opendkim/opendkim.conf"
    postfix -c "$dir/config/postfix" start > "$dir/postfix.start.log" 2>&1 ||
        { cat "$dir/postfix.start.log"; return 1; }
    platform_mail_started=1
    dovecot -c "$dir/config/dovecot/dovecot.conf" > "$dir/dovecot.start.log" 2>&1 ||
        { cat "$dir/dovecot.start.log"; return 1; }
    opendkim -x "$dir/config/opendkim/opendkim.conf" > "$dir/opendkim.start.log" 2>&1 ||
        { cat "$dir/opendkim.start.log"; return 1; }
    platform_wait_until mail-operator "$platform_mail_pid" "Postfix on 127.0.0.1:$platform_mail_smtp" \
        platform_port_open "$platform_mail_smtp"
    platform_wait_until mail-operator "$platform_mail_pid" "Dovecot on 127.0.0.1:$platform_mail_imaps" \
        platform_port_open "$platform_mail_imaps"
}

# platform_port_open PORT: true when something listens on 127.0.0.1:PORT.
platform_port_open() {
    (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null
}

# platform_mail_stop: stops Postfix, Dovecot and OpenDKIM when platform_mail_servers
# started them.
platform_mail_stop() {
    [[ -n "${platform_mail_started:-}" ]] || return 0
    postfix -c "$platform_mail_dir/config/postfix" stop > /dev/null 2>&1 || true
    doveadm -c "$platform_mail_dir/config/dovecot/dovecot.conf" stop > /dev/null 2>&1 || true
    [[ -s "$platform_mail_dir/state/opendkim/opendkim.pid" ]] &&
        kill "$(< "$platform_mail_dir/state/opendkim/opendkim.pid")" 2> /dev/null || true
    platform_mail_started=""
}

# platform_demo_message AGENCY: writes the demo's mail to AGENCY's demo person (a Latvian
# subject and body, UTF-8) to $platform_mail_dir/demo-message-AGENCY.eml; prints its path.
platform_demo_message() {
    local to file="$platform_mail_dir/demo-message-$1.eml"
    to="$(kubectl get directoryuser demo -n "agency-$1" -o jsonpath='{.spec.email}')"
    printf '%s\r\n' "From: Mākoņa demo <demo@example.lv>" "To: $to" \
        "Subject: =?UTF-8?B?$(printf %s 'Sveicieni no Mākoņa: ķēde, žurnāls, ūdens' | base64 -w0)?=" \
        "MIME-Version: 1.0" "Content-Type: text/plain; charset=utf-8" "Content-Transfer-Encoding: 8bit" "" \
        "Labdien! Šī vēstule nāca caur Postfix un Dovecot, kas lasa Active Directory." > "$file"
    printf '%s\n' "$file"
}

# platform_mail_commands AGENCY: the commands that send the demo mail to AGENCY's demo
# person over SMTP and read it back over IMAP with their password, one per line.
platform_mail_commands() {
    local address password message
    read -r _ address password < <(awk -v code="$1" '$1 == code' "$platform_mail_people")
    message="$(platform_demo_message "$1")"
    printf '%s\n' \
        "curl -sS smtp://127.0.0.1:$platform_mail_smtp --mail-from demo@example.lv --mail-rcpt $address --upload-file $message" \
        "curl -sS --cacert $platform_mail_dir/tls/ca.crt --user '$address:$password' 'imaps://127.0.0.1:$platform_mail_imaps/INBOX;UID=1'"
}

# platform_mail_summary: what run.sh prints about the directory and mail: the demo people
# and the two commands for the ministry's (or why it was left out).
platform_mail_summary() {
    if [[ -z "$platform_mail_people" ]]; then
        printf 'Directory and mail: left out (see the notes above: they need root and tests/setup.sh --demo).\n'
        return 0
    fi
    printf '%s\n' "Directory and mail: Samba AD (realm LM.TEST, ldaps://127.0.0.1:636) as Directory demo; Postfix" \
        "  (SMTP 127.0.0.1:$platform_mail_smtp; submission 127.0.0.1:$platform_mail_submission, STARTTLS, signed in" \
        "  with the address and password) and Dovecot (IMAP over TLS 127.0.0.1:$platform_mail_imaps) read it;" \
        "  configuration $platform_mail_dir/config, logs $platform_mail_dir/state/*/log." \
        "Demo people, one per agency, each with a mailbox (also in $platform_mail_people):"
    sed 's/^/  /' "$platform_mail_people"
    printf '%s\n' "Send the ministry's demo person a mail, then read it over IMAP with their directory password:"
    platform_mail_commands lm | sed 's/^/  /'
}

# platform_mail_check AGENCY: runs platform_mail_commands AGENCY as printed: sends the mail,
# then reads the mailbox over IMAP until the mail is there (its Latvian body intact).
platform_mail_check() {
    local send read body deadline=$((SECONDS + 60))
    { read -r send && read -r read; } < <(platform_mail_commands "$1")
    bash -c "$send" || { printf 'sending the demo mail failed: %s\n' "$send"; return 1; }
    body="$(tail -n 1 "$(platform_demo_message "$1")" | tr -d '\r')"
    until bash -c "$read" 2> /dev/null | tr -d '\r' | grep -qxF "$body"; do
        if ((SECONDS >= deadline)); then
            printf 'the demo mail did not arrive within 60 s: %s\n' "$read"
            bash -c "$read" || true
            return 1
        fi
        sleep 0.5
    done
    printf 'the demo mail to %s was read back over IMAP\n' "$1"
}

# platform_directory_check: every DirectoryServiceAccount (the demo's DMS and VDI IS orders
# get one each) is Ready, and the directory takes the credentials the operator put in its
# Secret: an LDAPS bind with them works. Fails naming the account that does not.
platform_directory_check() {
    local namespace name secret dn count=0
    while read -r namespace name; do
        kubectl wait --for=condition=Ready --timeout=120s -n "$namespace" "directoryserviceaccount/$name" > /dev/null
        secret="$(kubectl get directoryserviceaccount "$name" -n "$namespace" -o jsonpath='{.status.secret}')"
        dn="$(kubectl get secret "$secret" -n "$namespace" -o jsonpath='{.data.dn}' | base64 -d)"
        if ! LDAPTLS_CACERT="$(platform_samba_env MAKONIS_TEST_SAMBA_CA)" LDAPTLS_REQCERT=demand \
            ldapsearch -x -H "$(platform_samba_env MAKONIS_TEST_SAMBA_URL)" -D "$dn" -b "" -s base \
            -y <(kubectl get secret "$secret" -n "$namespace" -o jsonpath='{.data.password}' | base64 -d) dn > /dev/null; then
            printf 'the directory refuses the credentials of %s/%s (Secret %s, %s)\n' "$namespace" "$name" "$secret" "$dn"
            return 1
        fi
        count=$((count + 1))
    done < <(kubectl get directoryserviceaccounts -A -o jsonpath='{range .items[*]}{.metadata.namespace} {.metadata.name}{"\n"}{end}')
    ((count > 0)) || { printf 'no DirectoryServiceAccount: the demo orders of DMS and VDI IS should have made them\n'; return 1; }
    printf '%s service accounts of ordered services sign in to the directory\n' "$count"
}
