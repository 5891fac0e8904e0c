package main

// Kubeconfig files. DIR/kubeconfig (admin: CN makonis-admin, O system:masters; cluster
// and context "makonis-local") is written only once the API server is ready, atomically,
// and removed at shutdown: its existence means "a cluster is (being) served for DIR".
// DIR/pki/controller-manager.kubeconfig is the controller manager's own identity.
// Both embed the certificates, so they can be copied anywhere.

import (
	"fmt"
	"os"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const clusterName = "makonis-local"

// writeKubeconfig writes a kubeconfig for server, trusting the CA in caPath and
// authenticating with the client certificate certPath/keyPath, atomically and mode 0600.
func writeKubeconfig(path, server, user, caPath, certPath, keyPath string) error {
	ca, err := os.ReadFile(caPath)
	if err != nil {
		return err
	}
	cert, err := os.ReadFile(certPath)
	if err != nil {
		return err
	}
	key, err := os.ReadFile(keyPath)
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[clusterName] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts[clusterName] = &clientcmdapi.Context{Cluster: clusterName, AuthInfo: user, Namespace: "default"}
	cfg.CurrentContext = clusterName
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("encoding kubeconfig: %w", err)
	}
	return writeFileAtomic(path, data, 0o600)
}
