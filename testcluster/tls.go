package testcluster

import (
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/tokenstore/tokenstore/cluster"
)

// testCA signs the certificates of every TLS cluster started in-process;
// the shared client trusts it.
var testCA = func() *cluster.CA {
	ca, err := cluster.NewCA("tokenstore test CA", 24*time.Hour)
	if err != nil {
		panic(err)
	}
	return ca
}()

// TestCA is the CA of in-process TLS clusters, for tests that build their
// own clients or certificates.
func TestCA() *cluster.CA { return testCA }

// TestCAPool is a pool holding TestCA, for clients of TLS clusters.
func TestCAPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(testCA.Cert)
	return pool
}

// WriteNodeTLS writes a certificate signed by ca for a node on loopback
// (and named name), and the CA certificate, into dir, unless they are
// there already; it returns the -E settings that turn TLS on with them.
func WriteNodeTLS(ca *cluster.CA, dir, name string) (map[string]string, error) {
	// The settings are read relative to the node's config dir otherwise.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	crtFile, keyFile, caFile := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key"), filepath.Join(dir, "ca.crt")
	if _, err := os.Stat(keyFile); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		crt, key, err := ca.Issue(name, []string{name, "localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}, 24*time.Hour)
		if err != nil {
			return nil, err
		}
		caPEM, _, err := ca.PEM()
		if err != nil {
			return nil, err
		}
		for f, data := range map[string][]byte{crtFile: crt, keyFile: key, caFile: caPEM} {
			if err := writeAtomic(f, data); err != nil {
				return nil, err
			}
		}
	}
	return map[string]string{
		"xpack.security.http.ssl.enabled":                      "true",
		"xpack.security.http.ssl.certificate":                  crtFile,
		"xpack.security.http.ssl.key":                          keyFile,
		"xpack.security.http.ssl.certificate_authorities":      caFile,
		"xpack.security.transport.ssl.enabled":                 "true",
		"xpack.security.transport.ssl.certificate":             crtFile,
		"xpack.security.transport.ssl.key":                     keyFile,
		"xpack.security.transport.ssl.certificate_authorities": caFile,
	}, nil
}

// writeAtomic replaces a file in one step: nodes sharing a certs dir read
// ca.crt while the next node's files are written (make cluster's first
// start), and must never see it empty.
func writeAtomic(file string, data []byte) error {
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
