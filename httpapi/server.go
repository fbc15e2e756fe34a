package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tokenstore/tokenstore/authn"
)

// Config is what the API serves: the security service, the cluster it runs
// in, and the settings its answers depend on.
type Config struct {
	Authn   *authn.Service
	Cluster Cluster
	// ClusterName is cluster.name, shown by / and the nodes envelopes.
	ClusterName string
	// TokensEnabled and APIKeysEnabled choose the WWW-Authenticate schemes
	// of a 401.
	TokensEnabled, APIKeysEnabled bool
	// PeersVerified says the internal endpoints admit only nodes by their
	// certificate (transport TLS); otherwise those without a client
	// credential need a node's (see nodeOnly).
	PeersVerified bool
	// RequestTimeout is the connection's deadline for one request, which a
	// health long poll stays within; StreamTimeout replaces it for backup
	// and restore.
	RequestTimeout, StreamTimeout time.Duration
	// Metrics serves GET /_prometheus/metrics to callers with monitor;
	// nil serves no such route. Requests hears every answer (the metrics'
	// HTTP counters); nil hears none.
	Metrics  http.Handler
	Requests RequestObserver
	Logger   hclog.Logger
}

// ErrLeaderOnly is what a Cluster operation returns on a node that does not
// lead, before it has read the request's body: the request then goes to the
// leader as it came.
var ErrLeaderOnly = errors.New("only the leader carries this out")

// Server serves the Elasticsearch-compatible API of one node.
type Server struct {
	cfg     Config
	log     hclog.Logger
	authn   *authn.Service
	cluster Cluster
	// authenticate is the WWW-Authenticate set of a 401.
	authenticate []string
	// routes lists the router's routes once Handler built it.
	routes []Route
}

// New builds the API's handler.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	return &Server{cfg: cfg, log: cfg.Logger.Named("http"), authn: cfg.Authn, cluster: cfg.Cluster,
		authenticate: authenticateValues(cfg.TokensEnabled, cfg.APIKeysEnabled)}
}
