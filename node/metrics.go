package node

import (
	"github.com/tokenstore/tokenstore/metrics"
)

// The node's metrics: built before the cluster and the security service,
// which report to them, and watching both once they exist. They are served
// at GET /_prometheus/metrics to callers with the monitor privilege.

func (n *Node) openMetrics() {
	n.metrics = metrics.New()
}

func (n *Node) watchMetrics() {
	n.metrics.Watch(metrics.Node{Raft: n.cluster.RaftStatus, State: n.cluster.State(),
		FileTokens: n.authn.FileTokenCount, Now: n.cfg.Clock})
}
