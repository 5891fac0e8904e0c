package main

// The two control-plane components, each run in its own child process of the
// supervisor (see children.go). They do exactly what upstream's cmd/kube-apiserver and
// cmd/kube-controller-manager main packages do, with the arguments given after the
// subcommand name.

import (
	_ "time/tzdata" // time zones for CronJob, as upstream's mains import

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric
	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	cmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

const (
	subAPIServer         = "apiserver"
	subControllerManager = "controller-manager"
)

// runAPIServer runs upstream kube-apiserver with args and returns its exit code.
func runAPIServer(args []string) int {
	cmd := apiserverapp.NewAPIServerCommand()
	cmd.SetArgs(args)
	return cli.Run(cmd)
}

// runControllerManager runs upstream kube-controller-manager with args and returns its exit code.
func runControllerManager(args []string) int {
	cmd := cmapp.NewControllerManagerCommand()
	cmd.SetArgs(args)
	return cli.Run(cmd)
}
