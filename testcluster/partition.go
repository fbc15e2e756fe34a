package testcluster

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// errPartitioned is what every node-to-node path returns while a node is
// cut off.
var errPartitioned = errors.New("node is isolated from the cluster")

// partition is a node's links to its peers (cluster.Links) with a switch
// that cuts them, without touching the OS: dials fail, Raft connections
// are dropped as they are accepted, open connections fail, and internal
// calls are refused. Clients still reach the node's public API.
type partition struct {
	cut    atomic.Bool
	dialer net.Dialer
	mu     sync.Mutex
	conns  map[*partitionConn]struct{}
}

func newPartition() *partition { return &partition{conns: map[*partitionConn]struct{}{}} }

// set cuts the node off (true) or reconnects it (false). Cutting drops every
// open connection, so the node stops hearing from its peers at once rather
// than at its next read.
func (p *partition) set(cut bool) {
	p.cut.Store(cut)
	if !cut {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Conn.Close()
	}
}

func (p *partition) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if p.cut.Load() {
		// A dial error: the caller knows the request never left.
		return nil, &net.OpError{Op: "dial", Net: network, Err: errPartitioned}
	}
	c, err := p.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return p.track(c), nil
}

func (p *partition) Listener(ln net.Listener) net.Listener {
	return &partitionListener{Listener: ln, p: p}
}

func (p *partition) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.cut.Load() {
			http.Error(w, errPartitioned.Error(), http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (p *partition) track(c net.Conn) net.Conn {
	pc := &partitionConn{Conn: c, p: p}
	p.mu.Lock()
	p.conns[pc] = struct{}{}
	p.mu.Unlock()
	return pc
}

type partitionListener struct {
	net.Listener
	p *partition
}

func (l *partitionListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.p.cut.Load() {
			c.Close()
			continue
		}
		return l.p.track(c), nil
	}
}

type partitionConn struct {
	net.Conn
	p *partition
}

func (c *partitionConn) Close() error {
	c.p.mu.Lock()
	delete(c.p.conns, c)
	c.p.mu.Unlock()
	return c.Conn.Close()
}

func (c *partitionConn) Read(b []byte) (int, error) {
	if c.p.cut.Load() {
		c.Conn.Close()
		return 0, errPartitioned
	}
	return c.Conn.Read(b)
}

func (c *partitionConn) Write(b []byte) (int, error) {
	if c.p.cut.Load() {
		c.Conn.Close()
		return 0, errPartitioned
	}
	return c.Conn.Write(b)
}
