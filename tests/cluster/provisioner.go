package main

// `makonis-cluster volume-provisioner`: a simulated dynamic volume provisioner, what KWOK
// is for kubelets but for storage. No data is ever stored: it creates PersistentVolume
// objects (and an empty directory per volume) so that PersistentVolumeClaims bind and
// the Pods that use them can be scheduled and "run" on KWOK's Nodes.
//
// It acts as the user makonis-volume-provisioner (DIR/pki/volume-provisioner.crt),
// authorized only by ClusterRole makonis-volume-provisioner (volumes.go), and watches,
// with informers:
//
//   - PersistentVolumeClaims annotated volume.kubernetes.io/storage-provisioner:
//     makonis.lv/simulated-volumes (or the beta annotation). kube-controller-manager's
//     persistentvolume-binder-controller sets it on every unbound claim whose
//     StorageClass names that provisioner (for an Immediate class at once; for a
//     WaitForFirstConsumer class once the scheduler picked a node). For such a claim
//     that is Pending and has no spec.volumeName it creates PersistentVolume
//     pvc-<claim uid>: capacity = the claim's storage request, the claim's access modes
//     and volume mode, the class's name, reclaim policy and mount options, claimRef =
//     the claim (namespace, name, uid), annotation pv.kubernetes.io/provisioned-by, and
//     hostPath DIR/volumes/pvc-<claim uid> (created, never written to). The binder then
//     binds claim and volume. The name derives from the claim's uid, so a restart or a
//     retry can never create a second volume for one claim (AlreadyExists = done).
//     A Bound claim whose storage request grew beyond its volume's capacity is
//     "expanded": the PersistentVolume's capacity and then the claim's status.capacity
//     are set to the request (the PersistentVolumeClaimResize admission plugin allows
//     the larger request only if the class has allowVolumeExpansion).
//   - PersistentVolumes annotated pv.kubernetes.io/provisioned-by: makonis.lv/simulated-volumes.
//     One that is Released (its claim is gone) with reclaim policy Delete is deleted,
//     and its directory removed; Retain keeps it (delete it by hand; its directory goes
//     when the object does). The binder ignores such volumes: it leaves deletion to the
//     external provisioner that the annotation names.
//
// At start, after the informers have synced and before any work, it removes directories
// in DIR/volumes that belong to no PersistentVolume (volumes deleted while it was
// stopped), then writes its ready file (--ready-file), which the supervisor waits for.
// Every action is one log line on stderr (DIR/volume-provisioner.log) and an Event on
// the claim or volume.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
)

const (
	// provisionerName is the StorageClass provisioner this child serves.
	provisionerName = "makonis.lv/simulated-volumes"
	// Annotations of the PV controller and of external provisioners
	// (k8s.io/component-helpers/storage/volume; copied, not imported: that module is
	// only an indirect dependency here).
	annStorageProvisioner     = "volume.kubernetes.io/storage-provisioner"
	annBetaStorageProvisioner = "volume.beta.kubernetes.io/storage-provisioner"
	annBetaStorageClass       = "volume.beta.kubernetes.io/storage-class"
	annProvisionedBy          = "pv.kubernetes.io/provisioned-by"
	// provisionerComponent is the source of its Events and its client's user agent.
	provisionerComponent = "makonis-volume-provisioner"
	provisionerResync    = 5 * time.Minute
)

// queueItem is a claim ("namespace/name") or a volume ("name") to reconcile.
type queueItem struct {
	volume bool
	key    string
}

type volumeProvisioner struct {
	client   kubernetes.Interface
	claims   corelisters.PersistentVolumeClaimLister
	volumes  corelisters.PersistentVolumeLister
	classes  storagelisters.StorageClassLister
	queue    workqueue.TypedRateLimitingInterface[queueItem]
	recorder record.EventRecorder
	root     string // DIR/volumes: one directory per provisioned volume
}

// runVolumeProvisioner is the volume-provisioner child; it returns its exit code.
func runVolumeProvisioner(args []string) int {
	fs := flag.NewFlagSet(subVolumeProvisioner, flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the provisioner's identity (required)")
	root := fs.String("volumes-dir", "", "directory under which each volume gets a directory named after it (required)")
	readyFile := fs.String("ready-file", "", "file written once the informers have synced and work has started")
	qps := fs.Float64("kube-api-qps", 500, "client QPS towards kube-apiserver")
	burst := fs.Int("kube-api-burst", 1000, "client burst towards kube-apiserver")
	workers := fs.Int("workers", 8, "claims and volumes reconciled in parallel")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *kubeconfig == "" || *root == "" || *workers < 1 {
		fmt.Fprintln(os.Stderr, "volume-provisioner: --kubeconfig and --volumes-dir are required, --workers must be >= 1")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := provisionerMain(ctx, *kubeconfig, *root, *readyFile, float32(*qps), *burst, *workers); err != nil {
		provLogf("error: %v", err)
		return 1
	}
	provLogf("stopped")
	return 0
}

func provisionerMain(ctx context.Context, kubeconfig, root, readyFile string, qps float32, burst, workers int) error {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(absRoot, 0o755); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst, cfg.UserAgent = qps, burst, provisionerComponent
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}

	factory := informers.NewSharedInformerFactory(cs, provisionerResync)
	claimInformer := factory.Core().V1().PersistentVolumeClaims()
	volumeInformer := factory.Core().V1().PersistentVolumes()
	classInformer := factory.Storage().V1().StorageClasses()

	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events("")})
	defer broadcaster.Shutdown()

	p := &volumeProvisioner{
		client:  cs,
		claims:  claimInformer.Lister(),
		volumes: volumeInformer.Lister(),
		classes: classInformer.Lister(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[queueItem](),
			workqueue.TypedRateLimitingQueueConfig[queueItem]{Name: "volume-provisioner"}),
		recorder: broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: provisionerComponent}),
		root:     absRoot,
	}
	if _, err := claimInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    p.enqueueClaim,
		UpdateFunc: func(_, obj any) { p.enqueueClaim(obj) },
	}); err != nil {
		return err
	}
	if _, err := volumeInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    p.enqueueVolume,
		UpdateFunc: func(_, obj any) { p.enqueueVolume(obj) },
		DeleteFunc: p.enqueueVolume,
	}); err != nil {
		return err
	}

	factory.Start(ctx.Done())
	defer factory.Shutdown()
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("informer for %v did not sync", typ)
		}
	}
	if err := p.removeOrphanDirs(); err != nil {
		return err
	}

	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for p.processNext(ctx) {
			}
		})
	}
	if readyFile != "" {
		if err := writeFileAtomic(readyFile, []byte(time.Now().Format(time.RFC3339)+"\n"), 0o644); err != nil {
			p.queue.ShutDown()
			wg.Wait()
			return err
		}
		defer os.Remove(readyFile)
	}
	provLogf("ready: provisioner %s, volumes in %s, %d workers", provisionerName, absRoot, workers)

	<-ctx.Done()
	p.queue.ShutDown()
	wg.Wait()
	return nil
}

// claimProvisioner is the provisioner the PV controller asked to provision claim.
func claimProvisioner(claim *corev1.PersistentVolumeClaim) string {
	if v := claim.Annotations[annStorageProvisioner]; v != "" {
		return v
	}
	return claim.Annotations[annBetaStorageProvisioner]
}

// claimClass is the claim's StorageClass name (the beta annotation wins, as upstream).
func claimClass(claim *corev1.PersistentVolumeClaim) string {
	if v, ok := claim.Annotations[annBetaStorageClass]; ok {
		return v
	}
	if claim.Spec.StorageClassName != nil {
		return *claim.Spec.StorageClassName
	}
	return ""
}

func ours(pv *corev1.PersistentVolume) bool {
	return pv.Annotations[annProvisionedBy] == provisionerName
}

func (p *volumeProvisioner) enqueueClaim(obj any) {
	claim, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok || claimProvisioner(claim) != provisionerName {
		return
	}
	p.queue.Add(queueItem{key: claim.Namespace + "/" + claim.Name})
}

func (p *volumeProvisioner) enqueueVolume(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pv, ok := obj.(*corev1.PersistentVolume)
	if !ok || !ours(pv) {
		return
	}
	p.queue.Add(queueItem{volume: true, key: pv.Name})
}

// processNext reconciles one item; false once the queue is shut down.
func (p *volumeProvisioner) processNext(ctx context.Context) bool {
	item, shutdown := p.queue.Get()
	if shutdown {
		return false
	}
	defer p.queue.Done(item)
	var err error
	if item.volume {
		err = p.syncVolume(ctx, item.key)
	} else {
		err = p.syncClaim(ctx, item.key)
	}
	if err != nil && ctx.Err() == nil {
		provLogf("error: %v (retrying)", err)
		p.queue.AddRateLimited(item)
		return true
	}
	p.queue.Forget(item)
	return true
}

// syncClaim provisions a volume for a Pending claim of ours, or expands a Bound one.
func (p *volumeProvisioner) syncClaim(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	claim, err := p.claims.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil // deleted: the binder marks its volume Released; syncVolume takes over
	}
	if err != nil {
		return err
	}
	if claim.DeletionTimestamp != nil || claimProvisioner(claim) != provisionerName {
		return nil
	}
	if claim.Spec.VolumeName != "" {
		if claim.Status.Phase == corev1.ClaimBound {
			return p.expand(ctx, claim)
		}
		return nil // binding in progress
	}
	if claim.Status.Phase != corev1.ClaimPending {
		return nil
	}
	return p.provision(ctx, claim)
}

// volumeName is the name of the volume provisioned for claim: one per claim, ever.
func volumeName(claim *corev1.PersistentVolumeClaim) string { return "pvc-" + string(claim.UID) }

func (p *volumeProvisioner) provision(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	pvName := volumeName(claim)
	if _, err := p.volumes.Get(pvName); err == nil {
		return nil // already provisioned; the binder binds it
	}
	className := claimClass(claim)
	class, err := p.classes.Get(className)
	if err != nil {
		return fmt.Errorf("claim %s/%s: StorageClass %q: %w", claim.Namespace, claim.Name, className, err)
	}
	if class.Provisioner != provisionerName {
		return nil
	}
	// As sig-storage-lib-external-provisioner does: a selector could never be honoured.
	if claim.Spec.Selector != nil {
		p.recorder.Event(claim, corev1.EventTypeWarning, "ProvisioningFailed", "claim selector is not supported by "+provisionerName)
		return nil
	}
	size, ok := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok || size.Sign() <= 0 {
		p.recorder.Event(claim, corev1.EventTypeWarning, "ProvisioningFailed", "claim has no storage request")
		return nil
	}
	reclaim := corev1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	dir, err := p.volumeDir(pvName)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	hostPathType := corev1.HostPathDirectoryOrCreate
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        pvName,
			Annotations: map[string]string{annProvisionedBy: provisionerName},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   claim.Spec.AccessModes,
			VolumeMode:                    claim.Spec.VolumeMode,
			StorageClassName:              class.Name,
			MountOptions:                  class.MountOptions,
			PersistentVolumeReclaimPolicy: reclaim,
			ClaimRef: &corev1.ObjectReference{
				Kind:       "PersistentVolumeClaim",
				APIVersion: "v1",
				Namespace:  claim.Namespace,
				Name:       claim.Name,
				UID:        claim.UID,
			},
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &hostPathType},
			},
		},
	}
	_, err = p.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		p.recorder.Eventf(claim, corev1.EventTypeWarning, "ProvisioningFailed", "creating volume %s: %v", pvName, err)
		return fmt.Errorf("claim %s/%s: creating PersistentVolume %s: %w", claim.Namespace, claim.Name, pvName, err)
	}
	provLogf("provisioned PersistentVolume %s (%s, %s, reclaim %s) for claim %s/%s (class %s)",
		pvName, size.String(), accessModes(claim.Spec.AccessModes), reclaim, claim.Namespace, claim.Name, class.Name)
	p.recorder.Eventf(claim, corev1.EventTypeNormal, "ProvisioningSucceeded", "Successfully provisioned volume %s (simulated, no data is stored)", pvName)
	return nil
}

// expand grows a Bound claim's volume to the claim's request, then the claim's
// status.capacity to the volume's capacity. Each step is skipped when already done, so
// a retry after a failure between the two finishes the job.
func (p *volumeProvisioner) expand(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	pv, err := p.volumes.Get(claim.Spec.VolumeName)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !ours(pv) || pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID != claim.UID {
		return nil
	}
	want, ok := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		return nil
	}
	have := pv.Spec.Capacity[corev1.ResourceStorage]
	if want.Cmp(have) > 0 {
		if err := p.patchCapacity(ctx, "", pv.Name, "spec", want); err != nil {
			return fmt.Errorf("expanding PersistentVolume %s: %w", pv.Name, err)
		}
		provLogf("expanded PersistentVolume %s from %s to %s for claim %s/%s",
			pv.Name, have.String(), want.String(), claim.Namespace, claim.Name)
		p.recorder.Eventf(pv, corev1.EventTypeNormal, "VolumeResizeSuccessful", "expanded from %s to %s", have.String(), want.String())
		have = want
	}
	if cur := claim.Status.Capacity[corev1.ResourceStorage]; have.Cmp(cur) > 0 {
		if err := p.patchCapacity(ctx, claim.Namespace, claim.Name, "status", have); err != nil {
			return fmt.Errorf("claim %s/%s: setting status.capacity: %w", claim.Namespace, claim.Name, err)
		}
		provLogf("claim %s/%s now has capacity %s (was %s)", claim.Namespace, claim.Name, have.String(), cur.String())
		p.recorder.Eventf(claim, corev1.EventTypeNormal, "VolumeResizeSuccessful", "volume %s expanded to %s", pv.Name, have.String())
	}
	return nil
}

// patchCapacity sets <field>.capacity.storage of a PersistentVolume (namespace "") with
// a merge patch of its spec, or of a claim's status subresource.
func (p *volumeProvisioner) patchCapacity(ctx context.Context, namespace, name, field string, size resource.Quantity) error {
	patch, err := json.Marshal(map[string]any{field: map[string]any{"capacity": map[string]string{"storage": size.String()}}})
	if err != nil {
		return err
	}
	if namespace == "" {
		_, err = p.client.CoreV1().PersistentVolumes().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	} else {
		_, err = p.client.CoreV1().PersistentVolumeClaims(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	}
	return err
}

// syncVolume deletes a Released volume of ours whose reclaim policy is Delete, and
// removes the directory of a volume that no longer exists.
func (p *volumeProvisioner) syncVolume(ctx context.Context, name string) error {
	pv, err := p.volumes.Get(name)
	if apierrors.IsNotFound(err) {
		return p.removeDir(name, "its PersistentVolume is gone")
	}
	if err != nil {
		return err
	}
	if !ours(pv) || pv.DeletionTimestamp != nil ||
		pv.Status.Phase != corev1.VolumeReleased || pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
		return nil
	}
	uid := pv.UID
	err = p.client.CoreV1().PersistentVolumes().Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone already, or replaced by another object of that name
	}
	if err != nil {
		p.recorder.Eventf(pv, corev1.EventTypeWarning, "VolumeFailedDelete", "deleting: %v", err)
		return fmt.Errorf("deleting PersistentVolume %s: %w", name, err)
	}
	claim := "?"
	if ref := pv.Spec.ClaimRef; ref != nil {
		claim = ref.Namespace + "/" + ref.Name
	}
	provLogf("deleted PersistentVolume %s (claim %s was deleted, reclaim policy Delete)", name, claim)
	return p.removeDir(name, "")
}

// volumeDir is DIR/volumes/<name>, refusing a name that would leave that directory.
func (p *volumeProvisioner) volumeDir(name string) (string, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("unusable volume name %q", name)
	}
	return filepath.Join(p.root, name), nil
}

// removeDir removes the directory of volume name if it exists, logging why when
// reason is set.
func (p *volumeProvisioner) removeDir(name, reason string) error {
	dir, err := p.volumeDir(name)
	if err != nil {
		return nil
	}
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	if reason != "" {
		provLogf("removed directory %s (%s)", dir, reason)
	}
	return nil
}

// removeOrphanDirs removes the directories under root that belong to no
// PersistentVolume, e.g. of volumes deleted while the provisioner was stopped.
func (p *volumeProvisioner) removeOrphanDirs() error {
	entries, err := os.ReadDir(p.root)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if _, err := p.volumes.Get(e.Name()); apierrors.IsNotFound(err) {
			if err := p.removeDir(e.Name(), "no PersistentVolume "+e.Name()+" exists"); err != nil {
				return err
			}
		}
	}
	return nil
}

// accessModes formats access modes the way kubectl shows them (RWO, ROX, RWX, RWOP).
func accessModes(modes []corev1.PersistentVolumeAccessMode) string {
	short := map[corev1.PersistentVolumeAccessMode]string{
		corev1.ReadWriteOnce: "RWO", corev1.ReadOnlyMany: "ROX",
		corev1.ReadWriteMany: "RWX", corev1.ReadWriteOncePod: "RWOP",
	}
	out := make([]string, 0, len(modes))
	for _, m := range modes {
		if s, ok := short[m]; ok {
			out = append(out, s)
		} else {
			out = append(out, string(m))
		}
	}
	return strings.Join(out, ",")
}

// provLogf writes one timestamped line to stderr (DIR/volume-provisioner.log), in the
// supervisor's format. client-go's own messages (klog) go to the same stream.
func provLogf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s volume-provisioner: %s\n", time.Now().Format("2006-01-02T15:04:05.000Z07:00"), fmt.Sprintf(format, args...))
}
