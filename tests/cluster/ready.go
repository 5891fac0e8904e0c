package main

// Readiness checks of the supervisor: the API server's /readyz; then, with the other
// children running, the "default" ServiceAccount in namespace default (proves the
// controller manager is connected and reconciling), kube-scheduler's /readyz, and the
// KWOK nodes (kwok.go).

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// waitAPIServerReady polls https://127.0.0.1:PORT/readyz as the admin until it answers
// 200 "ok", the apiserver child exits, or timeout passes.
func waitAPIServerReady(ctx context.Context, server string, p pki, apiserver *child, others childCheck, timeout time.Duration) error {
	cert, err := tls.LoadX509KeyPair(p.AdminCert, p.AdminKey)
	if err != nil {
		return err
	}
	return waitReadyz(ctx, server+"/readyz", p, []tls.Certificate{cert}, apiserver, others, timeout)
}

// waitSchedulerReady polls kube-scheduler's https://127.0.0.1:PORT/readyz (served with
// a certificate of the cluster CA; /readyz needs no client identity) until it answers
// 200 "ok": it then runs and its informers have synced.
func waitSchedulerReady(ctx context.Context, port int, p pki, scheduler *child, others childCheck, timeout time.Duration) error {
	return waitReadyz(ctx, "https://127.0.0.1:"+strconv.Itoa(port)+"/readyz", p, nil, scheduler, others, timeout)
}

// childCheck returns an error once any child that the supervisor started has exited.
type childCheck func() error

// waitReadyz polls url, trusting the cluster CA and presenting certs, until it answers
// 200 "ok", the child c (or any other, says others) exits, or timeout passes.
func waitReadyz(ctx context.Context, url string, p pki, certs []tls.Certificate, c *child, others childCheck, timeout time.Duration) error {
	caPEM, err := os.ReadFile(p.CACert)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	transport := &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: pool, Certificates: certs, MinVersion: tls.VersionTLS12,
	}}
	defer transport.CloseIdleConnections()
	client := &http.Client{Timeout: 5 * time.Second, Transport: transport}
	deadline := time.Now().Add(timeout)
	last := "no answer yet"
	for {
		resp, err := client.Get(url)
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
		if c.Exited() {
			return fmt.Errorf("%s exited before it was ready (%s); see %s", c.Name, c.ExitError(), c.LogPath)
		}
		if err := others(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s (last %s: %s); see %s", c.Name, timeout, url, last, c.LogPath)
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
func waitDefaultServiceAccount(ctx context.Context, cs kubernetes.Interface, cm *child, others childCheck, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := cs.CoreV1().ServiceAccounts("default").Get(rctx, "default", metav1.GetOptions{})
		cancel()
		if err == nil {
			return nil
		}
		if err := others(); err != nil {
			return err
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

// adminClient returns a clientset for the admin kubeconfig.
func adminClient(kubeconfig string) (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}
