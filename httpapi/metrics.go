package httpapi

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/tokenstore/tokenstore/authn"
)

// RequestObserver hears every answered request and every 503, for the
// metrics; package node supplies it.
type RequestObserver interface {
	// Route is asked once for each route template (or "unmatched") when the
	// handler is built; the function it returns hears each answer of that
	// route: its status and how long it took. It must not block.
	Route(template string) func(status int, took time.Duration)
	// Unavailable is every 503 this API answers, by one of
	// UnavailableReasons.
	Unavailable(reason string)
}

// UnavailableReasons are the reasons a 503 is counted under.
var UnavailableReasons = []string{"no_leader", "not_committed", "storage", "cannot_decide", "other"}

// unavailableReason names a 503's cause from a small fixed set: no leader
// is known; the cluster could not carry a write; this node could not
// decide on a credential (its state may be stale and no catch-up or
// revocation confirmation was possible); a disk that cannot store the
// write; anything else.
func unavailableReason(err error) string {
	var ae *authn.Error
	switch {
	case isA[noLeader](err):
		return "no_leader"
	case isA[unavailableWithReason](err):
		return "storage"
	case isA[unavailable](err):
		return "not_committed"
	case errors.As(err, &ae) && ae.Type == "master_not_discovered_exception":
		return "no_leader"
	case errors.As(err, &ae) && ae.Kind == authn.Unavailable:
		return "cannot_decide"
	}
	return "other"
}

func isA[T error](err error) bool {
	_, ok := errors.AsType[T](err)
	return ok
}

// countUnavailable counts a 503 answer.
func (s *Server) countUnavailable(err error) {
	if s.cfg.Requests != nil {
		s.cfg.Requests.Unavailable(unavailableReason(err))
	}
}

// measure counts every request by its route's template and status class.
// The observers are resolved per route once, here.
func (s *Server) measure(r *mux.Router) {
	obs := s.cfg.Requests
	if obs == nil {
		return
	}
	// Each route's handler is wrapped where it is registered, not with a
	// middleware: mux builds a middleware's chain on every request.
	r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		if next := route.GetHandler(); next != nil {
			observe := obs.Route(routeTemplate(route))
			route.Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { measured(observe, next, w, req) }))
		}
		return nil
	})
	unmatched := obs.Route("unmatched")
	for _, h := range []*http.Handler{&r.NotFoundHandler, &r.MethodNotAllowedHandler} {
		next := *h
		*h = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { measured(unmatched, next, w, req) })
	}
}

// routeTemplate is a route's path template, or its name for a route
// matched otherwise (forward auth).
func routeTemplate(route *mux.Route) string {
	if t, err := route.GetPathTemplate(); err == nil {
		return t
	}
	if n := route.GetName(); n != "" {
		return n
	}
	return "other"
}

func measured(observe func(int, time.Duration), next http.Handler, w http.ResponseWriter, req *http.Request) {
	rec := recorders.Get().(*statusRecorder)
	rec.ResponseWriter, rec.status = w, 0
	start := time.Now()
	defer func() {
		observe(rec.statusOr200(), time.Since(start))
		rec.ResponseWriter = nil
		recorders.Put(rec)
	}()
	next.ServeHTTP(rec, req)
}

// recorders are reused: a request costs the metrics no allocation of its own.
var recorders = sync.Pool{New: func() any { return new(statusRecorder) }}

// statusRecorder remembers the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) statusOr200() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// Unwrap lets http.ResponseController reach the connection (deadlines of
// streamed backups, flushing).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// actionMetrics is under cluster:monitor/*, so the monitor privilege
// grants it: metrics name no credential.
const actionMetrics = "cluster:monitor/prometheus/metrics"

// handleMetrics serves this node's metrics to a caller with monitor.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	if err := s.authn.Authorize(c, actionMetrics); err != nil {
		return err
	}
	s.cfg.Metrics.ServeHTTP(w, r)
	return nil
}
