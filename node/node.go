package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/authn/audit"
	"github.com/tokenstore/tokenstore/cluster"
	"github.com/tokenstore/tokenstore/httpapi"
	"github.com/tokenstore/tokenstore/metrics"
)

// The cluster node is what authn proposes through, and authn is what the
// cluster's internal endpoints authorize with.
var (
	_ authn.Proposer     = (*cluster.Node)(nil)
	_ cluster.Authorizer = (*authn.Service)(nil)
	_ cluster.Reporter   = (*authn.Service)(nil)
)

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
	// LogsDir holds the audit log (default DATA_DIR/logs).
	LogsDir string
	// JoinCredential is the Authorization header sent with join requests
	// (a user with the all privilege).
	JoinCredential string
	Logger         hclog.Logger
	// Clock is the node's clock for expiry decisions and event times; nil
	// means time.Now.
	Clock func() time.Time
	// Raft timing; zero means the settings' (or the cluster package's
	// defaults).
	HeartbeatTimeout time.Duration
	ElectionTimeout  time.Duration
	// Links connects the node to its peers; nil is the network as it is.
	// testcluster passes its own to partition nodes.
	Links cluster.Links
}

// Node is one running node: Raft, the security service and HTTP.
type Node struct {
	cfg      Config
	log      hclog.Logger
	settings resolved
	tls      nodeTLS
	listener net.Listener
	cluster  *cluster.Node
	authn    *authn.Service
	metrics  *metrics.Metrics
	http     *http.Server
	routes   []httpapi.Route
	audit    *audit.Log // nil unless xpack.security.audit.enabled
	done     chan error
	// stopBackground ends the purges and the file watcher.
	stopBackground context.CancelFunc
}

// now is the node's clock (Config.Clock), which tests skew.
func (n *Node) now() time.Time {
	if n.cfg.Clock != nil {
		return n.cfg.Clock()
	}
	return time.Now()
}

// Open starts a node and serves HTTP. The parts are built in order: the
// settings and TLS, the HTTP listener (first, so a port of 0 resolves
// before the node registers its address), the cluster, the security
// service that proposes through it, and the API over both.
func Open(cfg Config) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.NodeID == "" {
		return nil, errors.New("node id must not be empty")
	}
	if cfg.ConfigDir == "" {
		cfg.ConfigDir = filepath.Join(cfg.DataDir, "config")
	}
	n := &Node{cfg: cfg, log: cfg.Logger.Named("http"), done: make(chan error, 1)}
	var err error
	if n.settings, err = cfg.Settings.resolve(); err != nil {
		return nil, err
	}
	if n.tls, err = loadTLS(n.settings.httpSSL, n.settings.transportSSL, cfg.ConfigDir); err != nil {
		return nil, err
	}
	for _, src := range n.tls.sources {
		src.checkExpiry(n.log, n.now())
	}
	if n.settings.authn.ForwardAuthRules, err = loadForwardAuthRules(n.settings.forwardAuthRules, cfg.ConfigDir); err != nil {
		return nil, err
	}
	if err := checkPlainBinds(cfg, n.settings.net, n.tls, cfg.Logger); err != nil {
		return nil, err
	}
	raw, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on http address %s: %w", cfg.HTTPAddr, err)
	}
	n.listener = cluster.LimitListener(raw, n.settings.net.httpMaxConns, n.log, "http")
	n.metrics = metrics.New()
	if n.cluster, err = cluster.Open(n.clusterConfig()); err != nil {
		n.listener.Close()
		return nil, err
	}
	if err := n.openAudit(); err != nil {
		n.cluster.Shutdown()
		n.listener.Close()
		return nil, err
	}
	if n.authn, err = authn.New(n.cluster, n.authnConfig()); err != nil {
		n.closeAudit()
		n.cluster.Shutdown()
		n.listener.Close()
		return nil, err
	}
	n.watchMetrics()
	n.startBackground()
	n.serve()
	return n, nil
}

func (n *Node) clusterConfig() cluster.Config {
	s, cfg := n.settings, n.cfg
	return cluster.Config{
		ID: cfg.NodeID, RaftAddr: cfg.RaftAddr, HTTPAddr: advertisedHTTP(n.listener.Addr(), cfg.RaftAddr), DataDir: cfg.DataDir,
		Bootstrap: cfg.Bootstrap, Join: cfg.Join, JoinTimeout: cfg.JoinTimeout, Logger: cfg.Logger,
		NonVoter: s.nonVoter, BuildVersion: BuildVersion(),
		HeartbeatTimeout:  cmp.Or(cfg.HeartbeatTimeout, s.raft.heartbeat),
		ElectionTimeout:   cmp.Or(cfg.ElectionTimeout, s.raft.election),
		SnapshotThreshold: s.raft.threshold, SnapshotInterval: s.raft.interval,
		SnapshotRetain: s.raft.retain, TrailingLogs: s.raft.trailing,
		Transport: n.tls.transport, HTTPTLS: n.tls.server != nil, HTTPCAs: n.tls.httpCAs(),
		JoinCredential: cfg.JoinCredential, InsecurePeers: s.net.allowInsecure,
		RaftHandshakeTimeout: s.net.raftHandshake, RaftMaxConnections: s.net.raftMaxConns,
		Links: cfg.Links, Observer: n.metrics.Cluster(),
	}
}

// loadForwardAuthRules reads the rule file, if one is set, so that a bad
// one stops the node before it serves.
func loadForwardAuthRules(file, configDir string) (*authn.ForwardAuthRules, error) {
	if file == "" {
		return nil, nil
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(configDir, file)
	}
	return authn.LoadForwardAuthRules(file)
}

func (n *Node) authnConfig() authn.Config {
	ac := n.settings.authn
	ac.Logger = n.cfg.Logger
	ac.ConfigDir = n.cfg.ConfigDir
	ac.Now = n.cfg.Clock
	// With transport TLS only members reach the internal endpoints, and
	// they throttled their clients already.
	ac.PeersAuthenticated = n.tls.transport != nil
	n.observeAudit(&ac)
	ac.Observers = append(ac.Observers, n.metrics.Authn())
	return ac
}

// startBackground runs the purges and the recording of API key uses
// (which only the leader proposes), the service_tokens file watcher and
// the certificate reloader until the node stops.
func (n *Node) startBackground() {
	ctx, cancel := context.WithCancel(context.Background())
	n.stopBackground = cancel
	go n.authn.RunPurger(ctx, n.settings.purge)
	go n.authn.RunLastUsed(ctx, n.cluster)
	go n.authn.RunFileTokenWatcher(ctx)
	if len(n.tls.sources) > 0 {
		go n.tls.watchCertificates(ctx, n.settings.reload.enabled, n.settings.reload.interval, n.now, n.cfg.Logger.Named("tls"))
	}
}

// serve starts answering HTTP on the listener, with the API over the
// cluster and the security service.
func (n *Node) serve() {
	// The leader authorizes forwarded writes and joins with the security
	// service: this is where the cluster gets its Authorizer.
	internal := n.cluster.Handler(n.authn, n.authn)
	api := httpapi.New(httpapi.Config{
		Authn: n.authn, Cluster: &clusterAPI{node: n.cluster, authn: n.authn, internal: internal, log: n.log},
		ClusterName: n.settings.clusterName, TokensEnabled: n.settings.authn.TokensEnabled,
		APIKeysEnabled: n.settings.authn.APIKeysEnabled, PeersVerified: n.tls.transport != nil,
		RequestTimeout: n.settings.net.request, StreamTimeout: n.settings.net.stream, Logger: n.cfg.Logger,
		Metrics: n.metrics.Handler(), Requests: n.metrics.Requests(),
	})
	// The console calls the API in process: its writes are audited too.
	n.http = newHTTPServer(n.withConsole(n.auditRequests(api.Handler())), n.settings.net, n.log)
	n.routes = api.Routes()
	n.warnPlainText()
	serve := func() error { return n.http.Serve(n.listener) }
	if n.tls.server != nil {
		n.http.TLSConfig = n.tls.server
		serve = func() error { return n.http.ServeTLS(n.listener, "", "") }
	}
	go func() { n.done <- serve() }()
}

// newHTTPServer bounds every connection: the TLS handshake and headers
// (handshake), one request with its body and its answer (request; backup
// and restore stream, and set their own deadlines), and the time a
// keep-alive connection may idle between requests (idle).
func newHTTPServer(h http.Handler, l netLimits, log hclog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: l.handshake, ReadTimeout: l.request,
		WriteTimeout: l.request, IdleTimeout: l.idle,
		ErrorLog: log.StandardLogger(&hclog.StandardLoggerOptions{})}
}

func (n *Node) warnPlainText() {
	if n.tls.server == nil {
		n.log.Warn("HTTP is plain text: passwords, API keys and tokens cross the network readable by anyone on the path; development only (set xpack.security.http.ssl.*)")
	}
	if n.tls.transport == nil {
		n.log.Warn("the Raft port and node-to-node calls are plain text and unauthenticated: whoever reaches the Raft port can append to the log; development only (set xpack.security.transport.ssl.*)")
		if n.cfg.JoinCredential == "" {
			n.log.Warn("no node credential (TOKENSTORE_JOIN_CREDENTIALS or ELASTIC_PASSWORD): without transport TLS a node shows one to call its peers (catch-up, health, confirmations), so this node can only run alone")
		}
	}
}

// URL is the node's HTTP base URL.
func (n *Node) URL() string { return n.cluster.PeerURL(n.listener.Addr().String()) }

// Authn is the node's security service.
func (n *Node) Authn() *authn.Service { return n.authn }

// Routes lists the node's API routes, for tests that hold every route to
// the API's conventions.
func (n *Node) Routes() []httpapi.Route { return n.routes }

// Cluster is the node's Raft member.
func (n *Node) Cluster() *cluster.Node { return n.cluster }

// Shutdown stops HTTP, then hands over leadership and stops Raft.
func (n *Node) Shutdown(ctx context.Context) error {
	n.stopBackground()
	herr := n.http.Shutdown(ctx)
	nerr := n.cluster.Shutdown()
	n.closeAudit()
	return errors.Join(herr, nerr)
}

// Kill stops the node abruptly, as a crash would.
func (n *Node) Kill() {
	n.stopBackground()
	n.http.Close()
	n.cluster.Kill()
	n.closeAudit()
}

// Done is closed with the HTTP server's error when it stops serving.
func (n *Node) Done() <-chan error { return n.done }
