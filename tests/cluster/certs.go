package main

// The cluster's PKI, generated once per DIR (in DIR/pki) and reused on restart:
//
//	ca.crt/ca.key                       self-signed CA (client CA and serving CA)
//	apiserver.crt/apiserver.key         serving cert: 127.0.0.1, localhost, kubernetes.default.svc…
//	admin.crt/admin.key                 client cert CN=makonis-admin, O=system:masters
//	controller-manager.crt/.key         client cert CN=system:kube-controller-manager
//	scheduler.crt/.key                  client cert CN=system:kube-scheduler
//	scheduler-serving.crt/.key          kube-scheduler's serving cert: 127.0.0.1, localhost
//	kwok.crt/.key                       client cert CN=kwok-controller (RBAC: ClusterRole kwok-controller)
//	volume-provisioner.crt/.key         client cert CN=makonis-volume-provisioner (RBAC: ClusterRole makonis-volume-provisioner)
//	sa.key/sa.pub                       RSA key pair that signs/verifies service-account tokens
//	ingress-ca.crt/ingress-ca.key       a second CA, of the stand-in ingress only (ingress.go): it
//	                                    issues the ingress's serving certs on the fly; its cert is
//	                                    copied to DIR/ingress-ca.pem for the clients that probe it
//	siem-ca.crt/siem-ca.key             a third CA, standing in for the platform CA of the SIEM's
//	                                    intake (audit.go): it issues the two below and nothing else
//	siem-serving.crt/.key               the SIEM intake's serving cert: 127.0.0.1, localhost
//	siem-apiserver.crt/.key             kube-apiserver's client cert for its audit webhook: DNS name
//	                                    kube-apiserver, O=makonis-system (the namespace it is for)
//	siem-portal.crt/.key                the portal's client cert for shipping its audit trail: DNS
//	                                    name portal, O=makonis-system
//
// Missing files are (re)created; existing ones are never overwritten, so deleting one
// file regenerates just that one (delete ca.* to start a new trust root: then delete the
// other certificates too).

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki holds the paths of the files in DIR/pki.
type pki struct {
	Dir                                 string
	CACert, CAKey                       string
	ServingCert, ServingKey             string
	AdminCert, AdminKey                 string
	ControllerManagerCert, CMKey        string
	SchedulerCert, SchedulerKey         string
	SchedServingCert, SchedServingKey   string
	KWOKCert, KWOKKey                   string
	ProvisionerCert, ProvisionerKey     string
	ServiceAccountKey, ServiceAcctPub   string
	IngressCACert, IngressCAKey         string
	SIEMCACert, SIEMCAKey               string
	SIEMServingCert, SIEMServingKey     string
	SIEMAPIServerCert, SIEMAPIServerKey string
	SIEMPortalCert, SIEMPortalKey       string
}

func newPKI(dir string) pki {
	p := filepath.Join(dir, "pki")
	return pki{
		Dir:    p,
		CACert: filepath.Join(p, "ca.crt"), CAKey: filepath.Join(p, "ca.key"),
		ServingCert: filepath.Join(p, "apiserver.crt"), ServingKey: filepath.Join(p, "apiserver.key"),
		AdminCert: filepath.Join(p, "admin.crt"), AdminKey: filepath.Join(p, "admin.key"),
		ControllerManagerCert: filepath.Join(p, "controller-manager.crt"), CMKey: filepath.Join(p, "controller-manager.key"),
		SchedulerCert: filepath.Join(p, "scheduler.crt"), SchedulerKey: filepath.Join(p, "scheduler.key"),
		SchedServingCert: filepath.Join(p, "scheduler-serving.crt"), SchedServingKey: filepath.Join(p, "scheduler-serving.key"),
		KWOKCert: filepath.Join(p, "kwok.crt"), KWOKKey: filepath.Join(p, "kwok.key"),
		ProvisionerCert: filepath.Join(p, "volume-provisioner.crt"), ProvisionerKey: filepath.Join(p, "volume-provisioner.key"),
		ServiceAccountKey: filepath.Join(p, "sa.key"), ServiceAcctPub: filepath.Join(p, "sa.pub"),
		IngressCACert: filepath.Join(p, "ingress-ca.crt"), IngressCAKey: filepath.Join(p, "ingress-ca.key"),
		SIEMCACert: filepath.Join(p, "siem-ca.crt"), SIEMCAKey: filepath.Join(p, "siem-ca.key"),
		SIEMServingCert: filepath.Join(p, "siem-serving.crt"), SIEMServingKey: filepath.Join(p, "siem-serving.key"),
		SIEMAPIServerCert: filepath.Join(p, "siem-apiserver.crt"), SIEMAPIServerKey: filepath.Join(p, "siem-apiserver.key"),
		SIEMPortalCert: filepath.Join(p, "siem-portal.crt"), SIEMPortalKey: filepath.Join(p, "siem-portal.key"),
	}
}

// certValidity is long on purpose: a dev/test cluster must not expire under anyone.
const certValidity = 10 * 365 * 24 * time.Hour

// ensure creates whatever is missing in the PKI directory.
func (p pki) ensure() error {
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return err
	}
	caCert, caKey, err := ensureCA(p.CACert, p.CAKey, "makonis-local-ca")
	if err != nil {
		return fmt.Errorf("CA: %w", err)
	}
	// A CA of its own for the stand-in ingress: whoever trusts it for probes trusts
	// nothing of the API server, and its key signs nothing else.
	if _, _, err := ensureCA(p.IngressCACert, p.IngressCAKey, "makonis-local-ingress-ca"); err != nil {
		return fmt.Errorf("ingress CA: %w", err)
	}
	serving := certSpec{
		CommonName: "kube-apiserver",
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster", "kubernetes.default.svc.cluster.local"},
		IPs:    []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, net.IPv4(10, 96, 0, 1)},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	admin := certSpec{CommonName: "makonis-admin", Organization: []string{"system:masters"},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	cm := certSpec{CommonName: "system:kube-controller-manager",
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	scheduler := certSpec{CommonName: schedulerUser,
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	schedServing := certSpec{CommonName: "kube-scheduler", DNSNames: []string{"localhost"},
		IPs:    []net.IP{net.IPv4(127, 0, 0, 1)},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	kwok := certSpec{CommonName: kwokUser,
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	provisioner := certSpec{CommonName: provisionerUser,
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	for _, c := range []struct {
		spec      certSpec
		cert, key string
	}{
		{serving, p.ServingCert, p.ServingKey},
		{admin, p.AdminCert, p.AdminKey},
		{cm, p.ControllerManagerCert, p.CMKey},
		{scheduler, p.SchedulerCert, p.SchedulerKey},
		{schedServing, p.SchedServingCert, p.SchedServingKey},
		{kwok, p.KWOKCert, p.KWOKKey},
		{provisioner, p.ProvisionerCert, p.ProvisionerKey},
	} {
		if err := ensureLeaf(c.spec, c.cert, c.key, caCert, caKey); err != nil {
			return fmt.Errorf("%s: %w", c.spec.CommonName, err)
		}
	}
	// The SIEM's intake trusts only its own CA for client certificates, so no client
	// certificate of the API server (the admin's, O=system:masters) is a log sender.
	siemCA, siemCAKey, err := ensureCA(p.SIEMCACert, p.SIEMCAKey, "makonis-local-siem-ca")
	if err != nil {
		return fmt.Errorf("SIEM CA: %w", err)
	}
	siemServing := certSpec{CommonName: "makonis-siem", DNSNames: []string{"localhost"},
		IPs:    []net.IP{net.IPv4(127, 0, 0, 1)},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	siemAPIServer := certSpec{CommonName: "kube-apiserver", Organization: []string{platformNamespace},
		DNSNames: []string{"kube-apiserver"},
		Usages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	siemPortal := certSpec{CommonName: "portal", Organization: []string{platformNamespace},
		DNSNames: []string{"portal"},
		Usages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	for _, c := range []struct {
		spec      certSpec
		cert, key string
	}{
		{siemServing, p.SIEMServingCert, p.SIEMServingKey},
		{siemAPIServer, p.SIEMAPIServerCert, p.SIEMAPIServerKey},
		{siemPortal, p.SIEMPortalCert, p.SIEMPortalKey},
	} {
		if err := ensureLeaf(c.spec, c.cert, c.key, siemCA, siemCAKey); err != nil {
			return fmt.Errorf("%s: %w", c.spec.CommonName, err)
		}
	}
	if err := ensureServiceAccountKey(p.ServiceAccountKey, p.ServiceAcctPub); err != nil {
		return fmt.Errorf("service-account key: %w", err)
	}
	return nil
}

type certSpec struct {
	CommonName   string
	Organization []string
	DNSNames     []string
	IPs          []net.IP
	Usages       []x509.ExtKeyUsage
}

// ensureCA loads the self-signed CA certPath/keyPath, or creates it (common name cn).
func ensureCA(certPath, keyPath, cn string) (*x509.Certificate, crypto.Signer, error) {
	if exists(certPath) && exists(keyPath) {
		cert, err := readCert(certPath)
		if err != nil {
			return nil, nil, err
		}
		key, err := readKey(keyPath)
		return cert, key, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	if err := writeKey(keyPath, key); err != nil {
		return nil, nil, err
	}
	if err := writePEM(certPath, "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func ensureLeaf(spec certSpec, certPath, keyPath string, ca *x509.Certificate, caKey crypto.Signer) error {
	if exists(certPath) && exists(keyPath) {
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: spec.CommonName, Organization: spec.Organization},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  spec.Usages,
		DNSNames:     spec.DNSNames,
		IPAddresses:  spec.IPs,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return err
	}
	if err := writeKey(keyPath, key); err != nil {
		return err
	}
	return writePEM(certPath, "CERTIFICATE", der, 0o644)
}

// ensureServiceAccountKey writes an RSA key (PKCS#1) and its public key (PKIX). RSA
// because every consumer of service-account tokens understands RS256.
func ensureServiceAccountKey(keyPath, pubPath string) error {
	if exists(keyPath) && exists(pubPath) {
		return nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	if err := writePEM(keyPath, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key), 0o600); err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	return writePEM(pubPath, "PUBLIC KEY", pub, 0o644)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err)
	}
	return n
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "EC PRIVATE KEY", der, 0o600)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return x509.ParseCertificate(block.Bytes)
}

func readKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM key", path)
	}
	switch block.Type {
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	}
	return nil, fmt.Errorf("%s: unexpected PEM block %q", path, block.Type)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}
