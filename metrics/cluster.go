package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokenstore/tokenstore/cluster"
)

// clusterMetrics is the cluster.Observer that counts forwards, catch-ups,
// confirmations, snapshots and restores.
type clusterMetrics struct {
	forwarded     [2]prometheus.Counter // success, failed
	forwardTime   prometheus.Observer
	catchUps      [len(catchUpOutcomes)]prometheus.Counter
	catchUpTime   prometheus.Observer
	confirmations [2]prometheus.Counter // confirmed, failed
	confirmTime   prometheus.Observer
	snapshots     [2]prometheus.Counter // success, failed
	snapshotTime  prometheus.Observer
	snapshotSize  prometheus.Gauge
	restores      [2]prometheus.Counter // success, failed
}

var _ cluster.Observer = (*clusterMetrics)(nil)

// catchUpOutcomes label catch-ups, in catchUpOutcome's numbering.
var catchUpOutcomes = [...]string{"caught_up", "timeout", "no_leader", "failed"}

func catchUpOutcome(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return 1
	case isA[noLeader](err):
		return 2
	}
	return 3
}

func newClusterMetrics(reg prometheus.Registerer) *clusterMetrics {
	m := &clusterMetrics{}
	twoWay := func(name, help, label, ok, not string) (out [2]prometheus.Counter) {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help}, []string{label})
		reg.MustRegister(v)
		return [2]prometheus.Counter{v.WithLabelValues(ok), v.WithLabelValues(not)}
	}
	hist := func(name, help string, buckets []float64) prometheus.Observer {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: name, Help: help, Buckets: buckets})
		reg.MustRegister(h)
		return h
	}
	m.forwarded = twoWay("forwarded_writes_total", "Writes this node sent to the leader, by result.", "result", "success", "failed")
	m.forwardTime = hist("forwarded_write_duration_seconds", "Time the leader took to answer a forwarded write.", writeBuckets)
	catchUps := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "catch_ups_total",
		Help: "Waits until this node had applied what the leader had (a credential unknown here, a stale node, a fresh read), by outcome."}, []string{"outcome"})
	reg.MustRegister(catchUps)
	for i, o := range catchUpOutcomes {
		m.catchUps[i] = catchUps.WithLabelValues(o)
	}
	m.catchUpTime = hist("catch_up_duration_seconds", "Time a catch-up with the leader took.", writeBuckets)
	m.confirmations = twoWay("revocation_confirmations_total", "Waits until a revoking write was applied on every member that may answer from its own state, by result.", "result", "confirmed", "failed")
	m.confirmTime = hist("revocation_confirmation_wait_seconds", "Time waited for a revoking write to be applied on every member.", writeBuckets)
	m.snapshots = twoWay("snapshots_total", "Raft snapshots this node persisted, by result.", "result", "success", "failed")
	m.snapshotTime = hist("snapshot_duration_seconds", "Time to write a Raft snapshot of the state.", []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120})
	m.snapshotSize = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "snapshot_size_bytes", Help: "Size of the last Raft snapshot this node persisted."})
	reg.MustRegister(m.snapshotSize)
	m.restores = twoWay("restores_total", "Times this node's state was replaced by a snapshot (installed from the leader, or its own at start), by result.", "result", "success", "failed")
	return m
}

func (m *clusterMetrics) Forwarded(took time.Duration, err error) {
	m.forwarded[failed(err)].Inc()
	if err == nil {
		m.forwardTime.Observe(took.Seconds())
	}
}

func (m *clusterMetrics) CaughtUp(took time.Duration, err error) {
	m.catchUps[catchUpOutcome(err)].Inc()
	m.catchUpTime.Observe(took.Seconds())
}

func (m *clusterMetrics) ConfirmWaited(took time.Duration, err error) {
	m.confirmations[failed(err)].Inc()
	m.confirmTime.Observe(took.Seconds())
}

func (m *clusterMetrics) Snapshotted(took time.Duration, size int64, err error) {
	m.snapshots[failed(err)].Inc()
	if err == nil {
		m.snapshotTime.Observe(took.Seconds())
		m.snapshotSize.Set(float64(size))
	}
}

func (m *clusterMetrics) Restored(err error) { m.restores[failed(err)].Inc() }

func failed(err error) int {
	if err != nil {
		return 1
	}
	return 0
}

// raftCollector reads the node's Raft member at scrape time.
type raftCollector struct {
	status                                                  func() cluster.RaftStatus
	isLeader, term, commit, applied, last, contact, changes *prometheus.Desc
}

func newRaftCollector(status func() cluster.RaftStatus) *raftCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "raft", name), help, nil, nil)
	}
	return &raftCollector{status: status,
		isLeader: d("is_leader", "1 while this node leads the cluster."),
		term:     d("term", "This node's current Raft term."),
		commit:   d("commit_index", "The highest log index this node knows committed."),
		applied:  d("applied_index", "The highest log index this node has applied to its state."),
		last:     d("last_index", "The highest index in this node's log."),
		contact:  d("last_contact_seconds", "Time since this follower last heard from the leader; 0 on the leader, -1 when never."),
		changes:  d("leader_changes_total", "Leaders this node has seen elected since it started."),
	}
}

func (c *raftCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.isLeader, c.term, c.commit, c.applied, c.last, c.contact, c.changes} {
		ch <- d
	}
}

func (c *raftCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.status()
	leader := 0.0
	if st.Leader {
		leader = 1
	}
	contact := st.LastContact.Seconds()
	if st.LastContact < 0 {
		contact = -1
	}
	g := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	g(c.isLeader, leader)
	g(c.term, float64(st.Term))
	g(c.commit, float64(st.CommitIndex))
	g(c.applied, float64(st.AppliedIndex))
	g(c.last, float64(st.Last))
	g(c.contact, contact)
	ch <- prometheus.MustNewConstMetric(c.changes, prometheus.CounterValue, float64(st.LeaderChanges))
}
