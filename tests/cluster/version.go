package main

// The version stamp. cluster.sh links in -X k8s.io/component-base/version.gitVersion=…
// (and the same for k8s.io/client-go/pkg/version), so the API server reports the real
// version (it also derives its binary/emulation version from it) and `kubectl version`
// shows it.

import "k8s.io/component-base/version"

// buildVersion returns the Kubernetes version this binary was stamped with.
func buildVersion() string {
	return version.Get().GitVersion
}
