package node

import (
	"crypto/tls"
	"crypto/x509"
	"path/filepath"

	"github.com/tokenstore/tokenstore/cluster"
)

// nodeTLS is what the ssl settings load into. The certificates live in
// certSources, which reload them when their files change (certreload.go);
// the configs here ask the sources at every handshake.
type nodeTLS struct {
	server    *tls.Config // the HTTP listener's; nil: plain HTTP
	http      *certSource // nil: plain HTTP
	transport *cluster.TransportTLS
	// sources are the groups that are on, for reloading and expiries.
	sources []*certSource
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
	files := func(s sslSettings) certFiles {
		f := certFiles{cert: path(s.certificate), key: path(s.key)}
		for _, a := range s.authorities {
			f.cas = append(f.cas, path(a))
		}
		return f
	}
	if transport.enabled {
		src, err := newCertSource("transport", "xpack.security.transport.ssl", files(transport))
		if err != nil {
			return out, err
		}
		out.sources = append(out.sources, src)
		out.transport = &cluster.TransportTLS{Certs: src, VerifyHostname: transport.verifyHostname}
	}
	if http.enabled {
		src, err := newCertSource("http", "xpack.security.http.ssl", files(http))
		if err != nil {
			return out, err
		}
		out.http = src
		out.sources = append(out.sources, src)
		out.server = &tls.Config{MinVersion: tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return src.Certificate(), nil }}
		if out.transport != nil {
			// Other nodes show their transport certificate on internal
			// calls; cluster.RequirePeer checks it against the cluster CA.
			out.server.ClientAuth = tls.RequestClientCert
		}
	}
	return out, nil
}

// httpCAs is the pool that verifies other nodes' HTTP certificates on
// internal calls: the HTTP CAs, or the transport's when the HTTP group
// names none; nil (the system roots) when neither does.
func (t nodeTLS) httpCAs() func() *x509.CertPool {
	return func() *x509.CertPool {
		if t.http != nil {
			if pool := t.http.CAs(); pool != nil {
				return pool
			}
		}
		if t.transport != nil {
			return t.transport.Certs.CAs()
		}
		return nil
	}
}
