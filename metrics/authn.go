package metrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/fsm"
)

// schemes are the scheme labels, in the order of schemeIndex.
var schemes = [...]string{"basic", "apikey", "bearer", "service_token", "password_grant", "grant_api_key", "none", "unknown"}

// schemeIndex places an attempt's scheme (authn.AuthOutcome.Scheme) in
// schemes; a switch on constants, so no map and no allocation.
func schemeIndex(s string) int {
	switch s {
	case "basic":
		return 0
	case "api_key":
		return 1
	case "bearer":
		return 2
	case "service_token":
		return 3
	case "password_grant":
		return 4
	case "grant_api_key":
		return 5
	case "none":
		return 6
	}
	return 7
}

const nResults = int(authn.AuthUnavailable) + 1

// authnMetrics is the authn.Observer that counts. Every label combination
// is resolved when it is built: an observation indexes an array and adds
// atomically, without a map, a lock or an allocation.
type authnMetrics struct {
	attempts [len(schemes)][nResults]prometheus.Counter
	latency  [len(schemes)]prometheus.Observer
	internal [nResults]prometheus.Counter
	authz    [2]prometheus.Counter // denied, granted
	// writes is indexed by event type (every payload is of a type this
	// build knows: fsm.EventTypes).
	writes [][len(writeResults)]prometheus.Counter
	ack    prometheus.Observer
}

var _ authn.Observer = (*authnMetrics)(nil)

// latencyBuckets span a cached check (microseconds) to a bcrypt hash
// waiting for the crypto pool (seconds).
var latencyBuckets = []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// writeBuckets span a local commit to a write waiting out a failover.
var writeBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

func newAuthnMetrics(reg prometheus.Registerer) *authnMetrics {
	m := &authnMetrics{writes: make([][len(writeResults)]prometheus.Counter, maxEventType+1)}
	attempts := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "authentications_total",
		Help: "Authentication attempts this node judged for its clients, by scheme and result."}, []string{"scheme", "result"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "authentication_duration_seconds",
		Help: "Time to judge an authentication attempt, by scheme.", Buckets: latencyBuckets}, []string{"scheme"})
	internal := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "internal_authentications_total",
		Help: "Credentials checked for another node (a forwarded write's, a join's), by result; that node counted its client's attempt."}, []string{"result"})
	authz := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "authorizations_total",
		Help: "Cluster actions checked for this node's clients, by result."}, []string{"result"})
	writes := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "writes_total",
		Help: "Writes proposed for clients on this node, by event and result."}, []string{"event", "result"})
	ack := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "write_ack_duration_seconds",
		Help: "Time from proposing a client's write to its acknowledgement (committed, applied here, confirmed where it revokes).", Buckets: writeBuckets})
	reg.MustRegister(attempts, latency, internal, authz, writes, ack)
	for s, scheme := range schemes {
		for r := range nResults {
			m.attempts[s][r] = attempts.WithLabelValues(scheme, authn.AuthResult(r).String())
		}
		m.latency[s] = latency.WithLabelValues(scheme)
	}
	for r := range nResults {
		m.internal[r] = internal.WithLabelValues(authn.AuthResult(r).String())
	}
	m.authz[0], m.authz[1] = authz.WithLabelValues("denied"), authz.WithLabelValues("granted")
	for _, t := range fsm.EventTypes() {
		name := eventName(t)
		for r, result := range writeResults {
			m.writes[t][r] = writes.WithLabelValues(name, result)
		}
	}
	m.ack = ack
	return m
}

func (m *authnMetrics) Authenticated(o authn.AuthOutcome) {
	if int(o.Result) >= nResults {
		return
	}
	if o.Internal {
		m.internal[o.Result].Inc()
		return
	}
	s := schemeIndex(o.Scheme)
	m.attempts[s][o.Result].Inc()
	m.latency[s].Observe(o.Took.Seconds())
}

func (m *authnMetrics) Authorized(c authn.Caller, _ string, granted bool) {
	switch {
	case c.Internal(): // the forwarding node checked it for its client
	case granted:
		m.authz[1].Inc()
	default:
		m.authz[0].Inc()
	}
}

func (m *authnMetrics) Wrote(_ authn.Caller, p fsm.Payload, _ fsm.Result, err error, took time.Duration) {
	t, _ := p.EventType()
	if t > maxEventType || m.writes[t][0] == nil {
		return
	}
	m.writes[t][writeResult(err)].Inc()
	if err == nil {
		m.ack.Observe(took.Seconds())
	}
}

// writeResults label a write's outcome, in writeResult's numbering.
var writeResults = [...]string{"success", "forbidden", "unavailable", "error"}

func writeResult(err error) int {
	var ae *authn.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ae) && ae.Kind == authn.Forbidden, isA[leaderRefusal](err):
		return 1
	case errors.As(err, &ae) && ae.Kind == authn.Unavailable, isA[unavailable](err), isA[noLeader](err):
		return 2
	}
	return 3
}

// The cluster's errors say what they are by a method (see cluster/errors.go).
type (
	leaderRefusal interface {
		error
		LeaderRefusal() string
	}
	unavailable interface {
		error
		Unavailable()
	}
	noLeader interface {
		error
		NoLeader()
	}
)

// isA reports whether err or one it wraps is a T.
func isA[T error](err error) bool {
	_, ok := errors.AsType[T](err)
	return ok
}
