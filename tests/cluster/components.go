package main

// The upstream components, each run in its own child process of the supervisor (see
// children.go). kube-apiserver, kube-controller-manager and kube-scheduler do exactly what
// upstream's cmd/kube-apiserver, cmd/kube-controller-manager and cmd/kube-scheduler main
// packages do; kwok does what sigs.k8s.io/kwok's cmd/kwok main package does. Each gets
// the arguments given after its subcommand name. The fifth child, volume-provisioner,
// is this module's own (provisioner.go).

import (
	"os"
	_ "time/tzdata" // time zones for CronJob, as upstream's mains import

	"github.com/spf13/pflag"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric
	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	cmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	schedulerapp "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kwokconfig "sigs.k8s.io/kwok/pkg/config"
	kwokcmd "sigs.k8s.io/kwok/pkg/kwok/cmd"
	kwoklog "sigs.k8s.io/kwok/pkg/log"
	kwoksignals "sigs.k8s.io/kwok/pkg/utils/signals"
)

const (
	subAPIServer         = "apiserver"
	subControllerManager = "controller-manager"
	subScheduler         = "scheduler"
	subKWOK              = "kwok"
	subVolumeProvisioner = "volume-provisioner" // provisioner.go
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

// runScheduler runs upstream kube-scheduler with args and returns its exit code.
func runScheduler(args []string) int {
	cmd := schedulerapp.NewSchedulerCommand()
	cmd.SetArgs(args)
	return cli.Run(cmd)
}

// runKWOK runs the KWOK controller with args and returns its exit code. This is what
// sigs.k8s.io/kwok/cmd/kwok's main does: its global flags (--config, -v) are parsed from
// os.Args before the command is built, so os.Args is set to "kwok ARGS..." first.
func runKWOK(args []string) int {
	// A fresh global pflag set, as in kwok's own binary: the Kubernetes packages linked
	// into this one register component-base's --version (not a bool) in
	// pflag.CommandLine at init, and cobra merges that set into every command, which
	// breaks cobra's own --version handling ("trying to get bool value of flag of type
	// version"). This process runs nothing but KWOK, so nothing else needs the old set.
	pflag.CommandLine = pflag.NewFlagSet(os.Args[0], pflag.ExitOnError)
	os.Args = append([]string{"kwok"}, args...)
	flagset := pflag.NewFlagSet("global", pflag.ContinueOnError)
	flagset.ParseErrorsAllowlist.UnknownFlags = true
	flagset.Usage = func() {}

	ctx := kwoksignals.SetupSignalContext()
	ctx, logger := kwoklog.InitFlags(ctx, flagset)
	ctx, err := kwokconfig.InitFlags(ctx, flagset)
	if err != nil {
		_, _ = os.Stderr.Write([]byte(flagset.FlagUsages()))
		logger.Error("Init config flags", "err", err)
		return 1
	}
	command := kwokcmd.NewCommand(ctx)
	command.PersistentFlags().AddFlagSet(flagset)
	command.SetArgs(args)
	if err := command.ExecuteContext(ctx); err != nil {
		logger.Error("Execute exit", "err", err)
		return 1
	}
	return 0
}
