package main

// The command lines of the children. Everything else stays at upstream defaults
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

	// Client rate limits towards kube-apiserver of the controller manager, the scheduler
	// and the volume provisioner. Upstream's defaults (controller manager 20 QPS / burst
	// 30, scheduler 50 / 100) are client-side token buckets meant to protect a shared
	// production apiserver; here they are the bottleneck when a benchmark creates
	// 1,000 Deployments or StatefulSets at once (each object costs the controllers
	// several writes: ReplicaSet, Pods, status updates, and the scheduler one binding
	// per Pod). The apiserver stays protected by API Priority and Fairness, which is on.
	// With --use-service-account-credentials every controller has its own client, and
	// so its own bucket of this size.
	clientQPS   = "500"
	clientBurst = "1000"
	// concurrentWorkloadSyncs is the number of workers of the Deployment, ReplicaSet and
	// StatefulSet controllers (upstream: 5 each): more objects reconciled in parallel
	// while many are created at once; each worker mostly waits on the apiserver.
	concurrentWorkloadSyncs = "20"
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
	// Workloads (Pods are scheduled by kube-scheduler and "run" on KWOK's simulated nodes):
	"deployment-controller",                  // Deployments -> ReplicaSets, rollouts, Available/Progressing
	"replicaset-controller",                  // ReplicaSets -> Pods
	"statefulset-controller",                 // StatefulSets -> ordered Pods
	"daemonset-controller",                   // DaemonSets -> one Pod per (KWOK) node
	"job-controller",                         // Jobs -> Pods, Complete/Failed
	"cronjob-controller",                     // CronJobs -> Jobs
	"ttl-after-finished-controller",          // deletes finished Jobs with ttlSecondsAfterFinished
	"replicationcontroller-controller",       // legacy ReplicationControllers -> Pods
	"disruption-controller",                  // PodDisruptionBudget status
	"pod-garbage-collector-controller",       // deletes Pods bound to Nodes that no longer exist
	"node-lifecycle-controller",              // removes the not-ready taint that admission puts on new Nodes; watches Node Leases
	"endpointslice-controller",               // Service -> EndpointSlices of its ready Pods
	"endpointslice-mirroring-controller",     // custom Endpoints -> EndpointSlices
	"endpoints-controller",                   // Service -> (deprecated) Endpoints, still read by some clients
	"persistentvolume-binder-controller",     // binds PVCs and PVs; marks claims of makonis-simulated for the volume-provisioner
	"persistentvolume-protection-controller", // removes the pv-protection finalizer of unbound PVs
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
		"--audit-webhook-config-file=" + filepath.Join(dir, auditWebhookFile),
		"--audit-webhook-mode=batch",
		"--audit-webhook-batch-max-wait=1s",
		"--audit-webhook-initial-backoff=1s",
		// Reach a "kubelet" (kubectl logs/exec/port-forward) only through a Node's
		// InternalIP. KWOK's Nodes have 127.0.0.1 and no kubelet listens there, so such a
		// request fails at once instead of resolving a Node's made-up hostname.
		"--kubelet-preferred-address-types=InternalIP",
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
		// Throughput for benchmarks; see clientQPS and concurrentWorkloadSyncs.
		"--kube-api-qps=" + clientQPS,
		"--kube-api-burst=" + clientBurst,
		"--concurrent-deployment-syncs=" + concurrentWorkloadSyncs,
		"--concurrent-replicaset-syncs=" + concurrentWorkloadSyncs,
		"--concurrent-statefulset-syncs=" + concurrentWorkloadSyncs,
		// A ResourceQuota created before the quota controller has discovered a new kind
		// (a CRD such as ServiceInstance, found by a discovery sync every 30 s) keeps
		// "status unknown" for that kind, and the API server refuses to create such
		// objects, until the next full recalculation: 5 minutes by default. Recalculating
		// every 10 s costs nothing on a cluster this size and lets tests and ./run.sh
		// install CRDs and create agencies back to back.
		"--resource-quota-sync-period=10s",
	}
}

// schedulerArgs returns kube-scheduler's flags. It serves /readyz, /healthz and /livez
// on 127.0.0.1:port with a certificate from the cluster CA; the supervisor polls
// /readyz. Without --authentication-kubeconfig/--authorization-kubeconfig those three
// paths (always allowed) are all it serves: /metrics answers 403.
func schedulerArgs(kubeconfig string, port int, p pki) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + p.SchedServingCert,
		"--tls-private-key-file=" + p.SchedServingKey,
		// Throughput for benchmarks (upstream default 50 QPS / burst 100; one binding per
		// Pod plus events); see clientQPS. Still flags in 1.37, in the same "deprecated"
		// group as --kubeconfig above: they only apply without --config, so no
		// KubeSchedulerConfiguration file is needed.
		"--kube-api-qps=" + clientQPS,
		"--kube-api-burst=" + clientBurst,
	}
}

// kwokArgs returns the KWOK controller's flags. It manages the Nodes annotated
// kwok.x-k8s.io/node=fake, renews their Leases, and plays the stages in configPath.
// Without --server-address and --node-port it serves nothing. There is no QPS flag to
// raise: KWOK's client has no client-side rate limit at all (sigs.k8s.io/kwok
// pkg/utils/client/clientset.go sets flowcontrol.NewFakeAlwaysRateLimiter()).
func kwokArgs(kubeconfig, configPath string) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--config=" + configPath,
		"--manage-nodes-with-annotation-selector=" + kwokNodeAnnotation + "=" + kwokNodeAnnotationValue,
		"--node-lease-duration-seconds=" + strconv.Itoa(kwokLeaseSeconds),
		"--node-ip=" + kwokNodeIP,
		"--cidr=" + kwokDefaultCIDR,
	}
}

// volumeProvisionerArgs returns the volume provisioner's flags (provisioner.go).
func volumeProvisionerArgs(kubeconfig, dir string) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--volumes-dir=" + volumesDir(dir),
		"--ready-file=" + provisionerReadyFile(dir),
		"--kube-api-qps=" + clientQPS,
		"--kube-api-burst=" + clientBurst,
	}
}
