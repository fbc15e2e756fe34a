package cluster

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/tokenstore/tokenstore/fsm"
)

// Config is what a node needs to run.
type Config struct {
	ID        string
	RaftAddr  string // listen address of the Raft transport
	HTTPAddr  string // the node's public HTTP address, for forwarding
	DataDir   string
	Bootstrap bool
	Join      []string // HTTP base URLs of members to ask for membership
	// NonVoter joins as a non-voting member (node.voter: false): it keeps
	// the state and authenticates but never votes or counts to a quorum.
	NonVoter bool
	// BuildVersion is this build's version, shown in the membership.
	BuildVersion string
	// ReadLease is how long a follower keeps judging credentials by its own
	// state after it last heard from the leader (default 3s); it must
	// outlast a leader election, or followers refuse during failovers.
	ReadLease time.Duration
	// JoinTimeout bounds the attempts to join (default 60s).
	JoinTimeout time.Duration
	Logger      hclog.Logger

	HeartbeatTimeout  time.Duration
	ElectionTimeout   time.Duration
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	SnapshotRetain    int
	// TrailingLogs is how many entries stay in the log after a snapshot;
	// a follower further behind receives the snapshot instead.
	TrailingLogs uint64
	// Transport is mutual TLS between nodes; nil is plain text (development).
	Transport *TransportTLS
	// HTTPTLS says the nodes' HTTP ports speak TLS; HTTPCAs gives the pool
	// that verifies their certificates on internal calls, asked at each
	// handshake so reloaded CAs apply (nil, or a nil pool: the system roots).
	HTTPTLS bool
	HTTPCAs func() *x509.CertPool
	// JoinCredential is the Authorization header this node sends with its
	// join requests; the leader checks it with the Authorizer its internal
	// endpoints were built with (Handler).
	JoinCredential string
	// InsecurePeers lets credentials travel in plain text to members beyond
	// loopback (tokenstore.security.allow_insecure_non_loopback); without
	// it and without transport TLS they go to loopback members only.
	InsecurePeers bool
	// RaftHandshakeTimeout bounds the time from accepting a Raft connection
	// to the peer's first bytes (TLS handshake included); default 10s.
	RaftHandshakeTimeout time.Duration
	// RaftMaxConnections caps the Raft port's open inbound connections;
	// default 128.
	RaftMaxConnections int
	// Links connects the node to its peers; nil is the network as it is.
	Links Links
	// Observer hears forwards, catch-ups, confirmations, snapshots and
	// restores (the metrics); nil hears nothing.
	Observer Observer
}

// Node is one Raft member and the state machine it drives.
type Node struct {
	cfg       Config
	log       hclog.Logger
	raft      *raft.Raft
	fsm       *fsm.FSM
	stream    *streamLayer
	transport *raft.NetworkTransport
	store     *raftboltdb.BoltStore
	stable    *stableFile
	disk      *diskHealth
	client    *http.Client
	catchUp   catchUp
	fresh     freshness
	health    *healthProbe
	removed   removedMembers
	batches   batches // forwarded writes waiting for the next batch (batch.go)
	stopOnce  sync.Once
	stopped   chan struct{}
	// leaderChanges counts the leaders this node has seen elected.
	leaderChanges atomic.Uint64
}

// Open starts a node with its data under cfg.DataDir. A data dir with Raft
// state rejoins with it; an empty one bootstraps or joins as cfg says.
func Open(cfg Config) (*Node, error) {
	setDefaults(&cfg)
	raftDir := filepath.Join(cfg.DataDir, "raft")
	if err := os.MkdirAll(raftDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", cfg.DataDir, err)
	}
	n := &Node{cfg: cfg, log: cfg.Logger.Named("cluster"), fsm: fsm.New(), stopped: make(chan struct{})}
	n.fsm.OnHalt = n.onHalt
	n.client = newInternalClient(cfg.Links, n.internalTLS(), n.credentialsMayGoTo)
	n.catchUp.node = n

	logs, snaps, err := n.openStores(raftDir)
	if err != nil {
		return nil, err
	}
	n.stream, err = newStreamLayer(&cfg)
	if err != nil {
		n.closeStores()
		return nil, fmt.Errorf("listen on raft address %s: %w", cfg.RaftAddr, err)
	}
	n.transport = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: n.stream, MaxPool: 3, Timeout: 5 * time.Second, Logger: cfg.Logger.Named("raft-net"),
	})

	hasState, err := raft.HasExistingState(logs, n.stable, snaps)
	if err != nil {
		n.closeStores()
		return nil, fmt.Errorf("read raft state: %w", err)
	}
	n.raft, err = raft.NewRaft(n.raftConfig(), observedFSM{FSM: n.fsm, obs: cfg.Observer}, logs, n.stable, snaps, unpipelined{n.transport})
	if err != nil {
		n.closeStores()
		if herr := n.fsm.Halted(); herr != nil {
			return nil, refusedDowngrade(errors.Unwrap(herr))
		}
		return nil, fmt.Errorf("start raft: %w", err)
	}
	n.countLeaderChanges()
	switch {
	case hasState:
		n.log.Info("restarting with existing state", "data_dir", cfg.DataDir)
	case cfg.Bootstrap && cfg.NonVoter:
		n.Shutdown()
		return nil, fmt.Errorf("a non-voter cannot bootstrap a cluster: bootstrap a voter, then join this node to it")
	case cfg.Bootstrap:
		n.log.Info("bootstrapping a new cluster", "id", cfg.ID)
		f := n.raft.BootstrapCluster(raft.Configuration{Servers: []raft.Server{
			{ID: raft.ServerID(cfg.ID), Address: n.transport.LocalAddr()},
		}})
		if err := f.Error(); err != nil {
			n.Shutdown()
			return nil, fmt.Errorf("bootstrap: %w", err)
		}
	case len(cfg.Join) > 0:
		if err := n.joinAny(cfg.Join); err != nil {
			n.Shutdown()
			return nil, err
		}
	default:
		n.Shutdown()
		return nil, fmt.Errorf("data dir %s holds no cluster state: start with --bootstrap or --join", cfg.DataDir)
	}
	n.health = newHealthProbe(n)
	go n.disk.loop()
	go n.registerLoop()
	return n, nil
}

func setDefaults(cfg *Config) {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	// 500ms each: a leader killed with -9 is replaced within 0.7-1.5 s
	// (measured, make chaos); 1s each took up to 2.9 s.
	if cfg.HeartbeatTimeout == 0 {
		cfg.HeartbeatTimeout = 500 * time.Millisecond
	}
	if cfg.ElectionTimeout == 0 {
		cfg.ElectionTimeout = 500 * time.Millisecond
	}
	if cfg.ReadLease == 0 {
		cfg.ReadLease = 3 * time.Second
	}
	if cfg.JoinTimeout == 0 {
		cfg.JoinTimeout = time.Minute
	}
	if cfg.SnapshotThreshold == 0 {
		cfg.SnapshotThreshold = 8192
	}
	if cfg.SnapshotInterval == 0 {
		cfg.SnapshotInterval = 2 * time.Minute
	}
	if cfg.SnapshotRetain == 0 {
		cfg.SnapshotRetain = 2
	}
	if cfg.RaftHandshakeTimeout == 0 {
		cfg.RaftHandshakeTimeout = 10 * time.Second
	}
	if cfg.RaftMaxConnections == 0 {
		cfg.RaftMaxConnections = 128
	}
	if cfg.Links == nil {
		cfg.Links = &directLinks{}
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
}

func (n *Node) raftConfig() *raft.Config {
	c := raft.DefaultConfig()
	c.LocalID = raft.ServerID(n.cfg.ID)
	c.Logger = n.cfg.Logger.Named("raft")
	c.HeartbeatTimeout = n.cfg.HeartbeatTimeout
	c.ElectionTimeout = n.cfg.ElectionTimeout
	c.LeaderLeaseTimeout = n.cfg.HeartbeatTimeout / 2
	// Followers learn the commit index only with the next append; a short
	// commit timeout makes a write acknowledged on one node visible on the
	// others within milliseconds.
	c.CommitTimeout = 5 * time.Millisecond
	c.SnapshotThreshold = n.cfg.SnapshotThreshold
	c.SnapshotInterval = n.cfg.SnapshotInterval
	if n.cfg.TrailingLogs > 0 {
		c.TrailingLogs = n.cfg.TrailingLogs
	}
	// A leader that demotes (or removes) itself goes on as a follower: a
	// demoted leader is a non-voter from then on, not a stopped node.
	c.ShutdownOnRemove = false
	c.BatchApplyCh = true
	// Raft's metrics name a peer by a label, not also in the metric's name.
	c.NoLegacyTelemetry = true
	// BatchApplyCh off or MaxAppendEntries 64 measured no better (64
	// clients creating keys over three nodes, interleaved: 2,180 and
	// 2,091 creates/s against 2,378 with these).
	c.MaxAppendEntries = 512
	return c
}

// ID is this node's id (its name in _cat/nodes).
func (n *Node) ID() string { return n.cfg.ID }

// State is the credential state this node has applied.
func (n *Node) State() *fsm.State { return n.fsm.State() }

// IsLeader reports whether this node leads the cluster now.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Leader returns the id of the current leader, or "" when none is known.
func (n *Node) Leader() string {
	_, id := n.raft.LeaderWithID()
	return string(id)
}

// RaftAddr is the address the Raft transport listens on.
func (n *Node) RaftAddr() string { return string(n.transport.LocalAddr()) }

// RestoreSnapshot installs a state stream through Raft (the leader takes
// it, followers receive it as a snapshot). Leader only.
func (n *Node) RestoreSnapshot(r io.Reader, size int64) error {
	if !n.IsLeader() {
		return ErrNoLeader
	}
	if err := n.raft.Restore(&raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Size: size}, r, time.Minute); err != nil {
		return err
	}
	return n.confirmRestore()
}

// confirmRestore acknowledges a restore only once every member answers
// from the restored state: a restore may take credentials away, and a
// follower still on the state before must not accept one of them after
// the acknowledgement. A follower's applied index after installing the
// snapshot is the backup's own, so the leader appends an entry after the
// restore (its own registration again) and waits, as for a revocation,
// until every member has applied it or is fenced.
func (n *Node) confirmRestore() error {
	idx, _, err := n.applyLocal(fsm.MustEncode(fsm.NodeRegisteredV2{Node: n.selfRecord()}))
	if err != nil {
		return fmt.Errorf("restored, but the entry that confirms it was not appended: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := n.WaitConfirmed(ctx, idx); err != nil {
		return fmt.Errorf("%w: restored, but not every member has confirmed it yet: %v", ErrUnavailable, err)
	}
	return nil
}

// Snapshot takes a Raft snapshot now.
func (n *Node) Snapshot() error { return n.raft.Snapshot().Error() }

// Stats exposes raft's counters (term, indexes, state) for diagnostics.
func (n *Node) Stats() map[string]string { return n.raft.Stats() }

// WaitApplied blocks until this node's state has applied index.
func (n *Node) WaitApplied(ctx context.Context, index uint64) error {
	st := n.fsm.State()
	for {
		ch := st.AppliedChanged()
		if st.AppliedIndex() >= index {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for index %d (applied %d): %w", index, st.AppliedIndex(), ctx.Err())
		}
	}
}

// Shutdown stops the node cleanly: a leader first hands leadership to
// another voter, so the cluster does not wait out an election timeout.
func (n *Node) Shutdown() error {
	var err error
	n.stopOnce.Do(func() {
		close(n.stopped)
		if n.raft != nil && n.IsLeader() && n.voters() > 1 {
			if terr := n.raft.LeadershipTransfer().Error(); terr != nil {
				n.log.Warn("leadership transfer before shutdown failed", "error", terr)
			}
		}
		err = n.stop()
	})
	return err
}

// Kill stops the node without a goodbye, as a crash would: no leadership
// transfer, connections dropped mid-stream.
func (n *Node) Kill() {
	n.stopOnce.Do(func() {
		close(n.stopped)
		n.stream.closeAll()
		n.stop()
	})
}

func (n *Node) stop() error {
	var err error
	if n.raft != nil {
		err = n.raft.Shutdown().Error()
	}
	n.client.CloseIdleConnections()
	n.closeStores()
	return err
}

func (n *Node) closeStores() {
	if n.transport != nil {
		n.transport.Close()
	}
	if n.stable != nil {
		n.stable.Close()
	}
	if n.store != nil {
		n.store.Close()
	}
}

func (n *Node) voters() int {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return 0
	}
	c := 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			c++
		}
	}
	return c
}

// openStores opens the log store (refusing a log this build cannot apply),
// Raft's stable file and the snapshot store, each reporting write failures
// to the node's disk health.
func (n *Node) openStores(raftDir string) (raft.LogStore, raft.SnapshotStore, error) {
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(raftDir, "raft.db"), BoltOptions: boltOptions()})
	if err != nil {
		return nil, nil, fmt.Errorf("open raft store in %s: %w", raftDir, err)
	}
	n.store = store
	if err := checkLogApplies(store); err != nil {
		store.Close()
		return nil, nil, refusedDowngrade(err)
	}
	n.disk = &diskHealth{node: n, dir: raftDir, wake: make(chan struct{}, 1)}
	if n.stable, err = openStableFile(filepath.Join(raftDir, "stable"), store); err != nil {
		n.closeStores()
		return nil, nil, err
	}
	logs, err := newCachedLogs(guardedLogs{LogStore: store, disk: n.disk})
	if err != nil {
		n.closeStores()
		return nil, nil, err
	}
	files, err := raft.NewFileSnapshotStoreWithLogger(raftDir, n.cfg.SnapshotRetain, n.cfg.Logger.Named("snapshot"))
	if err != nil {
		n.closeStores()
		return nil, nil, fmt.Errorf("open snapshot store: %w", err)
	}
	snaps := guardedSnapshots{SnapshotStore: files, disk: n.disk}
	return logs, snaps, nil
}
