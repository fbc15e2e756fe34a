package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokenstore/tokenstore/httpapi"
)

// httpMetrics counts the API's answers by route template and status class
// (httpapi.RequestObserver), and its 503s by reason.
type httpMetrics struct {
	requests    *prometheus.CounterVec
	durations   *prometheus.HistogramVec
	unavailable map[string]prometheus.Counter
}

var _ httpapi.RequestObserver = (*httpMetrics)(nil)

// classes are the status class labels, indexed by status/100 - 1.
var classes = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// httpBuckets span a cached authentication to a write waiting out a
// failover, coarser than an authentication's: every route has them.
var httpBuckets = []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5, 30}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "http_requests_total",
			Help: "HTTP requests answered, by route template and status class."}, []string{"route", "code"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "http_request_duration_seconds",
			Help: "Time to answer an HTTP request, by route template.", Buckets: httpBuckets}, []string{"route"}),
		unavailable: map[string]prometheus.Counter{},
	}
	unavailable := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "unavailable_answers_total",
		Help: "503 answers, by reason: no_leader, not_committed (the cluster could not carry a write), cannot_decide (this node's state may be stale and it could not catch up or confirm a revocation), other."}, []string{"reason"})
	reg.MustRegister(m.requests, m.durations, unavailable)
	// Only the fixed reasons exist: the map is complete before any request
	// and only read afterwards.
	for _, r := range httpapi.UnavailableReasons {
		m.unavailable[r] = unavailable.WithLabelValues(r)
	}
	return m
}

// Route resolves a route's counters once; the function it returns indexes
// them by status class.
func (m *httpMetrics) Route(template string) func(int, time.Duration) {
	var byClass [len(classes)]prometheus.Counter
	for i, c := range classes {
		byClass[i] = m.requests.WithLabelValues(template, c)
	}
	took := m.durations.WithLabelValues(template)
	return func(status int, d time.Duration) {
		byClass[min(max(status/100-1, 0), len(classes)-1)].Inc()
		took.Observe(d.Seconds())
	}
}

func (m *httpMetrics) Unavailable(reason string) {
	if c, ok := m.unavailable[reason]; ok {
		c.Inc()
	} else {
		m.unavailable["other"].Inc()
	}
}
