package main

// The supervisor's side of the simulated volume provisioner (provisioner.go). Before
// the volume-provisioner child starts, the supervisor (as admin, at every start):
//   - creates or updates ClusterRole and ClusterRoleBinding makonis-volume-provisioner
//     for the user makonis-volume-provisioner, the CN of DIR/pki/volume-provisioner.crt;
//   - creates StorageClass makonis-simulated, the cluster's default class, if missing,
//     and otherwise puts back its default-class annotation and allowVolumeExpansion;
//   - creates DIR/volumes and removes the child's stale ready file.
//
// It counts as ready once it has written DIR/volume-provisioner.ready (its informers
// have synced and its workers run).

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const (
	provisionerUser        = "makonis-volume-provisioner" // CN of DIR/pki/volume-provisioner.crt
	provisionerRBACName    = "makonis-volume-provisioner" // ClusterRole and ClusterRoleBinding
	simulatedStorageClass  = "makonis-simulated"
	annDefaultStorageClass = "storageclass.kubernetes.io/is-default-class"
)

func volumesDir(dir string) string           { return filepath.Join(dir, "volumes") }
func provisionerReadyFile(dir string) string { return filepath.Join(dir, "volume-provisioner.ready") }

// provisionerClusterRole is all the provisioner may do: read claims and classes, create
// and delete the volumes (patch: expansion), set a claim's status.capacity (expansion),
// and record Events.
func provisionerClusterRole() *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: provisionerRBACName},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"persistentvolumeclaims"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"persistentvolumeclaims/status"}, Verbs: []string{"patch"}},
			{APIGroups: []string{""}, Resources: []string{"persistentvolumes"}, Verbs: []string{"create", "delete", "get", "list", "watch", "patch"}},
			{APIGroups: []string{"storage.k8s.io"}, Resources: []string{"storageclasses"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
		},
	}
}

func provisionerClusterRoleBinding() *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: provisionerRBACName},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: provisionerRBACName},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: provisionerUser}},
	}
}

// simulatedClass is StorageClass makonis-simulated: the default class, so a claim
// without storageClassName gets it (DefaultStorageClass admission plugin; the binder
// also assigns it to older claims that have none).
func simulatedClass() *storagev1.StorageClass {
	reclaim := corev1.PersistentVolumeReclaimDelete
	binding := storagev1.VolumeBindingImmediate
	expand := true
	return &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        simulatedStorageClass,
			Annotations: map[string]string{annDefaultStorageClass: "true"},
		},
		Provisioner:          provisionerName,
		ReclaimPolicy:        &reclaim,
		VolumeBindingMode:    &binding,
		AllowVolumeExpansion: &expand,
	}
}

// ensureSimulatedClass creates the StorageClass, or restores the mutable fields of an
// existing one. Its provisioner, reclaim policy and binding mode cannot be updated; if
// they differ the start fails, naming the class to delete.
func ensureSimulatedClass(ctx context.Context, cs kubernetes.Interface) error {
	want := simulatedClass()
	classes := cs.StorageV1().StorageClasses()
	_, err := classes.Create(ctx, want, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	cur, err := classes.Get(ctx, want.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if cur.Provisioner != want.Provisioner || cur.ReclaimPolicy == nil || *cur.ReclaimPolicy != *want.ReclaimPolicy ||
		cur.VolumeBindingMode == nil || *cur.VolumeBindingMode != *want.VolumeBindingMode {
		return fmt.Errorf("StorageClass %s exists with other immutable fields (provisioner %q); delete it (kubectl delete storageclass %s) and start again",
			want.Name, cur.Provisioner, want.Name)
	}
	if cur.Annotations[annDefaultStorageClass] == "true" && cur.AllowVolumeExpansion != nil && *cur.AllowVolumeExpansion {
		return nil
	}
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	cur.Annotations[annDefaultStorageClass] = "true"
	cur.AllowVolumeExpansion = want.AllowVolumeExpansion
	_, err = classes.Update(ctx, cur, metav1.UpdateOptions{})
	return err
}

// prepareVolumeProvisioner creates the provisioner's RBAC, the StorageClass and
// DIR/volumes, and removes a ready file left by an earlier run.
func prepareVolumeProvisioner(ctx context.Context, cs kubernetes.Interface, dir string) error {
	rbac := cs.RbacV1()
	if err := createOrUpdate(ctx, provisionerClusterRole(), rbac.ClusterRoles().Create, rbac.ClusterRoles().Get, rbac.ClusterRoles().Update); err != nil {
		return fmt.Errorf("ClusterRole %s: %w", provisionerRBACName, err)
	}
	if err := createOrUpdate(ctx, provisionerClusterRoleBinding(), rbac.ClusterRoleBindings().Create, rbac.ClusterRoleBindings().Get, rbac.ClusterRoleBindings().Update); err != nil {
		return fmt.Errorf("ClusterRoleBinding %s: %w", provisionerRBACName, err)
	}
	if err := ensureSimulatedClass(ctx, cs); err != nil {
		return fmt.Errorf("StorageClass %s: %w", simulatedStorageClass, err)
	}
	if err := os.MkdirAll(volumesDir(dir), 0o755); err != nil {
		return err
	}
	if err := os.Remove(provisionerReadyFile(dir)); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// waitVolumeProvisionerReady waits until the provisioner has written its ready file.
func waitVolumeProvisionerReady(ctx context.Context, readyFile string, c *child, others childCheck, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(readyFile); err == nil {
			return nil
		}
		if err := others(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s (no %s); see %s", c.Name, timeout, readyFile, c.LogPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
