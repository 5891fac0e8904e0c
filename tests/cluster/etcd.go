package main

// Embedded etcd: runs inside the supervisor process (not a child), data in DIR/etcd,
// client and peer URLs on 127.0.0.1, its log in DIR/etcd.log at level warn.

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// startEtcd starts etcd and waits until it serves. Call Close on the result to stop it.
func startEtcd(dir string) (*embed.Etcd, string, error) {
	ports, err := loadOrPickEtcdPorts(filepath.Join(dir, "etcd-ports.json"))
	if err != nil {
		return nil, "", err
	}
	clientURL := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(ports.Client)}
	peerURL := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(ports.Peer)}

	cfg := embed.NewConfig()
	cfg.Name = "makonis"
	cfg.Dir = filepath.Join(dir, "etcd")
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.InitialClusterToken = "makonis-local"
	cfg.Logger = "zap"
	cfg.LogLevel = "warn"
	cfg.LogOutputs = []string{filepath.Join(dir, "etcd.log")}
	// No etcd-side auto-compaction: kube-apiserver compacts every 5 minutes itself.

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("starting embedded etcd (see %s): %w", cfg.LogOutputs[0], err)
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, clientURL.String(), nil
	case err := <-e.Err():
		e.Close()
		return nil, "", fmt.Errorf("embedded etcd failed (see %s): %w", cfg.LogOutputs[0], err)
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		e.Close()
		return nil, "", fmt.Errorf("embedded etcd not ready after 60s (see %s)", cfg.LogOutputs[0])
	}
}
