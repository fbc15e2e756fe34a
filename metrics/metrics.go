package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/cluster"
	"github.com/tokenstore/tokenstore/fsm"
	"github.com/tokenstore/tokenstore/httpapi"
)

// ns prefixes every metric name.
const ns = "tokenstore"

// Metrics is one node's metrics: a registry of its own (several nodes can
// share a process), the observers that feed it and the handler that
// serves it.
type Metrics struct {
	reg     *prometheus.Registry
	authn   *authnMetrics
	cluster *clusterMetrics
	http    *httpMetrics
}

// New builds a node's metrics: the Go runtime and process collectors,
// Raft's own metrics (process-wide, see raftMetrics) and tokenstore's.
// The collectors that read the node at scrape time get it with Watch.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), raftMetrics())
	return &Metrics{reg: reg, authn: newAuthnMetrics(reg), cluster: newClusterMetrics(reg), http: newHTTPMetrics(reg)}
}

// Authn is the observer authn reports authentications, authorizations and
// writes to.
func (m *Metrics) Authn() authn.Observer { return m.authn }

// Cluster is the observer the cluster reports forwards, catch-ups,
// confirmations, snapshots and restores to.
func (m *Metrics) Cluster() cluster.Observer { return m.cluster }

// Requests is the observer of the HTTP API's answers.
func (m *Metrics) Requests() httpapi.RequestObserver { return m.http }

// Node is what the scrape-time collectors read: the Raft member, the
// state, this node's service_tokens file and its clock.
type Node struct {
	Raft       func() cluster.RaftStatus
	State      *fsm.State
	FileTokens func() int
	Now        func() time.Time
	// AuditDropped counts audit records dropped because the audit log's
	// queue was full; nil without an audit log.
	AuditDropped func() uint64
	// CertificateExpiries is when each certificate in use ends (http,
	// transport, ca:<name>); nil without TLS.
	CertificateExpiries func() map[string]time.Time
}

// Watch adds the collectors that read the node when scraped; called once,
// when the node's parts exist.
func (m *Metrics) Watch(n Node) {
	if n.Now == nil {
		n.Now = time.Now
	}
	m.reg.MustRegister(newRaftCollector(n.Raft), newCredentialCollector(n.State, n.FileTokens, n.Now))
	if n.CertificateExpiries != nil {
		m.reg.MustRegister(certCollector(n.CertificateExpiries))
	}
	if n.AuditDropped != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Name: "audit_dropped_records_total",
			Help: "Audit records dropped because the audit log's queue was full (the writer could not keep up)."},
			func() float64 { return float64(n.AuditDropped()) }))
	}
}

// Handler serves the registry in Prometheus' text format, or OpenMetrics
// when the scraper asks for it. A collector that fails leaves its metrics
// out and the rest are served. A scrape walks the state once, so at most
// maxScrapes run at once; more are answered 503.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{EnableOpenMetrics: true,
		ErrorHandling: promhttp.ContinueOnError, MaxRequestsInFlight: maxScrapes})
}

const maxScrapes = 4

var certExpiry = prometheus.NewDesc(ns+"_certificate_expiry_timestamp_seconds",
	"When each certificate in use expires (Unix seconds): http, transport, and ca:<name> for the trusted CAs; they are read again when their files change.",
	[]string{"certificate"}, nil)

// certCollector reports the certificates' expiry at scrape time, so a
// rotated certificate shows at once. The label is the configuration's own
// (a few certificates), never a client's input.
type certCollector func() map[string]time.Time

func (c certCollector) Describe(ch chan<- *prometheus.Desc) { ch <- certExpiry }

func (c certCollector) Collect(ch chan<- prometheus.Metric) {
	for name, at := range c() {
		ch <- prometheus.MustNewConstMetric(certExpiry, prometheus.GaugeValue, float64(at.Unix()), name)
	}
}
