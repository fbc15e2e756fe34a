package testcluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tokenstore/tokenstore/node"
)

// ElasticPassword is the elastic superuser's password in every test cluster.
const ElasticPassword = "test-elastic-pass"

// Options tune a cluster.
type Options struct {
	// Settings are -E settings for every node. Password hashing defaults to
	// bcrypt4 so tests do not spend their time in bcrypt.
	Settings node.Settings
	// HeartbeatTimeout and ElectionTimeout default to 1s here, not the
	// product's 500ms: several test packages share the machine's two cores,
	// and shorter timeouts cause spurious elections then.
	HeartbeatTimeout time.Duration
	ElectionTimeout  time.Duration
	// LogLevel defaults to error; logs go to each node's log file.
	LogLevel string
	// TLS turns on HTTPS and mutual TLS between nodes, with certificates
	// from TestCA.
	TLS bool
	// NonVoters adds that many non-voting members (node.voter: false)
	// after the n voters: nodes n to n+NonVoters-1.
	NonVoters int
	// PrepareDataDir, if set, is called with each data dir of the nodes New
	// starts, before they start (to mount a file system there, say).
	PrepareDataDir func(dir string) error
}

// Cluster is a set of in-process nodes.
type Cluster struct {
	t     testing.TB
	opts  Options
	mu    sync.Mutex
	nodes []*member
}

type member struct {
	id       string
	dir      string
	httpAddr string
	raftAddr string
	node     *node.Node // nil while stopped
	nonVoter bool
	// links partitions the running node; each start gets new ones.
	links *partition
	// isolated starts the node's next run cut off (RestartIsolated).
	isolated bool
	logFile  *os.File
	skew     atomic.Int64 // nanoseconds added to this node's clock
}

// New starts n nodes: node 0 bootstraps, the others join it. It returns
// once all n are voters (and opts.NonVoters more have joined as
// non-voters) and a leader is elected; Cleanup stops them all.
func New(t testing.TB, n int, opts ...Options) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	if len(opts) > 0 {
		c.opts = opts[0]
	}
	if c.opts.Settings == nil {
		c.opts.Settings = node.Settings{}
	}
	if _, ok := c.opts.Settings["xpack.security.authc.password_hashing.algorithm"]; !ok {
		c.opts.Settings["xpack.security.authc.password_hashing.algorithm"] = "bcrypt4"
	}
	if c.opts.HeartbeatTimeout == 0 {
		c.opts.HeartbeatTimeout = time.Second
	}
	if c.opts.ElectionTimeout == 0 {
		c.opts.ElectionTimeout = time.Second
	}
	base := t.TempDir()
	for i := 0; i < n+c.opts.NonVoters; i++ {
		c.nodes = append(c.nodes, &member{
			id: fmt.Sprintf("node-%d", i), dir: filepath.Join(base, fmt.Sprintf("node-%d", i)),
			httpAddr: freeAddr(t), raftAddr: freeAddr(t), nonVoter: i >= n,
		})
	}
	t.Cleanup(c.Close)
	for i := range c.nodes {
		if c.opts.PrepareDataDir != nil {
			if err := c.opts.PrepareDataDir(c.nodes[i].dir); err != nil {
				t.Fatalf("prepare data dir of node %d: %v", i, err)
			}
		}
		if err := c.startFirst(i, i == 0, i > 0); err != nil {
			t.Fatalf("start node %d: %v", i, err)
		}
		if i == 0 {
			c.WaitForLeader(10 * time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := c.nodes[0].node.Authn().BootstrapElastic(ctx, ElasticPassword)
			cancel()
			if err != nil {
				t.Fatalf("bootstrap elastic: %v", err)
			}
		}
	}
	c.WaitForMembers(n, c.opts.NonVoters, 20*time.Second)
	return c
}

// startFirst starts a node for the first time. freeAddr's port may be taken
// by another process between its release and the node's listen (test
// packages run side by side), so a bind that fails gets fresh ports and an
// empty data dir, a few times.
func (c *Cluster) startFirst(i int, bootstrap, join bool) error {
	for attempt := 0; ; attempt++ {
		err := c.start(i, bootstrap, join)
		if err == nil || attempt == 3 || !errors.Is(err, syscall.EADDRINUSE) {
			return err
		}
		m := c.nodes[i]
		m.logFile.Close()
		m.logFile = nil
		os.RemoveAll(m.dir)
		m.httpAddr, m.raftAddr = freeAddr(c.t), freeAddr(c.t)
	}
}

// freeAddr reserves a loopback port by listening on it and closing it, so a
// node restarts on the same address.
func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("reserve port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (c *Cluster) start(i int, bootstrap, join bool) error {
	m := c.nodes[i]
	if m.logFile == nil {
		if err := os.MkdirAll(m.dir, 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(filepath.Join(m.dir, "node.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		m.logFile = f
	}
	level := c.opts.LogLevel
	if level == "" {
		level = "error"
	}
	settings := maps.Clone(c.opts.Settings)
	if c.opts.TLS {
		tlsSettings, err := WriteNodeTLS(testCA, filepath.Join(m.dir, "tls"), m.id)
		if err != nil {
			return err
		}
		maps.Copy(settings, tlsSettings)
	}
	if m.nonVoter {
		settings["node.voter"] = "false"
	}
	links := newPartition()
	links.cut.Store(m.isolated)
	cfg := node.Config{
		NodeID: m.id, HTTPAddr: m.httpAddr, RaftAddr: m.raftAddr, DataDir: m.dir, Bootstrap: bootstrap,
		Settings: settings, HeartbeatTimeout: c.opts.HeartbeatTimeout, ElectionTimeout: c.opts.ElectionTimeout,
		Logger:         hclog.New(&hclog.LoggerOptions{Name: m.id, Level: hclog.LevelFromString(level), Output: m.logFile}),
		Clock:          func() time.Time { return time.Now().Add(time.Duration(m.skew.Load())) },
		JoinCredential: Elastic, Links: links,
	}
	if join {
		for j, o := range c.nodes {
			if j != i && c.Node(j) != nil {
				cfg.Join = append(cfg.Join, o.httpAddr)
			}
		}
		if len(cfg.Join) == 0 {
			cfg.Join = []string{c.nodes[0].httpAddr}
		}
	}
	// A port released by a killed node can take a moment to be reusable.
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		var n *node.Node
		if n, err = node.Open(cfg); err == nil {
			c.mu.Lock()
			m.node, m.links = n, links
			c.mu.Unlock()
			return nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// Len is the number of nodes, running or not.
func (c *Cluster) Len() int { return len(c.nodes) }

// URL is node i's HTTP base URL.
func (c *Cluster) URL(i int) string {
	if c.opts.TLS {
		return "https://" + c.nodes[i].httpAddr
	}
	return "http://" + c.nodes[i].httpAddr
}

// ID is node i's node id.
func (c *Cluster) ID(i int) string { return c.nodes[i].id }

// DataDir is node i's data directory.
func (c *Cluster) DataDir(i int) string { return c.nodes[i].dir }

// Node is node i while it runs, or nil while it is stopped.
func (c *Cluster) Node(i int) *node.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].node
}

// Leader returns the index of the node that is leader now, or -1.
func (c *Cluster) Leader() int {
	for i := range c.nodes {
		if n := c.Node(i); n != nil && n.Cluster().IsLeader() {
			return i
		}
	}
	return -1
}

// Followers returns the indexes of running nodes that are not the leader.
func (c *Cluster) Followers() []int {
	var out []int
	for i := range c.nodes {
		if n := c.Node(i); n != nil && !n.Cluster().IsLeader() {
			out = append(out, i)
		}
	}
	return out
}

// WaitForLeader waits until some running, connected node leads, and
// returns its index.
func (c *Cluster) WaitForLeader(timeout time.Duration) int {
	c.t.Helper()
	var leader int
	c.Eventually(timeout, "a leader is elected", func() bool {
		leader = c.Leader()
		return leader >= 0
	})
	return leader
}

// WaitForNodes waits until the leader has n voters, each with its HTTP
// address registered.
func (c *Cluster) WaitForNodes(n int, timeout time.Duration) {
	c.t.Helper()
	c.WaitForMembers(n, -1, timeout)
}

// WaitForMembers waits until the leader has voters voters and nonVoters
// non-voters (any number when negative), each with its HTTP address
// registered.
func (c *Cluster) WaitForMembers(voters, nonVoters int, timeout time.Duration) {
	c.t.Helper()
	c.Eventually(timeout, fmt.Sprintf("%d registered voters and %d non-voters", voters, nonVoters), func() bool {
		l := c.Leader()
		if l < 0 {
			return false
		}
		ms, err := c.Node(l).Cluster().Members()
		if err != nil {
			return false
		}
		v, nv := 0, 0
		for _, m := range ms {
			switch {
			case m.HTTPAddr == "":
			case m.Voter:
				v++
			default:
				nv++
			}
		}
		return v == voters && (nonVoters < 0 || nv == nonVoters)
	})
}

// Voters is the number of nodes started as voters.
func (c *Cluster) Voters() int { return len(c.nodes) - c.NonVoters() }

// NonVoters is the number of nodes started as non-voters.
func (c *Cluster) NonVoters() int {
	count := 0
	for _, m := range c.nodes {
		if m.nonVoter {
			count++
		}
	}
	return count
}

// NonVoter reports whether node i was started as a non-voter.
func (c *Cluster) NonVoter(i int) bool { return c.nodes[i].nonVoter }

// Eventually polls cond until it holds or the timeout passes, then fails.
func (c *Cluster) Eventually(timeout time.Duration, what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %v waiting for: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill stops node i without a goodbye, as a crash would.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	n := c.nodes[i].node
	c.nodes[i].node = nil
	c.mu.Unlock()
	if n != nil {
		n.Kill()
	}
}

// Stop shuts node i down cleanly (a leader hands over first).
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	n := c.nodes[i].node
	c.nodes[i].node = nil
	c.mu.Unlock()
	if n != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Shutdown(ctx)
	}
}

// Restart starts a stopped node again on its data dir and addresses.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	if c.Node(i) != nil {
		c.Kill(i)
	}
	if err := c.start(i, false, false); err != nil {
		c.t.Fatalf("restart node %d: %v", i, err)
	}
}

// RestartIsolated starts a stopped node again already cut off from the
// others, as Partition would cut it, but before it could hear from any of
// them: a node that restarts while it cannot reach the leader. Heal
// reconnects it.
func (c *Cluster) RestartIsolated(i int) {
	c.t.Helper()
	if c.Node(i) != nil {
		c.Kill(i)
	}
	c.nodes[i].isolated = true
	defer func() { c.nodes[i].isolated = false }()
	if err := c.start(i, false, false); err != nil {
		c.t.Fatalf("restart node %d isolated: %v", i, err)
	}
}

// SkewClock sets how far node i's clock is ahead of the real one.
func (c *Cluster) SkewClock(i int, d time.Duration) { c.nodes[i].skew.Store(int64(d)) }

// RestartJoin starts node i again and has it join the running nodes: for
// a node whose data dir was wiped.
func (c *Cluster) RestartJoin(i int) {
	c.t.Helper()
	if err := c.start(i, false, true); err != nil {
		c.t.Fatalf("restart node %d with join: %v", i, err)
	}
}

// Add starts one more node that joins the cluster, and returns its index.
func (c *Cluster) Add() int {
	c.t.Helper()
	i := len(c.nodes)
	dir := filepath.Join(filepath.Dir(c.nodes[0].dir), fmt.Sprintf("node-%d", i))
	c.nodes = append(c.nodes, &member{id: fmt.Sprintf("node-%d", i), dir: dir, httpAddr: freeAddr(c.t), raftAddr: freeAddr(c.t)})
	if err := c.startFirst(i, false, true); err != nil {
		c.t.Fatalf("add node %d: %v", i, err)
	}
	return i
}

// Partition cuts node i off from the other nodes; clients still reach it.
func (c *Cluster) Partition(i int) { c.links(i).set(true) }

// Heal reconnects a partitioned node.
func (c *Cluster) Heal(i int) { c.links(i).set(false) }

func (c *Cluster) links(i int) *partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].links
}

// Close stops every node.
func (c *Cluster) Close() {
	var wg sync.WaitGroup
	for i := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); c.Kill(i) }()
	}
	wg.Wait()
	for _, m := range c.nodes {
		if m.logFile != nil {
			m.logFile.Close()
			m.logFile = nil
		}
	}
}
