package cluster

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// errIsolated is returned by every node-to-node path while the node is cut off.
var errIsolated = errors.New("node is isolated from the cluster")

// streamLayer is raft's TCP stream layer with a switch that cuts the node off
// from its peers (Dial fails, accepted and open connections error), which
// tests use to partition a node without touching the OS.
type streamLayer struct {
	net.Listener
	advertise net.Addr
	tls       *TransportTLS // nil: plain TCP
	isolated  *atomic.Bool
	// handshake bounds the time from accept to a peer's first bytes.
	handshake time.Duration
	mu        sync.Mutex
	conns     map[*isolatableConn]struct{}
}

func newStreamLayer(cfg *Config, isolated *atomic.Bool) (*streamLayer, error) {
	ln, err := net.Listen("tcp", cfg.RaftAddr)
	if err != nil {
		return nil, err
	}
	limited := LimitListener(ln, cfg.RaftMaxConnections, cfg.Logger.Named("raft-net"), "raft")
	return &streamLayer{Listener: limited, advertise: advertiseAddr(cfg.RaftAddr, ln.Addr()), tls: cfg.Transport,
		isolated: isolated, handshake: cfg.RaftHandshakeTimeout, conns: map[*isolatableConn]struct{}{}}, nil
}

// advertiseAddr is the address peers dial: the configured one as written
// (a host name stays a name, so a certificate for the name verifies), or
// the bound one when the configuration leaves host or port open.
func advertiseAddr(configured string, bound net.Addr) net.Addr {
	host, port, err := net.SplitHostPort(configured)
	if err != nil || host == "" || port == "0" {
		return bound
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return bound
	}
	return namedAddr(configured)
}

type namedAddr string

func (a namedAddr) Network() string { return "tcp" }
func (a namedAddr) String() string  { return string(a) }

// Addr is what Raft records as this node's address.
func (s *streamLayer) Addr() net.Addr { return s.advertise }

func (s *streamLayer) Accept() (net.Conn, error) {
	for {
		c, err := s.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if s.isolated.Load() {
			c.Close()
			continue
		}
		if s.tls != nil {
			// The handshake runs on Raft's first read, in its connection
			// goroutine, so a slow or hostile peer does not stall Accept.
			c = tls.Server(c, s.tls.serverConfig())
		}
		return s.track(withHandshakeDeadline(c, s.handshake)), nil
	}
}

func (s *streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	if s.isolated.Load() {
		return nil, errIsolated
	}
	var c net.Conn
	var err error
	if s.tls != nil {
		c, err = s.tls.dialTLS(addr, timeout)
	} else {
		c, err = net.DialTimeout("tcp", string(addr), timeout)
	}
	if err != nil {
		return nil, err
	}
	return s.track(c), nil
}

func (s *streamLayer) track(c net.Conn) net.Conn {
	ic := &isolatableConn{Conn: c, isolated: s.isolated, layer: s}
	s.mu.Lock()
	s.conns[ic] = struct{}{}
	s.mu.Unlock()
	return ic
}

// closeAll drops every open connection, so a freshly isolated node stops
// hearing from its peers at once rather than at its next read.
func (s *streamLayer) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Conn.Close()
	}
}

type isolatableConn struct {
	net.Conn
	isolated *atomic.Bool
	layer    *streamLayer
}

func (c *isolatableConn) Close() error {
	c.layer.mu.Lock()
	delete(c.layer.conns, c)
	c.layer.mu.Unlock()
	return c.Conn.Close()
}

func (c *isolatableConn) Read(b []byte) (int, error) {
	if c.isolated.Load() {
		c.Conn.Close()
		return 0, errIsolated
	}
	return c.Conn.Read(b)
}

func (c *isolatableConn) Write(b []byte) (int, error) {
	if c.isolated.Load() {
		c.Conn.Close()
		return 0, errIsolated
	}
	return c.Conn.Write(b)
}
