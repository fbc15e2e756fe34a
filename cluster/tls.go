package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/raft"
)

// TransportTLS is mutual TLS between nodes, on the Raft port and on the
// internal calls one node makes to another's HTTP port: a peer is a node
// only if its certificate chains to the cluster CA.
type TransportTLS struct {
	// Certs gives this node's certificate (shown to peers as server and as
	// client) and the cluster CA pool peers' certificates must chain to.
	// Every handshake asks it, so certificates reloaded from their files
	// take effect on the next connection.
	Certs CertSource
	// VerifyHostname also checks the names in a peer's certificate against
	// the address dialed (Elasticsearch's verification_mode "full"); without
	// it only the chain is checked ("certificate").
	VerifyHostname bool
}

// CertSource is a certificate and a CA pool that may be replaced while the
// node runs; both are read, never modified, by the callers.
type CertSource interface {
	Certificate() *tls.Certificate
	CAs() *x509.CertPool
}

// serverConfig is the Raft listener's side: a client certificate from the
// cluster CA is required before a single Raft byte is read. It is built
// for each accepted connection, with the certificates in force then.
func (t *TransportTLS) serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{*t.Certs.Certificate()},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    t.Certs.CAs(),
	}
}

// clientConfig is the dialing side towards serverName, for Raft and for
// internal HTTP calls (where roots are the HTTP CAs, which may differ).
// The internal HTTP client keeps one config for its life, so the client
// certificate and the roots are looked up at each handshake: Go's own
// verification is replaced by VerifyConnection, which does the same checks
// (chain, usage and, unless verification_mode is "certificate", the name)
// against the roots in force now.
func (t *TransportTLS) clientConfig(serverName string, roots func() *x509.CertPool) *tls.Config {
	verifyName := t == nil || t.VerifyHostname
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName, InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			name := ""
			if verifyName {
				name = cs.ServerName
			}
			return verifyPeer(cs.PeerCertificates, roots(), name)
		}}
	if t != nil {
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return t.Certs.Certificate(), nil
		}
	}
	return c
}

// verifyPeer checks a server's chain (leaf first) against roots and, when
// name is set, the leaf's names against it.
func verifyPeer(certs []*x509.Certificate, roots *x509.CertPool, name string) error {
	if len(certs) == 0 {
		return errors.New("no certificate presented")
	}
	if err := verifyCerts(certs, roots, x509.ExtKeyUsageServerAuth); err != nil {
		return err
	}
	if name != "" {
		return certs[0].VerifyHostname(name)
	}
	return nil
}

func verifyCerts(certs []*x509.Certificate, roots *x509.CertPool, usage x509.ExtKeyUsage) error {
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}})
	return err
}

// dialTLS opens a Raft connection and completes the handshake within timeout,
// so a peer that is not a node fails here rather than inside Raft.
func (t *TransportTLS) dialTLS(links Links, addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	host, _, err := net.SplitHostPort(string(addr))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	raw, err := links.Dial(ctx, "tcp", string(addr))
	cancel()
	if err != nil {
		return nil, err
	}
	c := tls.Client(raw, t.clientConfig(host, t.Certs.CAs))
	c.SetDeadline(time.Now().Add(timeout))
	if err := c.Handshake(); err != nil {
		raw.Close()
		return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// RequirePeer lets through only requests from other nodes when transport
// TLS is on: the HTTP connection must carry a client certificate that
// chains to the cluster CA. Credentials are checked after this, as before.
func (n *Node) RequirePeer(h http.Handler) http.Handler {
	t := n.cfg.Transport
	if t == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			http.Error(w, "internal endpoints need a node certificate", http.StatusForbidden)
			return
		}
		if err := verifyCerts(r.TLS.PeerCertificates, t.Certs.CAs(), x509.ExtKeyUsageClientAuth); err != nil {
			n.log.Warn("refused an internal call: certificate not from the cluster CA", "remote", r.RemoteAddr, "error", err)
			http.Error(w, "node certificate not trusted", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// PeerURL is the base URL of another node's HTTP port.
func (n *Node) PeerURL(httpAddr string) string {
	if n.cfg.HTTPTLS {
		return "https://" + httpAddr
	}
	return "http://" + httpAddr
}

// internalTLS is the client side of internal HTTP calls; nil for plain HTTP.
func (n *Node) internalTLS() *tls.Config {
	if !n.cfg.HTTPTLS {
		return nil
	}
	roots := n.cfg.HTTPCAs
	if roots == nil {
		roots = func() *x509.CertPool { return nil } // the system's
	}
	return n.cfg.Transport.clientConfig("", roots)
}
