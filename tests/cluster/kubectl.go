package main

// kubectl, built from the same k8s.io/kubectl module as the control plane. This is
// what upstream's cmd/kubectl main does in 1.37.

import (
	"os"

	_ "k8s.io/client-go/plugin/pkg/client/auth" // client auth plugins, as upstream kubectl
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

// runKubectl runs kubectl with argv (argv[0] is the program name). kubectl reads
// os.Args itself (plugins, -v), so os.Args is replaced by argv first. It returns only
// on success: util.CheckErr exits the process with kubectl's usual codes.
func runKubectl(argv []string) int {
	os.Args = argv
	logs.GlogSetter(kubectlcmd.GetLogVerbosity(os.Args)) //nolint:errcheck
	command := kubectlcmd.NewDefaultKubectlCommand()
	command.SetArgs(argv[1:])
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
	return 0
}
