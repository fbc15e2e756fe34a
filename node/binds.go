package node

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// checkPlainBinds is Elasticsearch's bootstrap check in spirit: a port
// without TLS listens on loopback only, where nobody else on the network
// reads its passwords or, for Raft, appends to the log. The operator can
// allow it, and is warned at every start.
func checkPlainBinds(cfg Config, l netLimits, t nodeTLS, log hclog.Logger) error {
	var exposed []string
	if t.server == nil && !bindsLoopback(cfg.HTTPAddr) {
		exposed = append(exposed, fmt.Sprintf("HTTP address [%s] without [xpack.security.http.ssl.enabled]", cfg.HTTPAddr))
	}
	if t.transport == nil && !bindsLoopback(cfg.RaftAddr) {
		exposed = append(exposed, fmt.Sprintf("Raft address [%s] without [xpack.security.transport.ssl.enabled]", cfg.RaftAddr))
	}
	if len(exposed) == 0 {
		return nil
	}
	what := strings.Join(exposed, " and ")
	if !l.allowInsecure {
		return fmt.Errorf("%s: a port without TLS must bind a loopback address (127.0.0.1), since passwords, keys and "+
			"log entries would cross the network in plain text; enable TLS, bind loopback, or set "+
			"[tokenstore.security.allow_insecure_non_loopback] to [true] to accept the risk", what)
	}
	log.Warn("INSECURE: plain text beyond loopback allowed by tokenstore.security.allow_insecure_non_loopback: " + what +
		"; credentials and the Raft log cross the network readable and forgeable by anyone on the path, " +
		"and clients' credentials are forwarded to members in plain text")
	return nil
}

// bindsLoopback reports whether a listen address binds loopback only: an
// empty host binds every interface, and a name binds what it resolves to.
func bindsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return false
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return false
		}
	}
	return true
}

// advertisedHTTP is the address other nodes use to reach this one's HTTP
// port. Listening on all interfaces (0.0.0.0, as in a container) is not an
// address to dial, so the host of the Raft address stands in for it.
func advertisedHTTP(ln net.Addr, raftAddr string) string {
	tcp, ok := ln.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return ln.String()
	}
	host, _, err := net.SplitHostPort(raftAddr)
	if err != nil || host == "" {
		return ln.String()
	}
	return net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}
