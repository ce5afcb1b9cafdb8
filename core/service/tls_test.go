package service_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cryptonets/cryptonets/core/httpapi"
	"github.com/cryptonets/cryptonets/core/remote"
)

// TestMutualTLS serves over TLS with client certificates required: a client with a
// certificate of the server's CA is served over HTTP/2, one without is refused.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, nil, nil, "test CA", dir, "ca")
	newCert(t, ca, caKey, "127.0.0.1", dir, "server")
	newCert(t, ca, caKey, "client", dir, "client")
	e := newProcessEnv(t, "--tls-cert", filepath.Join(dir, "server.pem"), "--tls-key", filepath.Join(dir, "server-key.pem"),
		"--tls-client-ca", filepath.Join(dir, "ca.pem"))
	e.url = strings.Replace(e.url, "http://", "https://", 1)

	withCert, err := remote.TLSConfig(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	images := testImages(t, 3)
	logits, err := e.connect(remote.Options{TLS: withCert}).Predict(context.Background(), "mnist", images, batchPlan)
	if err != nil {
		t.Fatal(err)
	}
	checkLabels(t, e.model, images, logits)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = withCert
	resp, err := (&http.Client{Transport: tr}).Get(e.url + httpapi.PathHealth)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Proto != "HTTP/2.0" {
		t.Errorf("over TLS the protocol is %s, want HTTP/2.0", resp.Proto)
	}

	noCert, err := remote.TLSConfig(filepath.Join(dir, "ca.pem"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.connect(remote.Options{TLS: noCert, Attempts: 1}).Models(context.Background()); err == nil {
		t.Error("a client without a certificate was served")
	}
	e.url = strings.Replace(e.url, "https://", "http://", 1) // for the checks of stop
}

// newCert writes NAME.pem and NAME-key.pem to dir: a CA certificate if parent is
// nil, else a certificate for host (an IP address or a client name) signed by it.
func newCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, host, dir, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		parent, parentKey = tmpl, key
	} else if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, kind string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: data}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(name+".pem", "CERTIFICATE", der)
	write(name+"-key.pem", "EC PRIVATE KEY", keyDER)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}
