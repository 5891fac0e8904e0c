package main

// `makonis-cluster run`: the supervisor. In order it
//
//  1. takes an exclusive lock on DIR/.lock (one supervisor per DIR);
//  2. creates the PKI in DIR/pki once (reused on restart) and the audit policy;
//  3. starts etcd embedded in this process (data in DIR/etcd);
//  4. starts kube-apiserver as a child process and polls its /readyz;
//  5. writes DIR/kubeconfig (admin) atomically, only now that the API is ready;
//  6. starts kube-controller-manager and kube-scheduler as children; creates KWOK's
//     RBAC and simulated Nodes (kwok.go) and starts the KWOK controller as a child;
//     creates the volume provisioner's RBAC and StorageClass (volumes.go) and starts
//     it as a child (provisioner.go); starts the stand-in ingress in this process
//     (ingress.go; its port was bound right after the API server port was checked);
//  7. waits for the default ServiceAccount (the controller manager works), the
//     scheduler's /readyz, the KWOK Nodes being Ready, untainted and leased, the
//     volume provisioner's ready file and the ingress's informers;
//  8. writes DIR/cluster.pid and prints "ready: KUBECONFIG=DIR/kubeconfig".
//
// On SIGTERM or SIGINT it stops the ingress, the volume provisioner, kwok, the
// scheduler, the controller manager, then the
// API server (SIGTERM, SIGKILL after 10 s each), closes etcd, removes DIR/kubeconfig and
// DIR/cluster.pid and exits 0. If a child or etcd dies unexpectedly it tears everything
// down the same way and exits 1.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

const (
	defaultPort = 6443
	stopGrace   = 10 * time.Second
)

// logf writes one timestamped line of the supervisor's own log to stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s makonis-cluster: %s\n", time.Now().Format("2006-01-02T15:04:05.000Z07:00"), fmt.Sprintf(format, args...))
}

// runSupervisor parses `run`'s flags and runs the cluster until a signal or a failure.
func runSupervisor(args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	dir := fs.String("dir", os.Getenv("MAKONIS_CLUSTER_DIR"), "state directory (env MAKONIS_CLUSTER_DIR); required")
	port := fs.Int("port", envInt("MAKONIS_CLUSTER_PORT", defaultPort), "kube-apiserver secure port on 127.0.0.1 (env MAKONIS_CLUSTER_PORT)")
	ingressPort := fs.Int("ingress-port", envInt("MAKONIS_CLUSTER_INGRESS_PORT", 0),
		fmt.Sprintf("stand-in ingress HTTPS port on 127.0.0.1 (env MAKONIS_CLUSTER_INGRESS_PORT; default: --port + %d)", ingressPortOffset))
	readyTimeout := fs.Duration("ready-timeout", 5*time.Minute, "how long to wait for the API server and the controller manager")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "makonis-cluster run: --dir (or MAKONIS_CLUSTER_DIR) is required")
		return 2
	}
	if *port <= 0 || *port > 65535 {
		fmt.Fprintf(os.Stderr, "makonis-cluster run: bad port %d\n", *port)
		return 2
	}
	*ingressPort = ingressPortFor(*ingressPort, *port)
	if *ingressPort > 65535 || *ingressPort == *port {
		fmt.Fprintf(os.Stderr, "makonis-cluster run: bad ingress port %d (set --ingress-port or MAKONIS_CLUSTER_INGRESS_PORT)\n", *ingressPort)
		return 2
	}
	absDir, err := filepath.Abs(*dir)
	if err != nil {
		logf("error: %v", err)
		return 1
	}
	s := &supervisor{dir: absDir, port: *port, ingressPort: *ingressPort, readyTimeout: *readyTimeout, p: newPKI(absDir)}
	if err := s.run(); err != nil {
		logf("stopped after an error: %v", err)
		return 1
	}
	logf("stopped cleanly")
	return 0
}

type supervisor struct {
	dir          string
	port         int
	ingressPort  int
	readyTimeout time.Duration
	p            pki

	etcd        *embed.Etcd
	apiserver   *child
	cm          *child
	scheduler   *child
	kwok        *child
	provisioner *child
	ingress     *ingressServer // in this process, not a child
}

func (s *supervisor) kubeconfigPath() string { return filepath.Join(s.dir, "kubeconfig") }
func (s *supervisor) pidPath() string        { return filepath.Join(s.dir, "cluster.pid") }
func (s *supervisor) server() string         { return "https://127.0.0.1:" + strconv.Itoa(s.port) }

// run starts everything, waits for a signal or a failure, and always tears down.
func (s *supervisor) run() (err error) {
	// Signals first, so that a stop during start-up still tears down cleanly.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-sigs
		logf("received %s, stopping", sig)
		cancel()
	}()

	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	unlock, err := lockDir(s.dir)
	if err != nil {
		return err
	}
	defer unlock()
	// Left-overs of a supervisor that was killed: they would lie about readiness.
	os.Remove(s.kubeconfigPath())
	os.Remove(s.pidPath())
	defer func() {
		if err != nil {
			logf("error: %v; tearing down", err)
		}
		s.teardown()
	}()

	if !portFree(s.port) {
		return fmt.Errorf("port 127.0.0.1:%d is already in use (another cluster? set MAKONIS_CLUSTER_PORT)", s.port)
	}
	// Bound now and held, so a port in use stops the start before anything runs.
	if s.ingress, err = listenIngress(s.ingressPort); err != nil {
		return err
	}
	if err := s.p.ensure(); err != nil {
		return fmt.Errorf("PKI in %s: %w", s.p.Dir, err)
	}
	if err := writeAuditPolicy(s.dir); err != nil {
		return err
	}
	if err := writeAuditWebhook(s.dir, s.port, s.p); err != nil {
		return fmt.Errorf("audit webhook configuration: %w", err)
	}

	start := time.Now()
	var etcdURL string
	s.etcd, etcdURL, err = startEtcd(s.dir)
	if err != nil {
		return err
	}
	logf("etcd ready at %s (%s)", etcdURL, time.Since(start).Round(time.Millisecond))
	if ctx.Err() != nil { // stopped while etcd was starting
		return nil
	}

	s.apiserver, err = startChild(subAPIServer, apiServerArgs(s.dir, s.port, etcdURL, s.p), filepath.Join(s.dir, "apiserver.log"))
	if err != nil {
		return err
	}
	logf("kube-apiserver started (pid %d), waiting for %s/readyz", s.apiserver.Pid(), s.server())
	if err := waitAPIServerReady(ctx, s.server(), s.p, s.apiserver, s.childExited, s.readyTimeout); err != nil {
		return stopOrErr(ctx, err)
	}
	logf("kube-apiserver ready (%s)", time.Since(start).Round(time.Millisecond))
	if err := writeKubeconfig(s.kubeconfigPath(), s.server(), "makonis-admin", s.p.CACert, s.p.AdminCert, s.p.AdminKey); err != nil {
		return err
	}

	cmKubeconfig := filepath.Join(s.p.Dir, "controller-manager.kubeconfig")
	if err := writeKubeconfig(cmKubeconfig, s.server(), "system:kube-controller-manager", s.p.CACert, s.p.ControllerManagerCert, s.p.CMKey); err != nil {
		return err
	}
	s.cm, err = startChild(subControllerManager, controllerManagerArgs(cmKubeconfig, s.p), filepath.Join(s.dir, "controller-manager.log"))
	if err != nil {
		return err
	}
	logf("kube-controller-manager started (pid %d)", s.cm.Pid())

	schedKubeconfig := filepath.Join(s.p.Dir, "scheduler.kubeconfig")
	if err := writeKubeconfig(schedKubeconfig, s.server(), schedulerUser, s.p.CACert, s.p.SchedulerCert, s.p.SchedulerKey); err != nil {
		return err
	}
	schedPorts, err := freePorts(1)
	if err != nil {
		return fmt.Errorf("finding a free port for kube-scheduler: %w", err)
	}
	s.scheduler, err = startChild(subScheduler, schedulerArgs(schedKubeconfig, schedPorts[0], s.p), filepath.Join(s.dir, "scheduler.log"))
	if err != nil {
		return err
	}
	logf("kube-scheduler started (pid %d, https://127.0.0.1:%d)", s.scheduler.Pid(), schedPorts[0])

	admin, err := adminClient(s.kubeconfigPath())
	if err != nil {
		return err
	}
	if err := prepareKWOK(ctx, admin); err != nil {
		return stopOrErr(ctx, fmt.Errorf("preparing KWOK: %w", err))
	}
	kwokConfig, err := writeKWOKConfig(s.dir)
	if err != nil {
		return err
	}
	kwokKubeconfig := filepath.Join(s.p.Dir, "kwok.kubeconfig")
	if err := writeKubeconfig(kwokKubeconfig, s.server(), kwokUser, s.p.CACert, s.p.KWOKCert, s.p.KWOKKey); err != nil {
		return err
	}
	s.kwok, err = startChild(subKWOK, kwokArgs(kwokKubeconfig, kwokConfig), filepath.Join(s.dir, "kwok.log"),
		"KWOK_WORKDIR="+kwokWorkDir(s.dir))
	if err != nil {
		return err
	}
	logf("kwok started (pid %d), nodes %v", s.kwok.Pid(), kwokNodeNames())

	if err := prepareVolumeProvisioner(ctx, admin, s.dir); err != nil {
		return stopOrErr(ctx, fmt.Errorf("preparing the volume provisioner: %w", err))
	}
	provKubeconfig := filepath.Join(s.p.Dir, "volume-provisioner.kubeconfig")
	if err := writeKubeconfig(provKubeconfig, s.server(), provisionerUser, s.p.CACert, s.p.ProvisionerCert, s.p.ProvisionerKey); err != nil {
		return err
	}
	s.provisioner, err = startChild(subVolumeProvisioner, volumeProvisionerArgs(provKubeconfig, s.dir), filepath.Join(s.dir, "volume-provisioner.log"))
	if err != nil {
		return err
	}
	logf("volume-provisioner started (pid %d), StorageClass %s (default), volumes in %s", s.provisioner.Pid(), simulatedStorageClass, volumesDir(s.dir))

	if err := s.ingress.start(ctx, admin, s.p, s.dir); err != nil {
		return err
	}
	logf("ingress started in the supervisor: https://%s, CA %s", s.ingress.Addr(), ingressCAPEM(s.dir))

	if err := waitDefaultServiceAccount(ctx, admin, s.cm, s.childExited, s.readyTimeout); err != nil {
		return stopOrErr(ctx, err)
	}
	logf("kube-controller-manager ready (%s)", time.Since(start).Round(time.Millisecond))
	if err := waitSchedulerReady(ctx, schedPorts[0], s.p, s.scheduler, s.childExited, s.readyTimeout); err != nil {
		return stopOrErr(ctx, err)
	}
	logf("kube-scheduler ready (%s)", time.Since(start).Round(time.Millisecond))
	if err := waitKWOKNodesReady(ctx, admin, s.kwok, s.childExited, s.readyTimeout); err != nil {
		return stopOrErr(ctx, err)
	}
	logf("KWOK nodes ready (%s)", time.Since(start).Round(time.Millisecond))
	if err := waitVolumeProvisionerReady(ctx, provisionerReadyFile(s.dir), s.provisioner, s.childExited, s.readyTimeout); err != nil {
		return stopOrErr(ctx, err)
	}
	logf("volume-provisioner ready (%s)", time.Since(start).Round(time.Millisecond))
	if err := waitIngressSynced(ctx, s.ingress, s.childExited, s.readyTimeout); err != nil {
		return stopOrErr(ctx, err)
	}
	logf("ingress ready (%s)", time.Since(start).Round(time.Millisecond))

	if err := writeFileAtomic(s.pidPath(), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	logf("cluster ready in %s", time.Since(start).Round(time.Millisecond))
	fmt.Printf("ready: KUBECONFIG=%s\n", s.kubeconfigPath())

	select {
	case <-ctx.Done():
		return nil
	case <-s.apiserver.done:
		return childDied(s.apiserver)
	case <-s.cm.done:
		return childDied(s.cm)
	case <-s.scheduler.done:
		return childDied(s.scheduler)
	case <-s.kwok.done:
		return childDied(s.kwok)
	case <-s.provisioner.done:
		return childDied(s.provisioner)
	case err := <-s.ingress.Err():
		return err
	case err := <-s.etcd.Err():
		return fmt.Errorf("embedded etcd failed: %v; see %s", err, filepath.Join(s.dir, "etcd.log"))
	}
}

// childExited returns an error naming the first started child that has exited.
func (s *supervisor) childExited() error {
	for _, c := range []*child{s.apiserver, s.cm, s.scheduler, s.kwok, s.provisioner} {
		if c != nil && c.Exited() {
			return fmt.Errorf("%s exited before the cluster was ready (%s); see %s", c.Name, c.ExitError(), c.LogPath)
		}
	}
	return nil
}

// childDied describes the unexpected exit of c.
func childDied(c *child) error {
	return fmt.Errorf("%s exited unexpectedly (%s); see %s", c.Name, c.ExitError(), c.LogPath)
}

// teardown stops whatever was started, in reverse order, and removes the files that
// announce a running cluster.
func (s *supervisor) teardown() {
	os.Remove(s.kubeconfigPath())
	if s.ingress != nil {
		s.ingress.stop()
		logf("ingress stopped")
	}
	for _, c := range []*child{s.provisioner, s.kwok, s.scheduler, s.cm, s.apiserver} {
		if c != nil {
			c.Stop(stopGrace)
			logf("%s stopped", c.Name)
		}
	}
	if s.etcd != nil {
		s.etcd.Close()
		logf("etcd closed")
	}
	os.Remove(s.pidPath())
}

// stopOrErr turns an error caused by a stop request into a clean stop.
func stopOrErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// lockDir takes an exclusive, non-blocking flock on DIR/.lock for the process lifetime.
func lockDir(dir string) (func(), error) {
	path := filepath.Join(dir, ".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another makonis-cluster is already running for %s (%s is locked)", dir, path)
	}
	return func() { f.Close() }, nil
}

// envInt returns the integer in environment variable name, or def when unset or bad.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}
