package cluster

import (
	"errors"
	"fmt"
	"net"
	"net/http"
)

// ErrUnverifiedPeer is returned instead of sending a credential to a member
// that nothing proves is a node: without transport TLS, one whose address
// is beyond loopback.
var ErrUnverifiedPeer = errors.New("credentials are not sent in plain text to a member beyond loopback " +
	"(no transport TLS; tokenstore.security.allow_insecure_non_loopback is false)")

// credentialsMayGoTo reports whether a request carrying a credential may
// go to the member at hostport. With transport TLS every internal call is
// mutual TLS against the cluster CA, and only a node with such a certificate
// could join; without it only loopback is trusted, since plain mode binds
// loopback only, unless the operator said otherwise.
func (n *Node) credentialsMayGoTo(hostport string) bool {
	return n.cfg.Transport != nil || n.cfg.InsecurePeers || isLoopbackAddr(hostport)
}

// isLoopbackAddr reports whether host:port (or a bare host) names a loopback
// address: a loopback IP or "localhost". Other names are not resolved: what
// a name resolves to may change, and an empty host means every interface.
func isLoopbackAddr(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// credentialGuard refuses to send a request that carries a credential (the
// client's, a subject's or this node's) to a member not verified as a node.
// It sits under every internal call, the leader proxy included.
type credentialGuard struct {
	next    http.RoundTripper
	allowed func(hostport string) bool
}

func (g credentialGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	carries := req.Header.Get("Authorization") != "" || req.Header.Get(subjectHeader) != "" || req.Header.Get(bodyCredentialsHeader) != ""
	if carries && !g.allowed(req.URL.Host) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%w: %s", ErrUnverifiedPeer, truncate(req.URL.Host, 64))
	}
	return g.next.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport underneath.
func (g credentialGuard) CloseIdleConnections() {
	if c, ok := g.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// peerCredential is what this node shows on the internal calls that only
// nodes may make (status, applied, confirm): nothing with transport TLS,
// where its certificate proves it is a node; otherwise its join credential.
func (n *Node) peerCredential() string {
	if n.cfg.Transport != nil {
		return ""
	}
	return n.cfg.JoinCredential
}

// writeESError answers an internal call in Elasticsearch's error shape.
func writeESError(w http.ResponseWriter, status int, typ, reason string) {
	cause := map[string]string{"type": typ, "reason": reason}
	writeJSON(w, status, map[string]any{
		"error":  map[string]any{"root_cause": []any{cause}, "type": typ, "reason": reason},
		"status": status,
	})
}

// truncate keeps messages that quote their input bounded.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
