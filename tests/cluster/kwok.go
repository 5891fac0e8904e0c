package main

// KWOK (Kubernetes WithOut Kubelet, sigs.k8s.io/kwok) simulates the kubelets of a few
// Nodes, so that Pods that kube-scheduler binds to them become Running and Ready and
// workload controllers make progress. No container runs anywhere.
//
// Before KWOK starts, the supervisor (as admin):
//   - creates or updates ClusterRole and ClusterRoleBinding "kwok-controller" (the rules
//     of KWOK's own kustomize/rbac/role.yaml) for the user kwok-controller, the CN of
//     DIR/pki/kwok.crt;
//   - creates the Nodes kwok-node-0..N-1 that are missing (annotation
//     kwok.x-k8s.io/node=fake, no taints, capacity 1000 CPU / 4Ti / 2000 pods, podCIDR
//     a /20), and sets that capacity on existing ones (a Node of an older DIR has a
//     /24 podCIDR, which cannot change: it gets at most 254 pods);
//   - deletes their Leases in kube-node-lease: a Lease left by the previous run's KWOK
//     would keep the new one (another holder identity) off the Node until it expires;
//   - writes DIR/kwok/kwok.yaml, KWOK's default stages (what `kwokctl` configures):
//     node-initialize, node-heartbeat-with-lease, pod-ready, pod-complete, pod-delete.
//
// The Nodes count as ready when they are Ready, untainted, and KWOK has taken their Lease.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	nodeheartbeatwithlease "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat-with-lease"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
)

const (
	kwokUser                = "kwok-controller" // CN of DIR/pki/kwok.crt, subject of its ClusterRoleBinding
	kwokRBACName            = "kwok-controller" // ClusterRole and ClusterRoleBinding
	kwokNodeAnnotation      = "kwok.x-k8s.io/node"
	kwokNodeAnnotationValue = "fake"
	kwokNodeCount           = 2
	kwokNodePrefix          = "kwok-node-"
	kwokLeaseSeconds        = 40
	// kwokNodeIP is every simulated Node's InternalIP (and so its Pods' hostIP): loopback,
	// where no kubelet listens, so nothing that tries to reach a "kubelet" leaves the machine.
	kwokNodeIP = "127.0.0.1"
	// kwokDefaultCIDR gives Pod IPs on a KWOK-managed Node without spec.podCIDR; the
	// supervisor's Nodes have 10.244.<16*i>.0/20 (a DIR created before: 10.244.<i>.0/24).
	// Pod IPs are made up: nothing answers there.
	kwokDefaultCIDR = "10.244.255.0/24"
	// Capacity (= allocatable) of each simulated Node: generous on purpose, nothing is
	// consumed. A benchmark that creates 1,000 Deployments or StatefulSets needs room
	// for 1,000+ Pods, with requests: with the former 32 CPU / 256Gi / 110 pods per Node
	// only 220 of 1,000 one-replica Deployments ever became Available (the other Pods
	// stayed Pending, unschedulable). Each Pod also takes one made-up IP of its Node's
	// podCIDR, and KWOK's IP pool does not stop at the end of the CIDR, so the pods
	// capacity never exceeds the podCIDR's addresses: a /20 (4,094) for new Nodes.
	kwokNodeCPU       = "1000"
	kwokNodeMemory    = "4Ti"
	kwokNodeEphemeral = "10Ti"
	kwokNodePods      = 2000
	kwokNodeCIDRBits  = 20
	schedulerUser     = "system:kube-scheduler"
)

// kwokNodeNames returns the names of the simulated Nodes.
func kwokNodeNames() []string {
	names := make([]string, kwokNodeCount)
	for i := range names {
		names[i] = kwokNodePrefix + strconv.Itoa(i)
	}
	return names
}

// kwokWorkDir is KWOK's work directory (env KWOK_WORKDIR of the kwok child), so that
// it reads DIR/kwok/kwok.yaml and never a ~/.kwok/kwok.yaml of whoever runs the cluster.
func kwokWorkDir(dir string) string { return filepath.Join(dir, "kwok") }

// writeKWOKConfig writes DIR/kwok/kwok.yaml (KWOK's default stages) and returns its path.
func writeKWOKConfig(dir string) (string, error) {
	wd := kwokWorkDir(dir)
	if err := os.MkdirAll(wd, 0o755); err != nil {
		return "", err
	}
	docs := []string{
		nodefast.DefaultNodeInit,
		nodeheartbeatwithlease.DefaultNodeHeartbeatWithLease,
		podfast.DefaultPodReady,
		podfast.DefaultPodComplete,
		podfast.DefaultPodDelete,
	}
	var b strings.Builder
	b.WriteString("# Written by makonis-cluster at every start; edits are overwritten.\n")
	b.WriteString("# KWOK's default stages (sigs.k8s.io/kwok/kustomize/stage/{node,pod}/...), as kwokctl uses them.\n")
	for _, d := range docs {
		b.WriteString("---\n")
		b.WriteString(strings.TrimSpace(d))
		b.WriteString("\n")
	}
	path := filepath.Join(wd, "kwok.yaml")
	return path, writeFileAtomic(path, []byte(b.String()), 0o644)
}

// kwokClusterRole has the rules of KWOK's kustomize/rbac/role.yaml (v0.8.0) for the
// core API; the kwok.x-k8s.io rules are left out because no KWOK CRD is installed.
func kwokClusterRole() *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: kwokRBACName},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"nodes/status", "pods/status"}, Verbs: []string{"patch", "update"}},
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"delete", "get", "list", "patch", "update", "watch"}},
			{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create", "get", "list", "patch", "update", "watch"}},
		},
	}
}

func kwokClusterRoleBinding() *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: kwokRBACName},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: kwokRBACName},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: kwokUser}},
	}
}

// kwokNode returns simulated Node number i as the supervisor creates it. KWOK's
// node-initialize stage then adds the conditions (Ready), nodeInfo and phase.
func kwokNode(i int) *corev1.Node {
	name := kwokNodePrefix + strconv.Itoa(i)
	// 10.244.0.0/20, 10.244.16.0/20, ...: room for 16 Nodes below kwokDefaultCIDR.
	cidr := fmt.Sprintf("10.244.%d.0/%d", i<<(24-kwokNodeCIDRBits), kwokNodeCIDRBits)
	resources, _ := kwokNodeResources(cidr)
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "kwok",
			},
			Annotations: map[string]string{
				kwokNodeAnnotation:             kwokNodeAnnotationValue,
				"node.alpha.kubernetes.io/ttl": "0",
			},
		},
		Spec: corev1.NodeSpec{PodCIDR: cidr, PodCIDRs: []string{cidr}},
		Status: corev1.NodeStatus{
			Capacity:    resources,
			Allocatable: resources,
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: kwokNodeIP},
				{Type: corev1.NodeHostName, Address: name},
			},
		},
	}
}

// kwokNodeResources is the capacity (and allocatable) of a simulated Node with podCIDR
// cidr, and whether the CIDR lowered the number of pods below kwokNodePods.
func kwokNodeResources(cidr string) (corev1.ResourceList, bool) {
	pods, limited := kwokNodePods, false
	if _, ipnet, err := net.ParseCIDR(cidr); err == nil {
		ones, bits := ipnet.Mask.Size()
		if bits-ones < 31 {
			if usable := 1<<(bits-ones) - 2; usable < pods {
				pods, limited = usable, true
			}
		}
	}
	return corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse(kwokNodeCPU),
		corev1.ResourceMemory:           resource.MustParse(kwokNodeMemory),
		corev1.ResourcePods:             *resource.NewQuantity(int64(pods), resource.DecimalSI),
		corev1.ResourceEphemeralStorage: resource.MustParse(kwokNodeEphemeral),
	}, limited
}

// ensureKWOKNodeCapacity sets the capacity and allocatable of an existing simulated
// Node (created by an older version, or changed by hand) to kwokNodeResources; KWOK's
// stages keep whatever the Node status has.
func ensureKWOKNodeCapacity(ctx context.Context, cs kubernetes.Interface, name string) error {
	n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	want, limited := kwokNodeResources(n.Spec.PodCIDR)
	if sameResources(n.Status.Capacity, want) && sameResources(n.Status.Allocatable, want) {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"capacity": want, "allocatable": want}})
	if err != nil {
		return err
	}
	if _, err := cs.CoreV1().Nodes().PatchStatus(ctx, name, patch); err != nil {
		return err
	}
	q := want[corev1.ResourcePods]
	logf("Node %s: capacity set to %s CPU, %s memory, %s pods", name, kwokNodeCPU, kwokNodeMemory, q.String())
	if limited {
		logf("Node %s has podCIDR %s (from an older DIR; it cannot change): at most %s pods; delete DIR for Nodes with %d", name, n.Spec.PodCIDR, q.String(), kwokNodePods)
	}
	return nil
}

// sameResources reports whether have has want's quantities (other resources ignored).
func sameResources(have, want corev1.ResourceList) bool {
	for k, w := range want {
		if h, ok := have[k]; !ok || h.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

// prepareKWOK creates KWOK's RBAC and the Nodes it simulates, and deletes stale Leases.
func prepareKWOK(ctx context.Context, cs kubernetes.Interface) error {
	rbac := cs.RbacV1()
	if err := createOrUpdate(ctx, kwokClusterRole(), rbac.ClusterRoles().Create, rbac.ClusterRoles().Get, rbac.ClusterRoles().Update); err != nil {
		return fmt.Errorf("ClusterRole %s: %w", kwokRBACName, err)
	}
	if err := createOrUpdate(ctx, kwokClusterRoleBinding(), rbac.ClusterRoleBindings().Create, rbac.ClusterRoleBindings().Get, rbac.ClusterRoleBindings().Update); err != nil {
		return fmt.Errorf("ClusterRoleBinding %s: %w", kwokRBACName, err)
	}
	for i := range kwokNodeCount {
		n := kwokNode(i)
		_, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			err = ensureKWOKNodeCapacity(ctx, cs, n.Name)
		}
		if err != nil {
			return fmt.Errorf("creating Node %s or setting its capacity: %w", n.Name, err)
		}
		err = cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Delete(ctx, n.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting the stale Lease of Node %s: %w", n.Name, err)
		}
	}
	return nil
}

// createOrUpdate creates obj, or replaces the existing object's content with it.
func createOrUpdate[T metav1.Object](ctx context.Context, obj T,
	create func(context.Context, T, metav1.CreateOptions) (T, error),
	get func(context.Context, string, metav1.GetOptions) (T, error),
	update func(context.Context, T, metav1.UpdateOptions) (T, error),
) error {
	_, err := create(ctx, obj, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	cur, err := get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return err
	}
	obj.SetResourceVersion(cur.GetResourceVersion())
	_, err = update(ctx, obj, metav1.UpdateOptions{})
	return err
}

// waitKWOKNodesReady waits until every simulated Node is Ready, has no not-ready taint
// (so Pods can be scheduled there), and has a Lease held by the running KWOK (the
// supervisor deleted the old Leases, so any Lease is the new one's).
func waitKWOKNodesReady(ctx context.Context, cs kubernetes.Interface, kwok *child, others childCheck, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		missing, err := kwokNodesNotReady(ctx, cs)
		if err == nil && len(missing) == 0 {
			return nil
		}
		if err := others(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("not ready: %s", strings.Join(missing, ", "))
			}
			return fmt.Errorf("KWOK nodes not ready after %s (%v); see %s", timeout, err, kwok.LogPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// kwokNodesNotReady lists the simulated Nodes that are not Ready, still tainted, or have
// no Lease yet.
func kwokNodesNotReady(ctx context.Context, cs kubernetes.Interface) ([]string, error) {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var missing []string
	for _, name := range kwokNodeNames() {
		n, err := cs.CoreV1().Nodes().Get(rctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		if !nodeReady(n) {
			missing = append(missing, name+" (not Ready)")
			continue
		}
		if t := notReadyTaint(n); t != "" {
			missing = append(missing, name+" (taint "+t+")")
			continue
		}
		var lease *coordinationv1.Lease
		lease, err = cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(rctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && lease.Spec.HolderIdentity == nil) {
			missing = append(missing, name+" (no Lease)")
			continue
		}
		if err != nil {
			return nil, err
		}
	}
	return missing, nil
}

// notReadyTaint returns the key of a taint that the node-lifecycle controller (or the
// TaintNodesByCondition admission plugin, on a new Node) puts on a Node that is not
// Ready yet, or "" if there is none: until it is gone nothing is scheduled there.
func notReadyTaint(n *corev1.Node) string {
	for _, t := range n.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
			return t.Key
		}
	}
	return ""
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
