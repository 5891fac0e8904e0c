package main

// The audit policy of kube-apiserver: one JSON line per write request (create, update,
// patch, delete, deletecollection) at level Metadata in DIR/audit.log, logged when the
// response is complete (the RequestReceived stage is omitted), nothing for reads. Tests
// count an operator's writes from that file (filter on .user.username).

import (
	"os"
	"path/filepath"
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
