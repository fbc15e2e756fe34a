package node

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"path/filepath"

	"github.com/tokenstore/tokenstore/cluster"
)

// nodeTLS is what the ssl settings load into.
type nodeTLS struct {
	server    *tls.Config // the HTTP listener's; nil: plain HTTP
	httpCAs   *x509.CertPool
	transport *cluster.TransportTLS
}

// loadTLS reads the certificate files; relative paths are under the config
// dir, as Elasticsearch resolves them under its config directory.
func loadTLS(http, transport sslSettings, configDir string) (nodeTLS, error) {
	var out nodeTLS
	path := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(configDir, p)
	}
	load := func(prefix string, s sslSettings) (tls.Certificate, *x509.CertPool, error) {
		cert, err := tls.LoadX509KeyPair(path(s.certificate), path(s.key))
		if err != nil {
			return cert, nil, fmt.Errorf("%s: certificate and key: %w", prefix, err)
		}
		if len(s.authorities) == 0 {
			return cert, nil, nil
		}
		files := make([]string, len(s.authorities))
		for i, f := range s.authorities {
			files[i] = path(f)
		}
		pool, err := cluster.LoadCertPool(files)
		if err != nil {
			return cert, nil, fmt.Errorf("%s.certificate_authorities: %w", prefix, err)
		}
		return cert, pool, nil
	}
	if transport.enabled {
		cert, pool, err := load("xpack.security.transport.ssl", transport)
		if err != nil {
			return out, err
		}
		out.transport = &cluster.TransportTLS{Certificate: cert, CAs: pool, VerifyHostname: transport.verifyHostname}
	}
	if http.enabled {
		cert, pool, err := load("xpack.security.http.ssl", http)
		if err != nil {
			return out, err
		}
		out.server = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		if out.transport != nil {
			// Other nodes show their transport certificate on internal
			// calls; cluster.RequirePeer checks it against the cluster CA.
			out.server.ClientAuth = tls.RequestClientCert
		}
		out.httpCAs = pool
		if pool == nil && out.transport != nil {
			out.httpCAs = out.transport.CAs
		}
	}
	return out, nil
}
