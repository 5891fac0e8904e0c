package main

// The audit policy of kube-apiserver: one JSON line per write request (create, update,
// patch, delete, deletecollection) at level Metadata in DIR/audit.log, logged when the
// response is complete (the RequestReceived stage is omitted), nothing for reads. Tests
// count an operator's writes from that file (filter on .user.username).

import (
	"os"
	"path/filepath"
	"strconv"
)

const auditPolicyFile = "audit-policy.yaml"

const auditPolicy = `# Written by makonis-cluster at every start; edits are overwritten.
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages:
  - RequestReceived
rules:
  - level: Metadata
    verbs: ["create", "update", "patch", "delete", "deletecollection"]
  - level: None
`

// writeAuditPolicy writes DIR/audit-policy.yaml.
func writeAuditPolicy(dir string) error {
	return writeFileAtomic(filepath.Join(dir, auditPolicyFile), []byte(auditPolicy), os.FileMode(0o644))
}

// The audit webhook backend: kube-apiserver also posts its audit events (batches of
// EventList, at most a second apart) to the SIEM's HTTPS intake on
// 127.0.0.1:API_PORT+siemPortOffset, authenticating with DIR/pki/siem-apiserver.crt.
// Nothing needs to listen there: batches that find no SIEM are dropped after the
// webhook's retries, and the API server goes on serving (the mode is batch, not
// blocking); the audit log above stays the complete record.
const (
	auditWebhookFile = "audit-webhook.kubeconfig"
	// siemPortOffset: the SIEM intake's port is the API server port + this.
	siemPortOffset = 1000
	// platformNamespace is the namespace the API server's client certificate is issued
	// for: the SIEM honours it only for that namespace's LogSources.
	platformNamespace = "makonis-system"
	// siemEventsPath is where the SIEM's HTTPS intake takes JSON records.
	siemEventsPath = "/v1/events"
)

func siemPortFor(apiPort int) int { return apiPort + siemPortOffset }

// writeAuditWebhook writes DIR/audit-webhook.kubeconfig, pointing at the SIEM intake.
func writeAuditWebhook(dir string, apiPort int, p pki) error {
	server := "https://127.0.0.1:" + strconv.Itoa(siemPortFor(apiPort)) + siemEventsPath
	return writeKubeconfig(filepath.Join(dir, auditWebhookFile), server, "kube-apiserver",
		p.SIEMCACert, p.SIEMAPIServerCert, p.SIEMAPIServerKey)
}
