package cluster

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// streamLayer is raft's TCP stream layer: TLS when configured, a deadline
// for a peer's first bytes, and the open connections tracked so that Kill
// drops them mid-stream as a crash would.
type streamLayer struct {
	net.Listener
	advertise net.Addr
	tls       *TransportTLS // nil: plain TCP
	links     Links
	// handshake bounds the time from accept to a peer's first bytes.
	handshake time.Duration
	mu        sync.Mutex
	conns     map[*trackedConn]struct{}
}

func newStreamLayer(cfg *Config) (*streamLayer, error) {
	ln, err := net.Listen("tcp", cfg.RaftAddr)
	if err != nil {
		return nil, err
	}
	limited := LimitListener(cfg.Links.Listener(ln), cfg.RaftMaxConnections, cfg.Logger.Named("raft-net"), "raft")
	return &streamLayer{Listener: limited, advertise: advertiseAddr(cfg.RaftAddr, ln.Addr()), tls: cfg.Transport,
		links: cfg.Links, handshake: cfg.RaftHandshakeTimeout, conns: map[*trackedConn]struct{}{}}, nil
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
	c, err := s.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if s.tls != nil {
		// The handshake runs on Raft's first read, in its connection
		// goroutine, so a slow or hostile peer does not stall Accept.
		c = tls.Server(c, s.tls.serverConfig())
	}
	return s.track(withHandshakeDeadline(c, s.handshake)), nil
}

func (s *streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	var err error
	if s.tls != nil {
		c, err = s.tls.dialTLS(s.links, addr, timeout)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		c, err = s.links.Dial(ctx, "tcp", string(addr))
		cancel()
	}
	if err != nil {
		return nil, err
	}
	return s.track(c), nil
}

func (s *streamLayer) track(c net.Conn) net.Conn {
	tc := &trackedConn{Conn: c, layer: s}
	s.mu.Lock()
	s.conns[tc] = struct{}{}
	s.mu.Unlock()
	return tc
}

// closeAll drops every open connection, so that peers of a killed node
// notice at once rather than at their next read.
func (s *streamLayer) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Conn.Close()
	}
}

type trackedConn struct {
	net.Conn
	layer *streamLayer
}

func (c *trackedConn) Close() error {
	c.layer.mu.Lock()
	delete(c.layer.conns, c)
	c.layer.mu.Unlock()
	return c.Conn.Close()
}

// unpipelined is Raft's network transport without pipelined replication.
// hashicorp/raft's pipeline deadlocks when a follower refuses an append
// (Success=false, as one whose disk is full does at every append, or one
// whose log diverged): its decoder returns while the sending loop may
// start one more send, which then waits forever on the decoder, so the
// leader never replicates to that follower again and cannot shut down
// (grafana/pyroscope#5518 traces it). Without the pipeline each follower
// gets one append at a time, of up to MaxAppendEntries entries.
//
// It costs nothing measurable: with 64 clients creating keys over three
// nodes, the pipeline on (with a relay that closes it after a refused
// append, which cannot hang) made 2,211 creates/s at p99 66 ms against
// 2,378 at 59 ms without, averaged over 5 interleaved runs; on a loaded
// machine the two were within the noise over 12 pairs. hashicorp/raft#541
// found the same: pipelining combines badly with batching.
type unpipelined struct{ *raft.NetworkTransport }

func (unpipelined) AppendEntriesPipeline(raft.ServerID, raft.ServerAddress) (raft.AppendPipeline, error) {
	return nil, raft.ErrPipelineReplicationNotSupported
}
