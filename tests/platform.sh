# shellcheck shell=bash
# Sourced by run.sh and the browser tests: brings Mākonis up on a running local control
# plane (kubectl and KUBECONFIG from `tests/cluster/cluster.sh env`), each component as
# its own ServiceAccount with a token from the TokenRequest API, never admin rights.
# Logs go to $MAKONIS_CLUSTER_DIR/<component>.log; platform_stop stops what was started.
#
# Needs: $makonis (the built binary), $MAKONIS_CLUSTER_DIR.

platform_pids=()
# What platform_demo_senders started or left out, for run.sh's summary.
platform_demo_notes=()
# Set when platform_demo_samba started the Samba fixture (platform_stop then stops it),
# and once it runs.
platform_samba_started=""
platform_samba_ready=""
# shellcheck source=tests/platform-mail.sh
. tests/platform-mail.sh

# platform_install: CRDs, the platform namespace, RBAC and the webhook registration at
# 127.0.0.1:9443 (manifests/local).
platform_install() {
    kubectl apply --server-side --force-conflicts -k manifests/local
    kubectl wait --for=condition=Established --timeout=60s \
        crd/agencies.tenancy.makonis.lv crd/catalogitems.catalog.makonis.lv crd/serviceinstances.catalog.makonis.lv \
        crd/hostpools.compute.makonis.lv crd/virtualmachines.compute.makonis.lv crd/volumes.compute.makonis.lv \
        crd/backuppolicies.compute.makonis.lv crd/backups.compute.makonis.lv crd/restores.compute.makonis.lv \
        crd/probes.slo.makonis.lv crd/servicelevelobjectives.slo.makonis.lv \
        crd/logsources.security.makonis.lv crd/retentionpolicies.security.makonis.lv
}

# platform_start NAME SERVICE_ACCOUNT ARGS...: runs `makonis ARGS` in the background as
# the ServiceAccount SERVICE_ACCOUNT (`NAME` in makonis-system, or `NAMESPACE/NAME`),
# logging to $MAKONIS_CLUSTER_DIR/NAME.log.
platform_start() {
    : "${makonis:?tests/platform.sh needs \$makonis, the path of the built makonis binary}"
    local name="$1" account="$2" namespace=makonis-system
    shift 2
    [[ "$account" != */* ]] || { namespace="${account%%/*}" && account="${account#*/}"; }
    local kubeconfig="$MAKONIS_CLUSTER_DIR/$name.kubeconfig"
    tests/cluster/cluster.sh sa-kubeconfig "$namespace" "$account" "$kubeconfig"
    KUBECONFIG="$kubeconfig" "$makonis" "$@" > "$MAKONIS_CLUSTER_DIR/$name.log" 2>&1 &
    platform_pids+=("$!")
}

# platform_wait_until NAME PID DESCRIPTION COMMAND...: polls COMMAND until it succeeds,
# failing with the component's last log lines if it exits first or if it has not succeeded
# within $MAKONIS_WAIT_SECONDS (default 300: a cold start of every component fits well
# within it; a forwarding that never delivers should not print dots forever).
platform_wait_until() {
    local name="$1" pid="$2" what="$3" deadline=$((SECONDS + ${MAKONIS_WAIT_SECONDS:-300}))
    shift 3
    printf 'waiting for %s ' "$what"
    until "$@" > /dev/null 2>&1; do
        if ! kill -0 "$pid" 2> /dev/null; then
            printf '\n%s exited:\n' "$name"
            tail -20 "$MAKONIS_CLUSTER_DIR/$name.log"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            printf '\n%s: no %s within %s s; its log ends:\n' "$name" "$what" "${MAKONIS_WAIT_SECONDS:-300}"
            tail -20 "$MAKONIS_CLUSTER_DIR/$name.log"
            return 1
        fi
        printf '.'
        sleep 0.5
    done
    echo " ok"
}

webhook_has_ca() {
    [[ -n "$(kubectl get validatingwebhookconfiguration makonis-catalog \
        -o jsonpath='{.webhooks[0].clientConfig.caBundle}' 2> /dev/null)" ]]
}

compute_webhook_has_ca() {
    [[ -n "$(kubectl get validatingwebhookconfiguration makonis-compute \
        -o jsonpath='{.webhooks[0].clientConfig.caBundle}' 2> /dev/null)" ]]
}

# platform_operators TENANCY CATALOG COMPUTE: the tenancy, catalog and compute operators
# (metrics on the given addresses), waiting until both webhooks have published their CA
# bundles. The catalog's webhook listens on 127.0.0.1:9443, the compute one on :9444.
platform_operators() {
    local tenancy_metrics="$1" catalog_metrics="$2" compute_metrics="$3"
    platform_start tenancy-operator makonis-tenancy-operator operator --controllers tenancy \
        --metrics-address "$tenancy_metrics"
    platform_start catalog-operator makonis-catalog-operator operator --controllers catalog \
        --metrics-address "$catalog_metrics" --webhook-address 127.0.0.1:9443
    platform_wait_until catalog-operator "${platform_pids[-1]}" "the webhook to publish its CA bundle" webhook_has_ca
    platform_start compute-operator makonis-compute-operator operator --controllers compute \
        --metrics-address "$compute_metrics" --webhook-address 127.0.0.1:9444 \
        --libvirt-pki-dir "$MAKONIS_CLUSTER_DIR/libvirt-pki"
    platform_wait_until compute-operator "${platform_pids[-1]}" "the compute webhook to publish its CA bundle" \
        compute_webhook_has_ca
}

# platform_demo_compute: the local host pool on the test hypervisor and a demo virtual
# machine, waiting until it runs.
platform_demo_compute() {
    sed "s|@REPO@|$PWD|" manifests/examples/compute/host-pool.yaml | kubectl apply --server-side -f -
    platform_apply_counted kubectl apply --server-side -f manifests/examples/compute/demo-vm.yaml
    kubectl wait --for=jsonpath='{.status.phase}'=Running --timeout=120s -n agency-vdi virtualmachine/demo-vm
}

# platform_agencies_and_catalog: the twelve demo agencies (until Ready) and the catalog.
# With platform_directory_base set (platform_directory_possible), the agencies' OUs are
# in the demo's domain instead of the examples' (tests/platform-mail.sh).
platform_agencies_and_catalog() {
    kubectl kustomize manifests/examples/agencies |
        sed "s/,$platform_example_base\(\"\?\)\$/,${platform_directory_base:-$platform_example_base}\1/" |
        kubectl apply --server-side -f -
    kubectl wait --for=condition=Ready --timeout=120s agency --all
    kubectl apply --server-side -f catalog/items/
}

# platform_demo_orders: orders the demo services (manifests/examples/orders).
platform_demo_orders() {
    platform_apply_counted kubectl apply --server-side -k manifests/examples/orders
}

# platform_apply_counted COMMAND...: runs COMMAND (a kubectl apply of objects an agency's
# ResourceQuota counts) until it succeeds. Until kube-controller-manager's quota
# controller has discovered a new kind and counted each agency's objects (up to a minute
# or two after its CRD first appears), the API server refuses them with "status unknown
# for quota"; this retries until then, and fails at once on any other error.
platform_apply_counted() {
    local attempt out
    printf 'waiting for the quota controller to count the objects '
    for attempt in $(seq 1 360); do
        if out="$("$@" 2>&1)"; then
            printf ' ok\n%s\n' "$out"
            return 0
        fi
        if ! grep -q "status unknown for quota" <<< "$out" || ((attempt == 360)); then
            printf '\n%s\n' "$out"
            return 1
        fi
        printf '.'
        sleep 0.5
    done
}

# platform_demo_accounts FILE: writes the portal's demo accounts (a requester, an approver
# and a security officer for every agency, a platform administrator and the platform's
# security group), each with a fresh random
# password, to FILE as a table for people, and stores them in the Secret
# makonis-system/makonis-portal-accounts the portal reads.
platform_demo_accounts() {
    local table="$1" yaml="$MAKONIS_CLUSTER_DIR/accounts.yaml" code name
    (umask 077 && : > "$yaml" && : > "$table")
    printf '%-22s %-20s %s\n' "USER" "PASSWORD" "ROLE" > "$table"
    platform_account "$yaml" "$table" admin "Platformas administrators" Makonis-Platform-Admins "platform administrator"
    platform_account "$yaml" "$table" security "Platformas drošības dienests" Makonis-Platform-Security "platform security group (all security logs)"
    for code in $(kubectl get agencies -o jsonpath='{range .items[*]}{.spec.code}{"\n"}{end}'); do
        name="$(kubectl get agency "$code" -o jsonpath='{.spec.displayName.lv}')"
        platform_account "$yaml" "$table" "$code-requester" "$name: pieprasītājs" "$(kubectl get agency "$code" -o jsonpath='{.spec.directory.groups.requesters}')" "requester, $code"
        platform_account "$yaml" "$table" "$code-approver" "$name: apstiprinātājs" "$(kubectl get agency "$code" -o jsonpath='{.spec.directory.groups.approvers}')" "approver, $code"
        platform_account "$yaml" "$table" "$code-security" "$name: drošības pārzinis" "$(kubectl get agency "$code" -o jsonpath='{.spec.directory.groups.securityOfficers}')" "security officer, $code"
    done
    kubectl create secret generic makonis-portal-accounts -n makonis-system --from-file=accounts.yaml="$yaml" \
        --dry-run=client -o yaml | kubectl apply --server-side --force-conflicts -f - > /dev/null
    rm -f "$yaml"
}

# platform_account YAML TABLE USERNAME DISPLAY_NAME GROUP ROLE: one demo account with a
# fresh random password, appended to the accounts YAML and to the table for people.
platform_account() {
    local yaml="$1" table="$2" password name="${4//\\/\\\\}"
    name="${name//\"/\\\"}"
    password="$(head -c 12 /dev/urandom | base64 | tr -d '/+=' | head -c 14)"
    printf -- '- username: %s\n  displayName: "%s"\n  groups: ["%s"]\n  password: "%s"\n' "$3" "$name" "$5" "$password" >> "$yaml"
    printf '%-22s %-20s %s\n' "$3" "$password" "$6" >> "$table"
}

portal_ready() {
    curl -fsS "http://$1/readyz"
}

# platform_portal ADDRESS METRICS [ARGS...]: the portal on ADDRESS (its /metrics on
# METRICS) with SQLite in $MAKONIS_CLUSTER_DIR and the demo accounts, waiting until it is
# ready.
platform_portal() {
    local address="$1" metrics="$2"
    shift 2
    platform_start portal makonis-portal portal --address "$address" --metrics-address "$metrics" \
        --database-url "sqlite://$MAKONIS_CLUSTER_DIR/portal.db" \
        --accounts-secret makonis-system/makonis-portal-accounts "$@"
    platform_wait_until portal "${platform_pids[-1]}" "the portal" portal_ready "$address"
}

slo_webhook_has_ca() {
    [[ -n "$(kubectl get validatingwebhookconfiguration makonis-slo \
        -o jsonpath='{.webhooks[0].clientConfig.caBundle}' 2> /dev/null)" ]]
}

# platform_slo METRICS: the SLO engine (metrics on METRICS) with the ledger in the
# portal's SQLite database, probing the instances' hosts through the local control
# plane's stand-in ingress (there is no real data plane; the overrides are the
# operator's trusted configuration), and serving the admission webhook for agencies'
# Probes on 127.0.0.1:9445 (manifests/local registers it). Start it before anything
# orders a service: the catalog creates a Probe for each instance, and the webhook
# judges it.
platform_slo() {
    local metrics="$1"
    : "${MAKONIS_CLUSTER_INGRESS:?platform_slo needs the stand-in ingress (tests/cluster/cluster.sh env)}"
    platform_start slo makonis-slo slo run --metrics-address "$metrics" \
        --database-url "sqlite://$MAKONIS_CLUSTER_DIR/portal.db" --evaluation-seconds 10 \
        --resolve "*.apps.makonis.lv=$MAKONIS_CLUSTER_INGRESS" --resolve "*.svc=$MAKONIS_CLUSTER_INGRESS" \
        --probe-ca-file "$MAKONIS_CLUSTER_INGRESS_CA" --webhook-address 127.0.0.1:9445
    platform_wait_until slo "${platform_pids[-1]}" "the SLO engine's webhook to publish its CA bundle" \
        slo_webhook_has_ca
    platform_wait_until slo "${platform_pids[-1]}" "the SLO engine" curl -fsS "http://$metrics/readyz"
}

# platform_siem METRICS: the SIEM (metrics on METRICS) as ServiceAccount makonis-siem,
# its store and checkpoint key in $MAKONIS_CLUSTER_DIR/siem, receiving the API server's
# audit webhook on $MAKONIS_CLUSTER_SIEM_HTTPS with the control plane's SIEM certificates
# (tests/cluster/audit.go), and syslog on 127.0.0.1 (TCP 1601, UDP 1514, RELP 2514, TLS
# 6514); the platform's own LogSources from manifests/examples/siem/platform.yaml.
platform_siem() {
    local metrics="$1" dir="$MAKONIS_CLUSTER_DIR/siem"
    : "${MAKONIS_CLUSTER_SIEM_HTTPS:?platform_siem needs MAKONIS_CLUSTER_SIEM_HTTPS (tests/cluster/cluster.sh env)}"
    mkdir -p "$dir"
    [[ -f "$dir/checkpoint.key" ]] || "$makonis" siem keygen --out "$dir/checkpoint.key" > "$dir/checkpoint.pub"
    kubectl apply --server-side -f manifests/examples/siem/platform.yaml
    platform_start siem makonis-siem siem run --metrics-address "$metrics" \
        --store "$dir/store" --checkpoint-log "$dir/checkpoints/checkpoints.jsonl" \
        --signing-key "$dir/checkpoint.key" \
        --syslog-tcp 127.0.0.1:1601 --syslog-udp 127.0.0.1:1514 --relp 127.0.0.1:2514 \
        --syslog-tls 127.0.0.1:6514 --https "$MAKONIS_CLUSTER_SIEM_HTTPS" \
        --tls-certificate "$MAKONIS_CLUSTER_PKI/siem-serving.crt" --tls-key "$MAKONIS_CLUSTER_PKI/siem-serving.key" \
        --client-ca "$MAKONIS_CLUSTER_PKI/siem-ca.crt" --webhook-address 127.0.0.1:9446
    platform_siem_pid="${platform_pids[-1]}"
    platform_wait_until siem "$platform_siem_pid" "the SIEM" curl -fsS "http://$metrics/readyz"
}

# platform_portal_siem_args: the portal's arguments that ship its audit trail to the SIEM
# platform_siem started.
platform_portal_siem_args() {
    printf '%s\n' --siem-url "https://$MAKONIS_CLUSTER_SIEM_HTTPS/v1/events" \
        --siem-client-certificate "$MAKONIS_CLUSTER_PKI/siem-portal.crt" \
        --siem-client-key "$MAKONIS_CLUSTER_PKI/siem-portal.key" --siem-ca "$MAKONIS_CLUSTER_PKI/siem-ca.crt"
}

# platform_slo_objective PORTAL: the platform's own objective for the portal at PORTAL
# (manifests/examples/slo/platform.yaml).
platform_slo_objective() {
    sed "s|@PORTAL@|$1|" manifests/examples/slo/platform.yaml | kubectl apply --server-side -f -
}

# platform_demo_log_sources: the LogSources of platform_demo_senders' senders
# (manifests/examples/siem/demo-senders.yaml). Apply them before the SIEM starts, so that
# its first claims include them (needs the agency lm).
platform_demo_log_sources() {
    kubectl apply --server-side -f manifests/examples/siem/demo-senders.yaml
}

# platform_demo_senders METRICS: the demo's syslog senders on this machine, forwarded by
# one rsyslog over RELP to the SIEM of platform_siem (its metrics on METRICS): the Samba
# AD DC of tests/directory/samba.sh and an sshd on 127.0.0.1 that refuses every sign-in.
# Then a refused ssh sign-in and a wrong and a right LDAPS bind, waiting until the SIEM
# has stored events of each. What this machine cannot run (not root, a Debian package
# missing, port 636 another server's) is left out; platform_demo_notes says what ran.
platform_demo_senders() {
    local metrics="$1" dir="$MAKONIS_CLUSTER_DIR/senders" audit="" sshd_log=""
    if ((EUID != 0)) || [[ ! -x /usr/sbin/rsyslogd ]] || ! compgen -G "/usr/lib/*/rsyslog/omrelp.so" > /dev/null; then
        platform_demo_notes+=("none: they need root and rsyslog with RELP (tests/setup.sh --tests installs it)")
        return 0
    fi
    mkdir -p "$dir/rsyslog"
    platform_demo_samba && audit="$(platform_samba_env MAKONIS_TEST_SAMBA_AUDIT_LOG)"
    platform_demo_sshd "$dir" && sshd_log="$dir/sshd.log"
    [[ -n "$audit$sshd_log" ]] || return 0
    platform_demo_rsyslog "$dir" "$audit" "$sshd_log"
    platform_demo_activity "$metrics" "$audit" "$sshd_log"
}

# platform_samba_env NAME: the value of NAME that `tests/directory/samba.sh env` exports.
platform_samba_env() {
    (eval "$(tests/directory/samba.sh env)" && printf '%s' "${!1}")
}

# platform_demo_samba: starts the Samba fixture (LDAPS on 127.0.0.1:636, its JSON audit
# in a file), or uses the one running already (and leaves it running at the end). Fails,
# with a note, when samba is not installed or cannot start (port 636 another server's).
# Once it has succeeded, it only succeeds again.
platform_demo_samba() {
    [[ -z "$platform_samba_ready" ]] || return 0
    if ! command -v samba > /dev/null; then
        platform_demo_notes+=("Samba AD DC: left out, samba is not installed (tests/setup.sh --tests installs it)")
        return 1
    fi
    tests/directory/samba.sh status || platform_samba_started=1
    if ! tests/directory/samba.sh start; then
        platform_samba_started=""
        platform_demo_notes+=("Samba AD DC: left out, it did not start (is port 636 another server's? see above)")
        return 1
    fi
    platform_samba_ready=1
    platform_demo_notes+=("Samba AD DC, realm LM.TEST, ldaps://127.0.0.1:636 (tests/directory/README.md), JSON audit $(platform_samba_env MAKONIS_TEST_SAMBA_AUDIT_LOG)")
}

# platform_demo_sshd DIR: an sshd on 127.0.0.1 (the first free port from 2222) that
# refuses every sign-in (keys only, none authorised), its host key and configuration in
# DIR, appending to DIR/sshd.log (kept across runs: rsyslog follows a file by its inode and
# offset, and a new file that reused an old inode would be read from the old offset on);
# waits until it listens.
platform_demo_sshd() {
    local dir="$1" port
    if [[ ! -x /usr/sbin/sshd ]]; then
        platform_demo_notes+=("sshd: left out, openssh-server is not installed (tests/setup.sh --tests installs it)")
        return 1
    fi
    for port in $(seq 2222 2299); do
        (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null || break
    done
    [[ -f "$dir/ssh_host_ed25519_key" ]] || ssh-keygen -q -t ed25519 -N "" -f "$dir/ssh_host_ed25519_key"
    printf '%s\n' "Port $port" "ListenAddress 127.0.0.1" "HostKey $dir/ssh_host_ed25519_key" \
        "PidFile $dir/sshd.pid" "UsePAM no" "PasswordAuthentication no" "KbdInteractiveAuthentication no" \
        "AuthorizedKeysFile none" "PermitRootLogin no" "LogLevel INFO" > "$dir/sshd_config"
    mkdir -p /run/sshd
    touch "$dir/sshd.log"
    local before
    before="$(wc -l < "$dir/sshd.log")"
    /usr/sbin/sshd -D -E "$dir/sshd.log" -f "$dir/sshd_config" &
    platform_pids+=("$!")
    platform_wait_until senders/sshd "${platform_pids[-1]}" "sshd on 127.0.0.1:$port" \
        platform_log_has_since "$dir/sshd.log" "$before" "Server listening"
    platform_demo_notes+=("sshd on 127.0.0.1:$port, refusing every sign-in (try: ssh -p $port someone@127.0.0.1), log $dir/sshd.log")
}

# platform_demo_rsyslog DIR AUDIT SSHD_LOG: one rsyslogd (work files in DIR, its own log
# DIR/rsyslog.log) following Samba's audit AUDIT and sshd's SSHD_LOG (either may be empty:
# left out) from where it stopped last time, forwarding each line over RELP to the SIEM
# on 127.0.0.1:2514 as RFC 5424: Samba's from 127.0.0.2, sshd's from 127.0.0.3 (their
# LogSources: manifests/examples/siem/demo-senders.yaml).
platform_demo_rsyslog() {
    local dir="$1" audit="$2" sshd_log="$3" relp='type="omrelp" target="127.0.0.1" port="2514" template="RSYSLOG_SyslogProtocol23Format"'
    {
        printf '%s\n' "global(workDirectory=\"$dir/rsyslog\" maxMessageSize=\"64k\")" \
            'module(load="imfile")' 'module(load="omrelp")'
        [[ -z "$audit" ]] || printf '%s\n' \
            "input(type=\"imfile\" File=\"$audit\" Tag=\"samba\" ruleset=\"domain-controller\" reopenOnTruncate=\"on\")" \
            "ruleset(name=\"domain-controller\") { action($relp localClientIp=\"127.0.0.2\") }"
        [[ -z "$sshd_log" ]] || printf '%s\n' \
            "input(type=\"imfile\" File=\"$sshd_log\" Tag=\"sshd\" ruleset=\"server\" reopenOnTruncate=\"on\")" \
            "ruleset(name=\"server\") { action($relp localClientIp=\"127.0.0.3\") }"
    } > "$dir/rsyslog.conf"
    /usr/sbin/rsyslogd -n -f "$dir/rsyslog.conf" -i "$dir/rsyslog.pid" > "$dir/rsyslog.log" 2>&1 &
    platform_pids+=("$!")
    platform_demo_notes+=("rsyslog forwarding both over RELP to 127.0.0.1:2514 (configuration $dir/rsyslog.conf):"
        "  Samba's audit from 127.0.0.2 to LogSource agency-lm/domain-controllers (directory),"
        "  sshd's log from 127.0.0.3 to agency-lm/servers (authentication)")
}

# platform_demo_activity METRICS AUDIT SSHD_LOG: a wrong and a right LDAPS bind of the
# portal's service account (when AUDIT is set) and a refused ssh sign-in (when SSHD_LOG
# is), then waits until the SIEM at METRICS has stored events of each sender.
platform_demo_activity() {
    local metrics="$1" audit="$2" sshd_log="$3" password port
    if [[ -n "$audit" ]]; then
        password="$(platform_samba_env MAKONIS_TEST_SAMBA_BIND_PASSWORD)"
        for password in "wrong-$password" "$password"; do
            LDAPTLS_CACERT="$(platform_samba_env MAKONIS_TEST_SAMBA_CA)" ldapsearch -x -H ldaps://127.0.0.1:636 \
                -D "$(platform_samba_env MAKONIS_TEST_SAMBA_BIND_DN)" -w "$password" -b "" -s base dn > /dev/null 2>&1 || true
        done
        platform_wait_until senders/rsyslog "${platform_pids[-1]}" "the Samba AD DC's events in the SIEM" \
            platform_siem_stored "$metrics" agency-lm/domain-controllers
    fi
    if [[ -n "$sshd_log" ]]; then
        port="$(sed -n 's/^Port //p' "$(dirname "$sshd_log")/sshd_config")"
        ssh -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
            demo-intruder@127.0.0.1 true > /dev/null 2>&1 || true
        platform_wait_until senders/rsyslog "${platform_pids[-1]}" "sshd's events in the SIEM" \
            platform_siem_stored "$metrics" agency-lm/servers
    fi
}

# platform_detection_rules METRICS: the sector's rule pack (monitoring/rules/) as
# ClusterDetectionRules that see every agency's events, through the SIEM's admission
# webhook (so the SIEM must be running); waits until the SIEM at METRICS evaluates them
# (events stored before that are not evaluated by them).
platform_detection_rules() {
    local metrics="$1" count
    count="$("$makonis" siem import-sigma monitoring/rules | kubectl apply --server-side -f - | tee /dev/stderr |
        grep -c serverside-applied)"
    platform_wait_until siem "$platform_siem_pid" "the SIEM to evaluate the $count rule objects" \
        platform_siem_rules_active "$metrics" "$count"
}

# platform_siem_rules_active METRICS COUNT: true once the SIEM at METRICS evaluates at
# least COUNT rule objects.
platform_siem_rules_active() {
    local active
    active="$(curl -fsS "http://$1/metrics" | sed -n 's/^makonis_siem_detection_rules{state="active"} \([0-9]*\).*/\1/p')"
    ((${active:-0} >= $2))
}

# platform_demo_attacks METRICS: what the demo's Security page is for: an SSH brute force
# against the demo sshd (12 sign-ins as unknown users from one address) and a password
# spray against the Samba AD DC (a wrong password for 9 accounts over LDAPS), then waits
# until the SIEM at METRICS has raised a high alert for each. Only with
# platform_demo_senders' senders running.
platform_demo_attacks() {
    local metrics="$1" dir="$MAKONIS_CLUSTER_DIR/senders" port user i
    if [[ -f "$dir/sshd_config" ]] && pgrep -f "$dir/sshd_config" > /dev/null; then
        port="$(sed -n 's/^Port //p' "$dir/sshd_config")"
        for i in $(seq 1 12); do
            ssh -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
                "guess$i@127.0.0.1" true > /dev/null 2>&1 || true
        done
        platform_wait_until siem "$platform_siem_pid" "the SSH brute-force alert" \
            platform_siem_alerted "$metrics" correlation 1
        platform_demo_notes+=("an SSH brute force (12 unknown users from 127.0.0.1) raised a high alert: see the portal's Security → Alerts")
    fi
    if tests/directory/samba.sh status > /dev/null 2>&1 && pgrep -f "$dir/rsyslog" > /dev/null; then
        for user in anna berzina liepa kalnins ozola egle priede osis kalna; do
            LDAPTLS_CACERT="$(platform_samba_env MAKONIS_TEST_SAMBA_CA)" ldapsearch -x -H ldaps://127.0.0.1:636 \
                -D "$user@lm.test" -w "Spray-$RANDOM" -b "" -s base dn > /dev/null 2>&1 || true
        done
        platform_wait_until siem "$platform_siem_pid" "the password-spraying alert" \
            platform_siem_alerted "$metrics" correlation 2
        platform_demo_notes+=("a password spray (9 accounts, one wrong password each, over LDAPS) raised a high alert")
    fi
}

# platform_siem_alerted METRICS KIND COUNT: true once the SIEM at METRICS has raised at
# least COUNT high alerts of KIND (detection or correlation).
platform_siem_alerted() {
    local raised
    raised="$(curl -fsS "http://$1/metrics" |
        sed -n "s/^makonis_siem_alerts_total{kind=\"$2\",level=\"high\"} \([0-9]*\).*/\1/p")"
    ((${raised:-0} >= $3))
}

# platform_log_has_since FILE LINES TEXT: true once FILE has TEXT after its first LINES lines.
platform_log_has_since() {
    tail -n "+$(($2 + 1))" "$1" | grep -q "$3"
}

# platform_siem_stored METRICS SOURCE: true once the SIEM at METRICS has stored an event of
# the LogSource SOURCE.
platform_siem_stored() {
    curl -fsS "http://$1/metrics" | grep -Eq "^makonis_siem_events_total\{source=\"$2\"\} [1-9]"
}

# platform_stop: stops every component started here (SIGTERM, then waits), the demo's
# Postfix and Dovecot, and the Samba fixture when platform_demo_samba started it.
platform_stop() {
    local pid
    platform_mail_stop
    for pid in "${platform_pids[@]}"; do
        if kill -0 "$pid" 2> /dev/null; then
            kill -TERM "$pid" 2> /dev/null || true
            wait "$pid" 2> /dev/null || true
        fi
    done
    platform_pids=()
    if [[ -n "$platform_samba_started" ]]; then
        tests/directory/samba.sh stop || true
        platform_samba_started="" platform_samba_ready=""
    fi
}
