package cluster

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// LimitListener accepts at most max connections open at once. A connection
// over the cap is closed as soon as it is accepted, rather than left in
// the kernel's queue: a flood of idle connections costs the process at most
// max descriptors, and its victims learn at once. Refusals are logged at
// most once every 10 seconds, with their count, so a flood cannot flood the
// log.
func LimitListener(ln net.Listener, max int, log hclog.Logger, port string) net.Listener {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &limitListener{Listener: ln, slots: make(chan struct{}, max), log: log, port: port}
}

type limitListener struct {
	net.Listener
	slots   chan struct{}
	log     hclog.Logger
	port    string
	refused atomic.Uint64
	lastLog atomic.Int64 // unix nanos of the last refusal warning
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
		default:
			c.Close()
			l.noteRefusal()
		}
	}
}

func (l *limitListener) noteRefusal() {
	n := l.refused.Add(1)
	now, last := time.Now().UnixNano(), l.lastLog.Load()
	if now-last >= int64(10*time.Second) && l.lastLog.CompareAndSwap(last, now) {
		l.log.Warn("connection refused: too many open connections", "port", l.port,
			"max_open_connections", cap(l.slots), "refused_total", n)
	}
}

// limitedConn gives its slot back when closed, once however often Close
// is called.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// handshakeConn closes a connection whose peer sends nothing within the
// deadline set when it was accepted: for a TLS connection that is a complete
// handshake and a first record, for plain Raft the first RPC. Raft dials
// only to send, so a peer always writes at once; after the first bytes the
// deadline is lifted, since pooled Raft connections may idle between RPCs.
type handshakeConn struct {
	net.Conn
	pending bool // the first bytes have not arrived; Raft reads from one goroutine
}

func withHandshakeDeadline(c net.Conn, d time.Duration) net.Conn {
	c.SetDeadline(time.Now().Add(d))
	return &handshakeConn{Conn: c, pending: true}
}

func (c *handshakeConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if !c.pending {
		return n, err
	}
	if n > 0 {
		c.pending = false
		c.Conn.SetDeadline(time.Time{})
		return n, err
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// Raft logs every error but EOF; a flood of idle connections must
		// not become a flood of log lines.
		return 0, io.EOF
	}
	return n, err
}
