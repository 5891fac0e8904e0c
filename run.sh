#!/usr/bin/env bash
# Sets up and runs Mākonis locally: builds everything, starts the local Kubernetes control
# plane, installs the CRDs, RBAC and the webhook registrations, starts the tenancy,
# catalog and compute operators and the SLO engine (each under its own ServiceAccount;
# the engine probes the demo services through the control plane's stand-in ingress and
# judges agencies' Probes at admission), creates the twelve demo agencies, publishes the
# sector's catalog, orders a few services and waits until they are Ready, creates a host
# pool on libvirt's test hypervisor with a demo virtual machine, makes a Samba AD domain
# controller the sector's directory (the identity operator gives each agency its OU, role
# groups and a demo person) and starts the mail system (the mail operator renders real
# Postfix and Dovecot that read that directory; each demo person gets a mailbox), starts
# the SIEM (the API server sends it its audit events; the domain controller and an sshd on
# this machine send theirs through rsyslog), then starts the self-service portal with
# demo users (shipping its audit trail to the SIEM), measures it as the platform's own
# objective, and prints its URL, their passwords, and the commands that send a demo
# person a mail and read it over IMAP. The directory, mail and log senders need root;
# without it they are left out, with a note.
# Everything stays in the foreground; Ctrl-C stops it and the control plane (their data
# stays in target/cluster/dev for the next run).
#
# Usage: ./run.sh
# Environment: MAKONIS_CLUSTER_PORT (default 6443), MAKONIS_METRICS_ADDRESS (tenancy
#              operator, default 127.0.0.1:9464), MAKONIS_CATALOG_METRICS_ADDRESS
#              (default 127.0.0.1:9465), MAKONIS_COMPUTE_METRICS_ADDRESS (default
#              127.0.0.1:9466), MAKONIS_SLO_METRICS_ADDRESS (default 127.0.0.1:9467),
#              MAKONIS_PORTAL_ADDRESS (default 127.0.0.1:8080),
#              MAKONIS_PORTAL_METRICS_ADDRESS (the portal's /metrics, default 127.0.0.1:9468),
#              MAKONIS_SIEM_METRICS_ADDRESS (default 127.0.0.1:9469),
#              MAKONIS_IDENTITY_METRICS_ADDRESS (default 127.0.0.1:9470),
#              MAKONIS_MAIL_METRICS_ADDRESS (default 127.0.0.1:9471),
#              MAKONIS_MAIL_SMTP_PORT (default 2525), MAKONIS_MAIL_SUBMISSION_PORT
#              (default 5587), MAKONIS_MAIL_IMAPS_PORT (default 9993), MAKONIS_MAIL_DKIM_PORT
#              (default 8891),
#              MAKONIS_LOG (default info). The catalog's webhook listens on
#              127.0.0.1:9443, the compute one on 127.0.0.1:9444, the SLO
#              engine's on 127.0.0.1:9445 and the SIEM's on 127.0.0.1:9446, where
#              manifests/local registers them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

tests/setup.sh --demo
export MAKONIS_CLUSTER_DIR="target/cluster/dev"
export MAKONIS_CLUSTER_PORT="${MAKONIS_CLUSTER_PORT:-6443}"
metrics_address="${MAKONIS_METRICS_ADDRESS:-127.0.0.1:9464}"
catalog_metrics_address="${MAKONIS_CATALOG_METRICS_ADDRESS:-127.0.0.1:9465}"
compute_metrics_address="${MAKONIS_COMPUTE_METRICS_ADDRESS:-127.0.0.1:9466}"
slo_metrics_address="${MAKONIS_SLO_METRICS_ADDRESS:-127.0.0.1:9467}"
portal_address="${MAKONIS_PORTAL_ADDRESS:-127.0.0.1:8080}"
portal_metrics_address="${MAKONIS_PORTAL_METRICS_ADDRESS:-127.0.0.1:9468}"
siem_metrics_address="${MAKONIS_SIEM_METRICS_ADDRESS:-127.0.0.1:9469}"
identity_metrics_address="${MAKONIS_IDENTITY_METRICS_ADDRESS:-127.0.0.1:9470}"
mail_metrics_address="${MAKONIS_MAIL_METRICS_ADDRESS:-127.0.0.1:9471}"

step() { printf '\n==> %s\n' "$*"; }

step "building makonis"
cargo build --locked --bin makonis
makonis="$PWD/target/debug/makonis"

step "starting the local control plane"
tests/cluster/cluster.sh start
eval "$(tests/cluster/cluster.sh env)"

# shellcheck source=tests/platform.sh
. tests/platform.sh
cleanup() {
    trap - EXIT INT TERM
    platform_stop
    tests/cluster/cluster.sh stop
}
trap cleanup EXIT INT TERM

step "installing the CRDs, the platform namespace, RBAC and the webhook registrations"
platform_install

step "starting the tenancy, catalog and compute operators, each as its own ServiceAccount"
platform_operators "$metrics_address" "$catalog_metrics_address" "$compute_metrics_address"

step "starting the SLO engine as ServiceAccount makonis-system/makonis-slo"
platform_slo "$slo_metrics_address"

step "creating the twelve demo agencies and publishing the sector's catalog"
platform_directory_possible || true
platform_agencies_and_catalog
kubectl get agencies
kubectl get catalogitems

if [[ -n "$platform_directory_base" ]]; then
    # Before the orders: the DMS and VDI IS get their directory service accounts, and an
    # order is Ready only once its account is.
    step "the sector's directory: Samba AD as Directory demo, the identity operator, every agency's OU and role groups"
    platform_directory "$identity_metrics_address"
    kubectl get directories
fi

step "ordering demo services"
platform_demo_orders
kubectl wait --for=jsonpath='{.status.phase}'=Ready --timeout=180s -A serviceinstances --all
kubectl get serviceinstances -A

step "creating a host pool on the test hypervisor and a demo virtual machine"
platform_demo_compute
kubectl get hostpools
kubectl get vm,volume,backup -A

if [[ -n "$platform_directory_base" ]]; then
    step "the mail system: the mail operator, a demo person with a mailbox in every agency, Postfix and Dovecot"
    platform_mail "$mail_metrics_address"
    platform_demo_people
    platform_mail_servers
    kubectl get directoryusers,maildomains,mailboxes -A
fi

step "starting the SIEM as ServiceAccount makonis-system/makonis-siem"
platform_demo_log_sources
platform_siem "$siem_metrics_address"

step "the sector's detection rules (monitoring/rules/) as ClusterDetectionRules"
platform_detection_rules "$siem_metrics_address"

step "starting the demo's log senders: a Samba AD DC and an sshd, forwarded by rsyslog over RELP"
platform_demo_senders "$siem_metrics_address"

step "a scripted SSH brute force and a password spray, detected by the SIEM"
platform_demo_attacks "$siem_metrics_address"

step "starting the self-service portal as ServiceAccount makonis-system/makonis-portal"
accounts="$MAKONIS_CLUSTER_DIR/demo-accounts.txt"
platform_demo_accounts "$accounts"
mapfile -t portal_siem_args < <(platform_portal_siem_args)
platform_portal "$portal_address" "$portal_metrics_address" "${portal_siem_args[@]}"

step "measuring the portal as the platform's own objective"
platform_slo_objective "$portal_address"
kubectl get probes,slo -A

cat << EOF

Mākonis is running.
  In another terminal:   eval "\$(tests/cluster/cluster.sh env)"
                         kubectl get agencies                  # the twelve agencies
                         kubectl get catalogitems              # the sector's catalog
                         kubectl get si -A                     # ordered services and their phase
                         kubectl describe si -n agency-vdi atvertie-dati
                         kubectl get deploy,sts,svc,pvc,ingress -n agency-vdi -l makonis.lv/instance=atvertie-dati
                         kubectl get hostpools                 # hypervisor hosts, reachable, room
                         kubectl get vm,volume,backup -A       # virtual machines, disks, backups
                         kubectl get probes,slo -A             # what is measured, availability, state
                         kubectl get logsources -A             # security-log sources, last event, state
                         kubectl get directories,directoryusers,directorygroups -A   # the sector's directory
                         kubectl get maildomains,mailboxes -A  # mail: domains (DNS records in status), mailboxes
  Order a service:       docs/agency-guide.md ("Ordering a service"); the catalog: docs/catalog/
  Operator metrics:      http://$metrics_address/metrics (tenancy), http://$catalog_metrics_address/metrics (catalog),
                         http://$compute_metrics_address/metrics (compute), http://$slo_metrics_address/metrics (SLO engine),
                         http://$portal_metrics_address/metrics (portal), http://$siem_metrics_address/metrics (SIEM),
                         http://$identity_metrics_address/metrics (identity), http://$mail_metrics_address/metrics (mail)
  Operator logs:         $MAKONIS_CLUSTER_DIR/{tenancy,catalog,compute,identity,mail}-operator.log, slo.log
  SLA report:            http://$portal_address/reports/sla
  API server audit log:  $MAKONIS_CLUSTER_DIR/audit.log
  Portal log:            $MAKONIS_CLUSTER_DIR/portal.log
  Security pages:        http://$portal_address/security (sign in as security: every agency's logs;
                         as <agency>-security: that agency's), /security/sources, /security/report
  Security logs (SIEM):  store $MAKONIS_CLUSTER_DIR/siem/store, log siem.log; check the chains with
                         $makonis siem verify --store $MAKONIS_CLUSTER_DIR/siem/store \\
                           --checkpoint-log $MAKONIS_CLUSTER_DIR/siem/checkpoints/checkpoints.jsonl \\
                           --public-key \$(cat $MAKONIS_CLUSTER_DIR/siem/checkpoint.pub) --from \$(date -u +%F)
  Demo log senders:      $(printf '%s\n' "${platform_demo_notes[@]}" | sed '2,$s/^/                         /')

$(platform_mail_summary)

The self-service portal: http://$portal_address/
Demo users (also in $accounts; new passwords on every start):
$(cat "$accounts")

Press Ctrl-C to stop the portal, the operators and the control plane.
EOF
wait -n "${platform_pids[@]}"
