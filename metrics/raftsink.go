package metrics

import (
	"strings"
	"sync"

	gometrics "github.com/hashicorp/go-metrics"
	gmprom "github.com/hashicorp/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
)

// hashicorp/raft reports through go-metrics' global sink, which is one per
// process: the sink is made once, the first time a node starts, and every
// node's registry shows it. With one node per process (every deployment)
// these are that node's; in a test that runs several nodes in one process
// they are the sum of all of them, and the tokenstore_raft_* gauges of the
// raft collector, read from each node's own Raft member, tell them apart.
var (
	raftSinkOnce sync.Once
	raftSink     prometheus.Collector
)

// raftMetrics is the collector of Raft's own metrics, under
// tokenstore_raft_*; timings are summaries in milliseconds, as go-metrics
// measures them.
func raftMetrics() prometheus.Collector {
	raftSinkOnce.Do(func() {
		sink, err := gmprom.NewPrometheusSinkFrom(gmprom.PrometheusOpts{
			Name:               ns + "_raft_sink",
			Registerer:         prometheus.NewRegistry(), // each node's registry adds it itself
			GaugeDefinitions:   raftGauges(),
			SummaryDefinitions: raftSummaries(),
			CounterDefinitions: raftCounters(),
		})
		if err != nil {
			panic("go-metrics prometheus sink: " + err.Error()) // only a duplicate definition can fail
		}
		conf := gometrics.DefaultConfig(ns)
		conf.EnableHostname = false
		conf.EnableHostnameLabel = false
		conf.EnableRuntimeMetrics = false // the Go collector has them
		if _, err := gometrics.NewGlobal(conf, sink); err != nil {
			panic("go-metrics global sink: " + err.Error())
		}
		raftSink = sink
	})
	return raftSink
}

// The metrics Raft emits that exist from the start, zero until it reports
// them (the rest appear once Raft reports them).
var (
	raftSummaryNames = []string{
		"raft.commitTime", "raft.leader.lastContact", "raft.leader.dispatchLog",
		"raft.fsm.apply", "raft.fsm.applyBatch", "raft.fsm.applyBatchNum", "raft.fsm.enqueue",
		"raft.fsm.snapshot", "raft.fsm.restore", "raft.snapshot.create", "raft.snapshot.persist",
		"raft.snapshot.takeSnapshot", "raft.compactLogs", "raft.rpc.appendEntries",
		"raft.rpc.installSnapshot", "raft.rpc.requestVote", "raft.rpc.processHeartbeat",
		"raft.replication.appendEntries.rpc", "raft.replication.heartbeat", "raft.candidate.electSelf",
	}
	raftCounterNames = []string{
		"raft.apply", "raft.barrier", "raft.verify_leader", "raft.restore", "raft.state.leader",
		"raft.state.follower", "raft.state.candidate", "raft.transition.heartbeat_timeout",
		"raft.transition.leader_lease_timeout", "raft.replication.appendEntries.logs",
	}
	raftGaugeNames = []string{
		"raft.peers", "raft.commitNumLogs", "raft.leader.dispatchNumLogs", "raft.fsm.lastRestoreDuration",
		"raft.leader.oldestLogAge",
	}
)

// key is a go-metrics name as the sink sees it: the service name first.
func key(name string) []string { return append([]string{ns}, strings.Split(name, ".")...) }

func raftSummaries() []gmprom.SummaryDefinition {
	var out []gmprom.SummaryDefinition
	for _, n := range raftSummaryNames {
		out = append(out, gmprom.SummaryDefinition{Name: key(n), Help: "hashicorp/raft's " + n + " (ms)"})
	}
	return out
}

func raftCounters() []gmprom.CounterDefinition {
	var out []gmprom.CounterDefinition
	for _, n := range raftCounterNames {
		out = append(out, gmprom.CounterDefinition{Name: key(n), Help: "hashicorp/raft's " + n})
	}
	return out
}

func raftGauges() []gmprom.GaugeDefinition {
	var out []gmprom.GaugeDefinition
	for _, n := range raftGaugeNames {
		out = append(out, gmprom.GaugeDefinition{Name: key(n), Help: "hashicorp/raft's " + n})
	}
	return out
}
