package main

// The stand-in ingress: an HTTPS server inside the supervisor process (not a child) on
// 127.0.0.1:INGRESS_PORT (--ingress-port, env MAKONIS_CLUSTER_INGRESS_PORT, default
// the API server port + 2000) that answers for the hosts of the cluster's Ingress
// objects, so that probes of https://<ingress host>/... measure the state of the local
// cluster instead of failing on DNS. No request is proxied anywhere: no container runs
// (KWOK), so there is nothing to proxy to. Instead the answer says whether a real
// ingress controller would have somewhere to send the request:
//
//   - it watches, with informers and the admin credentials, Ingresses
//     (networking.k8s.io/v1), Services and EndpointSlices in all namespaces;
//   - for Host H (port stripped) it takes the rules of every Ingress whose host is H
//     (or, if none, a wildcard host *.<rest of H>), whatever its ingressClassName, and
//     picks the backend of the best-matching path as the Ingress API specifies (longest
//     Exact/Prefix match; ImplementationSpecific is treated as Prefix; oldest Ingress
//     on a tie), or the Ingress's defaultBackend if no path matches;
//   - 200 "ok: NS/SVC (N ready replicas, simulated by the local control plane)" when the
//     backend Service exists, has the Ingress's port, and its EndpointSlices list N >= 1
//     ready endpoints for that port (the endpointslice controller puts a Pod there once
//     KWOK reports it Ready, and takes it out when the Pod goes: scale a Deployment or
//     StatefulSet to 0 and the answer becomes 503);
//   - 503 "no ready replicas behind NS/SVC" when it has none, 503 naming the problem
//     when the Service or its port is missing, 404 "no Ingress for host H" for a host
//     no Ingress names (and 404 when no path of those Ingresses matches).
//
// TLS: a CA of its own (DIR/pki/ingress-ca.crt/.key, created once like the rest of the
// PKI; its certificate copied to DIR/ingress-ca.pem at every start) issues a leaf
// certificate per SNI name on the fly (ECDSA P-256, valid 90 days, cached); a client
// without SNI gets one for localhost, 127.0.0.1 and ::1.
//
// It logs to the supervisor's log: start, sync, stop, and at most one line per minute
// counting the requests answered (nothing per request).

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

const (
	// ingressPortOffset: the default ingress port is the API server port + this
	// (6443 -> 8443, 16443 -> 18443).
	ingressPortOffset = 2000
	ingressLeafValid  = 90 * 24 * time.Hour
	// ingressLeafRenew: a cached leaf this close to its end is issued again.
	ingressLeafRenew = 24 * time.Hour
	// ingressCertCacheMax bounds the leaf cache (a client may send any SNI name); when
	// full it is emptied and refilled on demand.
	ingressCertCacheMax = 4096
	ingressHostIndex    = "host"
	ingressStatsEvery   = time.Minute
)

func ingressCAPEM(dir string) string { return filepath.Join(dir, "ingress-ca.pem") }

// ingressPortFor returns the ingress port to use: explicit when > 0, else the API
// server port + ingressPortOffset.
func ingressPortFor(explicit, apiPort int) int {
	if explicit > 0 {
		return explicit
	}
	return apiPort + ingressPortOffset
}

// ingressServer is the stand-in ingress.
type ingressServer struct {
	port     int
	listener net.Listener
	certs    *leafIssuer

	ingresses cache.Indexer
	services  corelisters.ServiceLister
	slices    discoverylisters.EndpointSliceLister
	factory   informers.SharedInformerFactory
	cancel    context.CancelFunc // stops the informers and the stats logger
	synced    atomic.Bool
	srv       *http.Server
	errc      chan error // Serve's failure

	// Answers since the last stats line, by status class.
	nOK, nNotFound, nUnavailable, nOther, nHandshake atomic.Int64
}

// listenIngress binds 127.0.0.1:port at once, so that a port in use stops the start
// before anything else runs; the server starts later (startIngress).
func listenIngress(port int) (*ingressServer, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("ingress port 127.0.0.1:%d is already in use (another cluster? set MAKONIS_CLUSTER_INGRESS_PORT): %w", port, err)
	}
	return &ingressServer{port: port, listener: ln, errc: make(chan error, 1)}, nil
}

// Addr is host:port of the ingress.
func (g *ingressServer) Addr() string { return g.listener.Addr().String() }

// Err delivers the server's failure, if it ever fails.
func (g *ingressServer) Err() <-chan error { return g.errc }

// start writes DIR/ingress-ca.pem, starts the informers (admin client cs) and serves
// HTTPS on the listener. Until the informers have synced every request gets 503.
func (g *ingressServer) start(ctx context.Context, cs kubernetes.Interface, p pki, dir string) error {
	issuer, err := newLeafIssuer(p.IngressCACert, p.IngressCAKey)
	if err != nil {
		return fmt.Errorf("ingress CA: %w", err)
	}
	g.certs = issuer
	caPEM, err := os.ReadFile(p.IngressCACert)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(ingressCAPEM(dir), caPEM, 0o644); err != nil {
		return err
	}

	ctx, g.cancel = context.WithCancel(ctx)
	g.factory = informers.NewSharedInformerFactory(cs, 0)
	ingInformer := g.factory.Networking().V1().Ingresses().Informer()
	if err := ingInformer.AddIndexers(cache.Indexers{ingressHostIndex: ingressHosts}); err != nil {
		return err
	}
	g.ingresses = ingInformer.GetIndexer()
	g.services = g.factory.Core().V1().Services().Lister()
	g.slices = g.factory.Discovery().V1().EndpointSlices().Lister()
	g.factory.Start(ctx.Done())
	go func() {
		for typ, ok := range g.factory.WaitForCacheSync(ctx.Done()) {
			if !ok {
				if ctx.Err() == nil {
					logf("ingress: informer for %v did not sync", typ)
				}
				return
			}
		}
		g.synced.Store(true)
	}()

	g.srv = &http.Server{
		Handler:           http.HandlerFunc(g.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		TLSConfig: &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: g.certs.getCertificate,
		},
		// Failed handshakes (a client that does not trust the CA, a port scan) are
		// counted, not logged one by one; anything else goes to the supervisor's log.
		ErrorLog: log.New(serverErrorWriter{g}, "", 0),
	}
	go func() {
		err := g.srv.ServeTLS(g.listener, "", "")
		if !errors.Is(err, http.ErrServerClosed) {
			g.errc <- fmt.Errorf("ingress on %s failed: %w", g.Addr(), err)
		}
	}()
	go g.logStats(ctx)
	return nil
}

// Synced reports whether the informers have synced (the ingress answers truthfully).
func (g *ingressServer) Synced() bool { return g.synced.Load() }

// stop closes the server (open connections get a second to finish) and the listener.
func (g *ingressServer) stop() {
	if g.srv == nil {
		g.listener.Close()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := g.srv.Shutdown(ctx); err != nil {
		g.srv.Close()
	}
	g.cancel()
	g.factory.Shutdown()
}

// waitIngressSynced waits until the ingress's informers have synced.
func waitIngressSynced(ctx context.Context, g *ingressServer, others childCheck, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for !g.Synced() {
		if err := others(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ingress: informers (Ingresses, Services, EndpointSlices) not synced after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-g.errc:
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// serveHTTP answers every request, whatever its method and path.
func (g *ingressServer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	code, body, ing := g.answer(r)
	switch {
	case code == http.StatusOK:
		g.nOK.Add(1)
	case code == http.StatusNotFound:
		g.nNotFound.Add(1)
	case code == http.StatusServiceUnavailable:
		g.nUnavailable.Add(1)
	default:
		g.nOther.Add(1)
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if ing != "" {
		h.Set("X-Makonis-Ingress", ing)
	}
	w.WriteHeader(code)
	fmt.Fprintln(w, body)
}

// answer decides the status and body for r, and names the Ingress that served it.
func (g *ingressServer) answer(r *http.Request) (code int, body, ing string) {
	if !g.Synced() {
		return http.StatusServiceUnavailable, "the local ingress is starting (informers not synced yet)", ""
	}
	host := requestHost(r.Host)
	cands := g.rulesFor(host)
	if len(cands) == 0 {
		return http.StatusNotFound, "no Ingress for host " + host, ""
	}
	ingObj, backend := pickBackend(cands, r.URL.Path)
	if backend == nil {
		return http.StatusNotFound, fmt.Sprintf("no path of the Ingresses for host %s matches %s", host, r.URL.Path), ""
	}
	ing = ingObj.Namespace + "/" + ingObj.Name
	if backend.Service == nil {
		return http.StatusServiceUnavailable, fmt.Sprintf("Ingress %s: resource backends are not simulated", ing), ing
	}
	ns, name := ingObj.Namespace, backend.Service.Name
	svcRef := ns + "/" + name
	svc, err := g.services.Services(ns).Get(name)
	if err != nil {
		return http.StatusServiceUnavailable, fmt.Sprintf("Service %s of Ingress %s not found", svcRef, ing), ing
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return http.StatusServiceUnavailable, fmt.Sprintf("Service %s is of type ExternalName (%s), which the local ingress does not simulate", svcRef, svc.Spec.ExternalName), ing
	}
	port, ok := servicePort(svc, backend.Service.Port)
	if !ok {
		return http.StatusServiceUnavailable, fmt.Sprintf("Service %s has no port %s (Ingress %s)", svcRef, backendPortString(backend.Service.Port), ing), ing
	}
	n := g.readyEndpoints(ns, name, port.Name)
	if n == 0 {
		return http.StatusServiceUnavailable, "no ready replicas behind " + svcRef, ing
	}
	noun := "replicas"
	if n == 1 {
		noun = "replica"
	}
	return http.StatusOK, fmt.Sprintf("ok: %s (%d ready %s, simulated by the local control plane)", svcRef, n, noun), ing
}

// requestHost is the Host header without port, lower case, without a trailing dot.
func requestHost(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimPrefix(strings.TrimSuffix(host, "]"), "[")
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// ingressHosts indexes an Ingress by the hosts of its rules (lower case; wildcard
// hosts as written, e.g. "*.apps.makonis.lv"). Rules without a host are not indexed:
// the stand-in answers only for named hosts.
func ingressHosts(obj any) ([]string, error) {
	ing, ok := obj.(*networkingv1.Ingress)
	if !ok {
		return nil, nil
	}
	var hosts []string
	for _, r := range ing.Spec.Rules {
		if r.Host != "" {
			hosts = append(hosts, strings.ToLower(r.Host))
		}
	}
	return hosts, nil
}

// hostRule is one rule of one Ingress that names the requested host.
type hostRule struct {
	ing  *networkingv1.Ingress
	rule networkingv1.IngressRule
}

// rulesFor returns the rules for host: those naming it exactly or, if there are
// none, those of the wildcard host that covers it (one label: *.b.c covers a.b.c).
func (g *ingressServer) rulesFor(host string) []hostRule {
	if host == "" {
		return nil
	}
	keys := []string{host}
	if i := strings.IndexByte(host, '.'); i > 0 {
		keys = append(keys, "*"+host[i:])
	}
	for _, key := range keys {
		objs, err := g.ingresses.ByIndex(ingressHostIndex, key)
		if err != nil || len(objs) == 0 {
			continue
		}
		var out []hostRule
		for _, o := range objs {
			ing := o.(*networkingv1.Ingress)
			for _, r := range ing.Spec.Rules {
				if strings.ToLower(r.Host) == key {
					out = append(out, hostRule{ing: ing, rule: r})
				}
			}
		}
		// Oldest Ingress first: it wins ties, as with most controllers.
		sort.SliceStable(out, func(i, j int) bool {
			a, b := out[i].ing, out[j].ing
			if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
				return a.CreationTimestamp.Before(&b.CreationTimestamp)
			}
			return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
		})
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

// pickBackend returns the backend for path among the rules: the longest matching path
// (Exact before Prefix of the same length), else the first Ingress's defaultBackend.
func pickBackend(rules []hostRule, path string) (*networkingv1.Ingress, *networkingv1.IngressBackend) {
	if path == "" {
		path = "/"
	}
	var (
		bestIng  *networkingv1.Ingress
		best     *networkingv1.IngressBackend
		bestLen  = -1
		bestExct bool
	)
	for _, hr := range rules {
		if hr.rule.HTTP == nil {
			continue
		}
		for i := range hr.rule.HTTP.Paths {
			p := &hr.rule.HTTP.Paths[i]
			exact, ok := pathMatches(p, path)
			if !ok {
				continue
			}
			l := len(p.Path)
			if l > bestLen || (l == bestLen && exact && !bestExct) {
				bestIng, best, bestLen, bestExct = hr.ing, &p.Backend, l, exact
			}
		}
	}
	if best != nil {
		return bestIng, best
	}
	for _, hr := range rules {
		if hr.ing.Spec.DefaultBackend != nil {
			return hr.ing, hr.ing.Spec.DefaultBackend
		}
	}
	return nil, nil
}

// pathMatches reports whether p matches path, and whether as an Exact path.
// Prefix matches whole path elements (/foo matches /foo and /foo/bar, not /foobar);
// ImplementationSpecific is treated as Prefix; a missing path is "/".
func pathMatches(p *networkingv1.HTTPIngressPath, path string) (exact, ok bool) {
	if p.PathType != nil && *p.PathType == networkingv1.PathTypeExact {
		return true, p.Path == path
	}
	prefix := strings.TrimSuffix(p.Path, "/")
	if prefix == "" {
		return false, true
	}
	return false, path == prefix || strings.HasPrefix(path, prefix+"/")
}

// servicePort finds the Service port that an Ingress backend names, by number or name.
func servicePort(svc *corev1.Service, bp networkingv1.ServiceBackendPort) (corev1.ServicePort, bool) {
	for _, sp := range svc.Spec.Ports {
		if (bp.Name != "" && sp.Name == bp.Name) || (bp.Name == "" && sp.Port == bp.Number) {
			return sp, true
		}
	}
	return corev1.ServicePort{}, false
}

func backendPortString(bp networkingv1.ServiceBackendPort) string {
	if bp.Name != "" {
		return strconv.Quote(bp.Name)
	}
	return strconv.Itoa(int(bp.Number))
}

// readyEndpoints counts the distinct ready endpoints of Service ns/name that serve its
// port portName, over all its EndpointSlices. A nil ready condition counts as ready,
// as the EndpointSlice API asks consumers to do.
func (g *ingressServer) readyEndpoints(ns, name, portName string) int {
	slices, err := g.slices.EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: name}))
	if err != nil {
		return 0
	}
	seen := map[string]bool{}
	for _, s := range slices {
		if !sliceHasPort(s, portName) {
			continue
		}
		for _, e := range s.Endpoints {
			if (e.Conditions.Ready != nil && !*e.Conditions.Ready) || len(e.Addresses) == 0 {
				continue
			}
			seen[e.Addresses[0]] = true
		}
	}
	return len(seen)
}

func sliceHasPort(s *discoveryv1.EndpointSlice, portName string) bool {
	for _, p := range s.Ports {
		n := ""
		if p.Name != nil {
			n = *p.Name
		}
		if n == portName {
			return true
		}
	}
	return false
}

// logStats writes one line per minute with the number of answers, if there were any.
func (g *ingressServer) logStats(ctx context.Context) {
	t := time.NewTicker(ingressStatsEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, nf, un, other, hs := g.nOK.Swap(0), g.nNotFound.Swap(0), g.nUnavailable.Swap(0), g.nOther.Swap(0), g.nHandshake.Swap(0)
		if total := ok + nf + un + other; total > 0 || hs > 0 {
			logf("ingress: %d requests in the last minute (200: %d, 404: %d, 503: %d, other: %d), %d failed TLS handshakes", total, ok, nf, un, other, hs)
		}
	}
}

// serverErrorWriter receives http.Server's error log: TLS handshake failures are
// counted, other lines go to the supervisor's log.
type serverErrorWriter struct{ g *ingressServer }

func (w serverErrorWriter) Write(b []byte) (int, error) {
	line := string(bytes.TrimSpace(b))
	if strings.Contains(line, "TLS handshake error") {
		w.g.nHandshake.Add(1)
	} else if line != "" {
		logf("ingress: %s", line)
	}
	return len(b), nil
}

// leafIssuer issues and caches the serving certificates, one per SNI name.
type leafIssuer struct {
	ca    *x509.Certificate
	caKey any
	mu    sync.Mutex
	cache map[string]*tls.Certificate
}

func newLeafIssuer(certPath, keyPath string) (*leafIssuer, error) {
	ca, err := readCert(certPath)
	if err != nil {
		return nil, err
	}
	key, err := readKey(keyPath)
	if err != nil {
		return nil, err
	}
	return &leafIssuer{ca: ca, caKey: key, cache: map[string]*tls.Certificate{}}, nil
}

// getCertificate is tls.Config.GetCertificate: a certificate for the SNI name, or for
// localhost (and 127.0.0.1, ::1) when the client sent none or an unusable one.
func (l *leafIssuer) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.TrimSuffix(strings.ToLower(hello.ServerName), ".")
	if !validSNI(name) {
		name = "localhost"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.cache[name]; ok && time.Until(c.Leaf.NotAfter) > ingressLeafRenew {
		return c, nil
	}
	c, err := l.issue(name)
	if err != nil {
		return nil, fmt.Errorf("issuing a certificate for %q: %w", name, err)
	}
	if len(l.cache) >= ingressCertCacheMax {
		clear(l.cache)
	}
	l.cache[name] = c
	return c, nil
}

// validSNI accepts DNS names (letters, digits, '-', '_', '.', a leading "*.").
func validSNI(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for i, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		case c == '*' && i == 0 && strings.HasPrefix(name, "*."):
		default:
			return false
		}
	}
	return true
}

func (l *leafIssuer) issue(name string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(ingressLeafValid),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{name},
	}
	if name == "localhost" {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, l.ca, key.Public(), l.caKey)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
