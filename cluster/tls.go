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
	// Certificate is this node's, shown to peers as server and as client.
	Certificate tls.Certificate
	// CAs is the cluster CA pool that peers' certificates must chain to.
	CAs *x509.CertPool
	// VerifyHostname also checks the names in a peer's certificate against
	// the address dialed (Elasticsearch's verification_mode "full"); without
	// it only the chain is checked ("certificate").
	VerifyHostname bool
}

// serverConfig is the Raft listener's side: a client certificate from the
// cluster CA is required before a single Raft byte is read.
func (t *TransportTLS) serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{t.Certificate},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    t.CAs,
	}
}

// clientConfig is the dialing side towards serverName, for Raft and for
// internal HTTP calls (where roots are the HTTP CAs, which may differ).
func (t *TransportTLS) clientConfig(serverName string, roots *x509.CertPool) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, ServerName: serverName}
	if t != nil {
		c.Certificates = []tls.Certificate{t.Certificate}
		if !t.VerifyHostname {
			// The chain is still verified, below; only the name check is off.
			c.InsecureSkipVerify = true
			c.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
				return verifyChain(raw, roots, x509.ExtKeyUsageServerAuth)
			}
		}
	}
	return c
}

// verifyChain checks a peer's certificate chain (leaf first) against roots.
func verifyChain(raw [][]byte, roots *x509.CertPool, usage x509.ExtKeyUsage) error {
	if len(raw) == 0 {
		return errors.New("no certificate presented")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, b := range raw {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return fmt.Errorf("bad peer certificate: %w", err)
		}
		certs[i] = c
	}
	return verifyCerts(certs, roots, usage)
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
	c := tls.Client(raw, t.clientConfig(host, t.CAs))
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
		if err := verifyCerts(r.TLS.PeerCertificates, t.CAs, x509.ExtKeyUsageClientAuth); err != nil {
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
	return n.cfg.Transport.clientConfig("", n.cfg.HTTPCAs)
}
