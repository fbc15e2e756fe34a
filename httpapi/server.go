package httpapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/cluster"
)

// compile-time check that the cluster node is what authn needs.
var _ authn.Proposer = (*cluster.Node)(nil)

// Config is everything a node needs: flags, settings and environment.
type Config struct {
	NodeID    string
	HTTPAddr  string
	RaftAddr  string
	DataDir   string
	Bootstrap bool
	Join      []string
	// JoinTimeout bounds the attempts to join; zero means a minute.
	JoinTimeout time.Duration
	Settings    Settings
	// ConfigDir holds the service_tokens file (default DATA_DIR/config).
	ConfigDir string
	// JoinCredential is the Authorization header sent with join requests
	// (a user with the manage privilege).
	JoinCredential string
	Logger         hclog.Logger
	// Clock is the node's clock for expiry decisions and event times; nil
	// means time.Now.
	Clock func() time.Time
	// Raft timing; zero means the cluster package's defaults.
	HeartbeatTimeout time.Duration
	ElectionTimeout  time.Duration
}

// Server is one running node: Raft, the security service and HTTP.
type Server struct {
	cfg      Config
	log      hclog.Logger
	tls      nodeTLS
	node     *cluster.Node
	authn    *authn.Service
	http     *http.Server
	listener net.Listener
	settings resolved
	done     chan error
	// stopPurger ends the API key purge loop.
	stopPurger context.CancelFunc
	// authenticate is the WWW-Authenticate set of a 401.
	authenticate []string
}

// Start opens the node and serves HTTP. The HTTP listener is opened first,
// so a port of 0 resolves before the node registers its address.
func Start(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.NodeID == "" {
		return nil, errors.New("node id must not be empty")
	}
	settings, err := cfg.Settings.resolve()
	if err != nil {
		return nil, err
	}
	if cfg.ConfigDir == "" {
		cfg.ConfigDir = filepath.Join(cfg.DataDir, "config")
	}
	nodeTLS, err := loadTLS(settings.httpSSL, settings.transport, cfg.ConfigDir)
	if err != nil {
		return nil, err
	}
	if err := checkPlainBinds(cfg, settings.net, nodeTLS, cfg.Logger); err != nil {
		return nil, err
	}
	raw, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on http address %s: %w", cfg.HTTPAddr, err)
	}
	ln := cluster.LimitListener(raw, settings.net.httpMaxConns, cfg.Logger.Named("http"), "http")
	s := &Server{cfg: cfg, log: cfg.Logger.Named("http"), tls: nodeTLS, listener: ln, settings: settings, done: make(chan error, 1),
		authenticate: authenticateValues(settings.authn.TokensEnabled, settings.authn.APIKeysEnabled)}
	var svc *authn.Service
	s.node, err = cluster.Open(cluster.Config{
		ID: cfg.NodeID, RaftAddr: cfg.RaftAddr, HTTPAddr: advertisedHTTP(ln.Addr(), cfg.RaftAddr), DataDir: cfg.DataDir,
		Bootstrap: cfg.Bootstrap, Join: cfg.Join, JoinTimeout: cfg.JoinTimeout, Logger: cfg.Logger,
		HeartbeatTimeout:  cmp.Or(cfg.HeartbeatTimeout, settings.raft.heartbeat),
		ElectionTimeout:   cmp.Or(cfg.ElectionTimeout, settings.raft.election),
		SnapshotThreshold: settings.raft.threshold, SnapshotInterval: settings.raft.interval,
		SnapshotRetain: settings.raft.retain, TrailingLogs: settings.raft.trailing,
		Authorize: func(credential, subject string, event []byte) error {
			return svc.AuthorizeForwarded(credential, subject, event)
		},
		Transport: nodeTLS.transport, HTTPTLS: nodeTLS.server != nil, HTTPCAs: nodeTLS.httpCAs,
		JoinCredential:       cfg.JoinCredential,
		AuthorizeJoin:        func(credential string) error { return svc.AuthorizeJoin(credential) },
		InsecurePeers:        settings.net.allowInsecure,
		RaftHandshakeTimeout: settings.net.raftHandshake, RaftMaxConnections: settings.net.raftMaxConns,
	})
	if err != nil {
		ln.Close()
		return nil, err
	}
	ac := settings.authn
	ac.Logger = cfg.Logger
	ac.ConfigDir = cfg.ConfigDir
	ac.Now = cfg.Clock
	// With transport TLS only members reach the internal endpoints, and
	// they throttled their clients already.
	ac.PeersAuthenticated = nodeTLS.transport != nil
	svc, err = authn.New(s.node, ac)
	if err != nil {
		s.node.Shutdown()
		ln.Close()
		return nil, err
	}
	s.authn = svc
	ctx, cancel := context.WithCancel(context.Background())
	s.stopPurger = cancel
	go svc.RunPurger(ctx, settings.purge)
	go svc.RunFileTokenWatcher(ctx)
	s.http = s.newHTTPServer()
	if nodeTLS.server == nil {
		s.log.Warn("HTTP is plain text: passwords, API keys and tokens cross the network readable by anyone on the path; development only (set xpack.security.http.ssl.*)")
	}
	if nodeTLS.transport == nil {
		s.log.Warn("the Raft port and node-to-node calls are plain text and unauthenticated: whoever reaches the Raft port can append to the log; development only (set xpack.security.transport.ssl.*)")
		if cfg.JoinCredential == "" {
			s.log.Warn("no node credential (TOKENSTORE_JOIN_CREDENTIALS or ELASTIC_PASSWORD): without transport TLS a node shows one to call its peers (catch-up, health, confirmations), so this node can only run alone")
		}
	}
	serve := func() error { return s.http.Serve(s.listener) }
	if nodeTLS.server != nil {
		s.http.TLSConfig = nodeTLS.server
		serve = func() error { return s.http.ServeTLS(s.listener, "", "") }
	}
	go func() { s.done <- serve() }()
	return s, nil
}

// newHTTPServer bounds every connection: the TLS handshake and headers
// (handshake), one request with its body and its answer (request; backup
// and restore stream, and set their own deadlines), and the time a
// keep-alive connection may idle between requests (idle).
func (s *Server) newHTTPServer() *http.Server {
	l := s.settings.net
	return &http.Server{Handler: s.routes(), ReadHeaderTimeout: l.handshake, ReadTimeout: l.request,
		WriteTimeout: l.request, IdleTimeout: l.idle,
		ErrorLog: s.log.StandardLogger(&hclog.StandardLoggerOptions{})}
}

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

// BootstrapElastic sets elastic's password once this node leads; it is
// a no-op on a cluster that already has one.
func (s *Server) BootstrapElastic(ctx context.Context, password authn.Secret) (bool, error) {
	return s.authn.BootstrapElastic(ctx, password)
}

// URL is the node's HTTP base URL.
func (s *Server) URL() string { return s.node.PeerURL(s.listener.Addr().String()) }

// Authn is the node's security service.
func (s *Server) Authn() *authn.Service { return s.authn }

// Node is the node's Raft member.
func (s *Server) Node() *cluster.Node { return s.node }

// Shutdown stops HTTP, then hands over leadership and stops Raft.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopPurger()
	herr := s.http.Shutdown(ctx)
	nerr := s.node.Shutdown()
	return errors.Join(herr, nerr)
}

// Kill stops the node abruptly, as a crash would.
func (s *Server) Kill() {
	s.stopPurger()
	s.http.Close()
	s.node.Kill()
}

// Done is closed with the HTTP server's error when it stops serving.
func (s *Server) Done() <-chan error { return s.done }
