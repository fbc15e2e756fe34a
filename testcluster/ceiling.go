package testcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/cluster"
	"github.com/tokenstore/tokenstore/fsm"
	"github.com/tokenstore/tokenstore/httpapi"
	"github.com/tokenstore/tokenstore/httpapi/console"
	"github.com/tokenstore/tokenstore/metrics"
)

// NewCeiling starts the no-Raft ceiling the cluster benchmarks measure
// against, and returns its base URL; Cleanup stops it. It is one node's
// HTTP server as node.Open builds it, with New's settings (bcrypt4, plain
// HTTP): the same router, console mount, metrics observers, authn.Service,
// JSON and hashing, and a write is validated and applied to an fsm.FSM as
// the leader does. Only Raft is missing: a proposal is applied in place
// under a mutex at the next index (no log, no disk, no network, no
// forwarding), so a write answers as fast as a node could without
// replication. elastic's password is ElasticPassword.
func NewCeiling(tb testing.TB) string {
	tb.Helper()
	p := &memoryProposer{fsm: fsm.New()}
	m := metrics.New()
	cfg := authn.DefaultConfig()
	cfg.PasswordHashing = "bcrypt4" // New's default
	cfg.Observers = []authn.Observer{m.Authn()}
	svc, err := authn.New(p, cfg)
	if err != nil {
		tb.Fatalf("ceiling: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := svc.BootstrapElastic(ctx, ElasticPassword); err != nil {
		tb.Fatalf("ceiling: bootstrap elastic: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("ceiling: listen: %v", err)
	}
	srv := ceilingServer(svc, p, m, cluster.LimitListener(ln, 4096, hclog.NewNullLogger(), "http"))
	tb.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// ceilingServer serves the API as node.serve does, with node's defaults
// for the connection limits (tokenstore.http.*, http.read_timeout).
func ceilingServer(svc *authn.Service, p *memoryProposer, m *metrics.Metrics, ln net.Listener) *http.Server {
	m.Watch(metrics.Node{Raft: func() cluster.RaftStatus { return cluster.RaftStatus{} }, State: p.State(),
		FileTokens: svc.FileTokenCount})
	api := httpapi.New(httpapi.Config{
		Authn: svc, Cluster: ceilingCluster{p}, ClusterName: "tokenstore", TokensEnabled: true, APIKeysEnabled: true,
		RequestTimeout: time.Minute, StreamTimeout: time.Hour, Logger: hclog.NewNullLogger(),
		Metrics: m.Handler(), Requests: m.Requests(),
	})
	h := api.Handler()
	h = console.New(console.Config{API: h, Logger: hclog.NewNullLogger(),
		Status: func() console.NodeStatus { return console.NodeStatus{ID: ceilingID} },
		AskPeers: func(context.Context, string, string) []console.PeerAnswer {
			return []console.PeerAnswer{{Member: ceilingID, Self: true}}
		}}).Mount(h)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: time.Minute, IdleTimeout: time.Minute}
	go srv.Serve(ln)
	return srv
}

const ceilingID = "ceiling"

// memoryProposer is authn.Proposer without Raft: each event is validated
// (as cluster.Node.Propose does) and applied at once to the state machine,
// one at a time, at the next index. It always leads and is always fresh.
type memoryProposer struct {
	mu    sync.Mutex
	fsm   *fsm.FSM
	index uint64
}

var _ authn.Proposer = (*memoryProposer)(nil)

func (p *memoryProposer) Propose(_ context.Context, event []byte, _, _ string) (uint64, fsm.Result, error) {
	if err := fsm.Validate(event); err != nil {
		return 0, fsm.Result{}, err
	}
	return p.ProposeAsLeader(event)
}

func (p *memoryProposer) ProposeAsLeader(event []byte) (uint64, fsm.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.index++
	out := p.fsm.Apply(&raft.Log{Index: p.index, Term: 1, Type: raft.LogCommand, Data: event})
	if err, ok := out.(error); ok {
		return 0, fsm.Result{}, fmt.Errorf("ceiling: apply at index %d: %w", p.index, err)
	}
	res, _ := out.(fsm.Result)
	return p.index, res, nil
}

func (p *memoryProposer) CatchUp(context.Context) error               { return nil }
func (p *memoryProposer) WaitConfirmed(context.Context, uint64) error { return nil }
func (p *memoryProposer) Fresh() bool                                 { return true }
func (p *memoryProposer) State() *fsm.State                           { return p.fsm.State() }
func (p *memoryProposer) IsLeader() bool                              { return true }

// errNoCluster answers the cluster operations the ceiling has no use for.
var errNoCluster = errors.New("the no-Raft ceiling is not a cluster")

// ceilingCluster is the ceiling's httpapi.Cluster: one member, its own
// leader, no internal endpoints, no backups.
type ceilingCluster struct{ p *memoryProposer }

func (c ceilingCluster) NodeID() string    { return ceilingID }
func (c ceilingCluster) ClusterID() string { return c.p.State().ClusterID() }
func (c ceilingCluster) Leader() string    { return ceilingID }

func (c ceilingCluster) Members() ([]httpapi.Member, error) {
	return []httpapi.Member{{ID: ceilingID, Voter: true, Leader: true, Alive: true, Applied: c.p.State().AppliedIndex()}}, nil
}

func (c ceilingCluster) ForwardToLeader(http.ResponseWriter, *http.Request) error {
	return errNoCluster
}

func (c ceilingCluster) AskMembers(context.Context, string, string) ([]httpapi.MemberAnswer, error) {
	return []httpapi.MemberAnswer{{Member: ceilingID, Self: true}}, nil
}

func (c ceilingCluster) AddVotingExclusions(authn.Caller, []string) error { return errNoCluster }

func (c ceilingCluster) ChangeMember(authn.Caller, string, httpapi.MemberChange) error {
	return errNoCluster
}

func (c ceilingCluster) Backup(context.Context, authn.Caller) (func(io.Writer) error, error) {
	return nil, errNoCluster
}

func (c ceilingCluster) Restore(authn.Caller, io.Reader, int64) (httpapi.RestoreSummary, error) {
	return httpapi.RestoreSummary{}, errNoCluster
}

func (c ceilingCluster) Internal() (string, []string, http.Handler) {
	return cluster.InternalPrefix, nil, http.NotFoundHandler()
}

func (c ceilingCluster) RequirePeer(h http.Handler) http.Handler { return h }
func (c ceilingCluster) Halted() error                           { return c.p.fsm.Halted() }
