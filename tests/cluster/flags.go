package main

// The command lines of the two children. Everything else stays at upstream defaults
// (notably the default admission plugins: NamespaceLifecycle, ServiceAccount,
// StorageObjectInUseProtection, ResourceQuota, ... stay on).

import (
	"path/filepath"
	"strconv"
	"strings"
)

const (
	// serviceAccountIssuer is also the audience of tokens from `kubectl create token`.
	serviceAccountIssuer = "https://kubernetes.default.svc.cluster.local"
	serviceClusterIPs    = "10.96.0.0/16"
)

// enabledControllers are the only controllers kube-controller-manager runs (names as
// accepted by --controllers in 1.37; see README.md for why each one is there).
var enabledControllers = []string{
	"garbage-collector-controller",                // deletes dependents of deleted owners (ownerReferences)
	"namespace-controller",                        // finishes namespace deletion
	"serviceaccount-controller",                   // creates the "default" ServiceAccount in every namespace
	"serviceaccount-token-controller",             // fills kubernetes.io/service-account-token Secrets
	"resourcequota-controller",                    // computes ResourceQuota status.used
	"persistentvolumeclaim-protection-controller", // removes the pvc-protection finalizer of unused PVCs
	"root-ca-certificate-publisher-controller",    // kube-root-ca.crt ConfigMap in every namespace
	"clusterrole-aggregation-controller",          // fills the aggregated admin/edit/view ClusterRoles
}

// apiServerArgs returns kube-apiserver's flags.
func apiServerArgs(dir string, port int, etcdURL string, p pki) []string {
	return []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none",
		"--tls-cert-file=" + p.ServingCert,
		"--tls-private-key-file=" + p.ServingKey,
		"--client-ca-file=" + p.CACert,
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=" + serviceAccountIssuer,
		"--service-account-key-file=" + p.ServiceAcctPub,
		"--service-account-signing-key-file=" + p.ServiceAccountKey,
		"--api-audiences=" + serviceAccountIssuer,
		"--service-cluster-ip-range=" + serviceClusterIPs,
		"--audit-policy-file=" + filepath.Join(dir, auditPolicyFile),
		"--audit-log-path=" + filepath.Join(dir, "audit.log"),
		"--audit-log-format=json",
		"--audit-log-mode=blocking",
		"--audit-log-maxsize=0", // no rotation: tests read one file
	}
}

// controllerManagerArgs returns kube-controller-manager's flags.
func controllerManagerArgs(kubeconfig string, p pki) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--controllers=" + strings.Join(enabledControllers, ","),
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=0", // no health/metrics endpoint: the supervisor watches the process
		"--root-ca-file=" + p.CACert,
		"--service-account-private-key-file=" + p.ServiceAccountKey,
		// true, as kubeadm does: every controller acts as its own ServiceAccount in
		// kube-system (system:serviceaccount:kube-system:namespace-controller, ...), which
		// upstream's bootstrap RBAC policy (system:controller:* roles) authorizes. With
		// false they all act as system:kube-controller-manager, whose bootstrap role does not
		// let them delete namespace content, collect garbage or publish kube-root-ca.crt.
		"--use-service-account-credentials=true",
	}
}
