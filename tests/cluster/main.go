// Command makonis-cluster is the local Kubernetes control plane that Mākonis uses for
// development and tests. It is one multi-call binary built from the upstream
// Kubernetes modules (k8s.io/kubernetes and its staging modules), so the API server,
// the controller manager, the scheduler and kubectl are the real upstream code at one
// version; KWOK (sigs.k8s.io/kwok) simulates the kubelets of a few Nodes, and the
// volume provisioner (provisioner.go) simulates dynamic provisioning of volumes, and a
// stand-in ingress (ingress.go, inside the supervisor) answers HTTPS for the hosts of
// the cluster's Ingress objects.
//
// Entry points:
//
//	makonis-cluster run [--dir DIR] [--port PORT] [--ingress-port PORT]
//	                                                supervisor: embedded etcd + children + ingress
//	makonis-cluster apiserver FLAGS...              kube-apiserver (started by run)
//	makonis-cluster controller-manager FLAGS...     kube-controller-manager (started by run)
//	makonis-cluster scheduler FLAGS...              kube-scheduler (started by run)
//	makonis-cluster kwok FLAGS...                   KWOK controller (started by run)
//	makonis-cluster volume-provisioner FLAGS...     simulated volume provisioner (started by run)
//	makonis-cluster kubectl ARGS...                 kubectl
//	kubectl ARGS...                                 kubectl, when invoked through a symlink
//	makonis-cluster version                         the Kubernetes version built in
//
// See README.md next to this file for the layout of DIR and how tests use it.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	// Multi-call: a symlink named kubectl (or kubectl.exe, kubectl-anything) runs kubectl.
	if base := filepath.Base(os.Args[0]); base == "kubectl" || strings.HasPrefix(base, "kubectl.") {
		os.Exit(runKubectl(os.Args))
	}
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	sub, rest := os.Args[1], os.Args[2:]
	switch sub {
	case "run":
		os.Exit(runSupervisor(rest))
	case subAPIServer:
		os.Exit(runAPIServer(rest))
	case subControllerManager:
		os.Exit(runControllerManager(rest))
	case subScheduler:
		os.Exit(runScheduler(rest))
	case subKWOK:
		os.Exit(runKWOK(rest))
	case subVolumeProvisioner:
		os.Exit(runVolumeProvisioner(rest))
	case "kubectl":
		os.Exit(runKubectl(append([]string{"kubectl"}, rest...)))
	case "version", "--version":
		fmt.Println(buildVersion())
	case "help", "-h", "--help":
		usage(os.Stdout)
	default:
		fmt.Fprintf(os.Stderr, "makonis-cluster: unknown command %q\n\n", sub)
		usage(os.Stderr)
		os.Exit(2)
	}
}

func usage(w *os.File) {
	fmt.Fprint(w, `usage:
  makonis-cluster run [--dir DIR] [--port PORT] [--ingress-port PORT]
                                                  run etcd + kube-apiserver + kube-controller-manager
                                                  + kube-scheduler + kwok (simulated nodes)
                                                  + volume-provisioner (simulated volumes)
                                                  + the stand-in ingress (HTTPS, in the supervisor)
        env fallbacks: MAKONIS_CLUSTER_DIR, MAKONIS_CLUSTER_PORT (default 6443),
                       MAKONIS_CLUSTER_INGRESS_PORT (default: the port + 2000)
  makonis-cluster kubectl ARGS...                 kubectl (also: invoke through a symlink named kubectl)
  makonis-cluster version                         print the Kubernetes version built in
  makonis-cluster apiserver|controller-manager|scheduler|kwok|volume-provisioner
                                                  internal: the children started by run
`)
}
