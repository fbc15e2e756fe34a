package node

import (
	"github.com/tokenstore/tokenstore/metrics"
)

// watchMetrics lets the node's metrics (built before the cluster and the
// security service, which report to them) read both at scrape time. They
// are served at GET /_prometheus/metrics to callers with monitor.
func (n *Node) watchMetrics() {
	w := metrics.Node{Raft: n.cluster.RaftStatus, State: n.cluster.State(),
		FileTokens: n.authn.FileTokenCount, Now: n.cfg.Clock}
	if n.audit != nil {
		w.AuditDropped = n.audit.Dropped
	}
	if n.tls.server != nil || n.tls.transport != nil {
		w.CertificateExpiries = n.CertificateExpiries
	}
	n.metrics.Watch(w)
}
