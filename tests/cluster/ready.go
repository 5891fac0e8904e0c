package main

// Readiness checks of the supervisor: the API server's /readyz, then (once the
// controller manager runs) the "default" ServiceAccount in namespace default, which
// proves the controller manager is connected and reconciling.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// waitAPIServerReady polls https://127.0.0.1:PORT/readyz as the admin until it answers
// 200 "ok", the apiserver child exits, or timeout passes.
func waitAPIServerReady(ctx context.Context, server string, p pki, apiserver *child, timeout time.Duration) error {
	caPEM, err := os.ReadFile(p.CACert)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(p.AdminCert, p.AdminKey)
	if err != nil {
		return err
	}
	client := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
		}},
	}
	deadline := time.Now().Add(timeout)
	last := "no answer yet"
	for {
		resp, err := client.Get(server + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "ok" {
				return nil
			}
			last = fmt.Sprintf("HTTP %d", resp.StatusCode)
		} else {
			last = err.Error()
		}
		if apiserver.Exited() {
			return fmt.Errorf("kube-apiserver exited before it was ready (%s); see %s", apiserver.ExitError(), apiserver.LogPath)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-apiserver not ready after %s (last /readyz: %s); see %s", timeout, last, apiserver.LogPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// waitDefaultServiceAccount waits until the serviceaccount controller has created
// ServiceAccount default/default.
func waitDefaultServiceAccount(ctx context.Context, kubeconfig string, cm *child, timeout time.Duration) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := cs.CoreV1().ServiceAccounts("default").Get(rctx, "default", metav1.GetOptions{})
		cancel()
		if err == nil {
			return nil
		}
		if cm.Exited() {
			return fmt.Errorf("kube-controller-manager exited (%s); see %s", cm.ExitError(), cm.LogPath)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ServiceAccount default/default not created after %s (%v); see %s", timeout, err, cm.LogPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
