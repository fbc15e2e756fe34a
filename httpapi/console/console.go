package console

import (
	"context"
	"embed"
	"net/http"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// Prefix is where the console is served; everything else is the API's.
const Prefix = "/_console"

//go:embed assets
var assets embed.FS

// Config is what the console is built from.
type Config struct {
	// API is the node's REST API handler; every page is made of its answers.
	API http.Handler
	// TLS says the node serves HTTPS, so cookies are marked Secure.
	TLS bool
	// Status is this node's Raft and state figures for the cluster page.
	Status func() NodeStatus
	// AskPeers sends a GET for path with credential to every other member
	// (the cluster's one path for that) and returns one answer per member.
	AskPeers func(ctx context.Context, path, credential string) []PeerAnswer
	Logger   hclog.Logger
}

// NodeStatus is one node's view of itself: its Raft role and indexes, and
// how many records of each kind its state holds.
type NodeStatus struct {
	ID           string         `json:"id"`
	HTTPAddr     string         `json:"http_address"`
	State        string         `json:"state"`
	Voter        bool           `json:"voter"`
	AppliedIndex uint64         `json:"applied_index"`
	CommitIndex  uint64         `json:"commit_index"`
	LastContact  string         `json:"last_contact"`
	Counts       map[string]int `json:"counts"`
}

// PeerAnswer is a member's answer to AskPeers: Body when it answered 200,
// else Err; Self marks this node, which is not asked.
type PeerAnswer struct {
	Member string
	Self   bool
	Body   []byte
	Err    error
}

// Console serves the pages.
type Console struct {
	cfg   Config
	log   hclog.Logger
	pages *pages
	mux   *http.ServeMux
}

// New builds the console over the API handler it is given.
func New(cfg Config) *Console {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Status == nil {
		cfg.Status = func() NodeStatus { return NodeStatus{} }
	}
	if cfg.AskPeers == nil {
		cfg.AskPeers = func(context.Context, string, string) []PeerAnswer { return []PeerAnswer{{Self: true}} }
	}
	c := &Console{cfg: cfg, log: cfg.Logger.Named("console"), pages: mustParsePages()}
	c.mux = c.routes()
	return c
}

// Mount answers /_console and everything below it with the console, and
// every other request with next (the API).
func (c *Console) Mount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == Prefix || strings.HasPrefix(p, Prefix+"/") {
			c.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP sets the headers every console answer carries, then routes.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// No inline script or style anywhere: every script and sheet is a file
	// of this origin, so an injected tag cannot run.
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	// A page may show a secret once: nothing is kept in the browser's cache.
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}
