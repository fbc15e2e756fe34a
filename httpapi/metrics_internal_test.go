package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/tokenstore/tokenstore/authn"
)

type testNoLeader struct{}

func (testNoLeader) Error() string { return "no leader" }
func (testNoLeader) NoLeader()     {}

type testUnavailable struct{}

func (testUnavailable) Error() string { return "not committed" }
func (testUnavailable) Unavailable()  {}

// Every 503 is counted under one of the fixed reasons.
func TestUnavailableReason(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("propose: %w", testNoLeader{}), "no_leader"},
		{fmt.Errorf("propose: %w", testUnavailable{}), "not_committed"},
		{&authn.Error{Kind: authn.Unavailable, Type: "master_not_discovered_exception"}, "no_leader"},
		{&authn.Error{Kind: authn.Unavailable, Reason: "stale"}, "cannot_decide"},
		{errors.New("anything else"), "other"},
	} {
		got := unavailableReason(tc.err)
		if got != tc.want || !slices.Contains(UnavailableReasons, got) {
			t.Errorf("%v: %q, want %q", tc.err, got, tc.want)
		}
	}
}

// countingObserver records what the route middleware reports.
type countingObserver struct {
	answers     map[string][]int
	unavailable []string
}

func (o *countingObserver) Route(template string) func(int, time.Duration) {
	return func(status int, _ time.Duration) { o.answers[template] = append(o.answers[template], status) }
}

func (o *countingObserver) Unavailable(reason string) { o.unavailable = append(o.unavailable, reason) }

// The middleware reports a route by its template (never the path that
// matched it), an unmatched path as unmatched, and a 503 by its reason.
func TestRequestsByRouteTemplate(t *testing.T) {
	obs := &countingObserver{answers: map[string][]int{}}
	s := New(Config{Requests: obs})
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(s.noHandler)
	r.MethodNotAllowedHandler = http.HandlerFunc(s.wrongMethod)
	r.HandleFunc("/things/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &authn.Error{Kind: authn.Unavailable, Reason: "stale"})
	})
	s.measure(r)
	for _, path := range []string{"/things/alice", "/things/bob", "/nowhere"} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	if got := obs.answers["/things/{name}"]; !slices.Equal(got, []int{503, 503}) {
		t.Errorf("/things/{name}: %v", got)
	}
	if got := obs.answers["unmatched"]; !slices.Equal(got, []int{400}) {
		t.Errorf("unmatched: %v", got)
	}
	if len(obs.answers) != 2 || !slices.Equal(obs.unavailable, []string{"cannot_decide", "cannot_decide"}) {
		t.Errorf("answers %v, 503s %v", obs.answers, obs.unavailable)
	}
}

// nopObserver counts nothing: the benchmark below measures the middleware.
type nopObserver struct{}

func (nopObserver) Route(string) func(int, time.Duration) { return func(int, time.Duration) {} }
func (nopObserver) Unavailable(string)                    {}

// BenchmarkRouteMiddleware is what the route middleware adds to a request
// in process (the route lookup, the status recorder, two clock reads),
// without and with it in the same run; the counters' own cost is in
// authn's BenchmarkAuthenticateCachedObserved.
func BenchmarkRouteMiddleware(b *testing.B) {
	for _, tc := range []struct {
		name string
		obs  RequestObserver
	}{{"bare", nil}, {"measured", nopObserver{}}} {
		b.Run(tc.name, func(b *testing.B) {
			s := New(Config{Requests: tc.obs})
			r := mux.NewRouter()
			r.HandleFunc("/things/{name}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
			s.measure(r)
			req := httptest.NewRequest(http.MethodGet, "/things/alice", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				r.ServeHTTP(w, req)
			}
		})
	}
}
