package cluster

import (
	"context"
	"net"
	"net/http"
)

// Links is how a node reaches its peers and how they reach it: dialing
// them (Raft and internal HTTP calls), accepting their Raft connections and
// serving their internal calls. Config.Links nil is the network as it is;
// testcluster supplies Links that cut a node off from its peers (a
// partition) while clients still reach it, without touching the OS.
type Links interface {
	// Dial opens a connection to a peer.
	Dial(ctx context.Context, network, addr string) (net.Conn, error)
	// Listener wraps the Raft port's listener.
	Listener(ln net.Listener) net.Listener
	// Handler wraps the internal endpoints peers call.
	Handler(h http.Handler) http.Handler
}

// directLinks is the network as it is.
type directLinks struct{ dialer net.Dialer }

func (l *directLinks) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return l.dialer.DialContext(ctx, network, addr)
}

func (*directLinks) Listener(ln net.Listener) net.Listener { return ln }

func (*directLinks) Handler(h http.Handler) http.Handler { return h }
