package audit

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tokenstore/tokenstore/authn"
)

// BenchmarkAuthenticatedSuccess is the cost on the cached-authentication
// path with the default events (authentication_success not included).
func BenchmarkAuthenticatedSuccess(b *testing.B) {
	l, err := Open(Config{Dir: b.TempDir(), ClusterName: "c", NodeID: "n0"})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	o := authn.AuthOutcome{Scheme: "api_key", Result: authn.AuthSuccess, Principal: "id", Auth: user("bob").Auth}
	b.ReportAllocs()
	for b.Loop() {
		l.Authenticated(o)
	}
}

// BenchmarkAccessGranted is a record built and queued (the writer drains
// it to a file meanwhile).
func BenchmarkAccessGranted(b *testing.B) {
	l, err := Open(Config{Dir: b.TempDir(), ClusterName: "c", NodeID: "n0", QueueSize: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	c := user("bob", "viewer")
	c.Request = httptest.NewRequest("GET", "/_security/user", nil)
	b.ReportAllocs()
	for b.Loop() {
		l.Authorized(c, "cluster:admin/xpack/security/user/get", true)
	}
	b.ReportMetric(float64(l.Dropped()), "dropped")
}

// BenchmarkRequests is the request-id middleware around a handler that
// does nothing, against the bare handler.
func BenchmarkRequests(b *testing.B) {
	l, err := Open(Config{Dir: b.TempDir(), ClusterName: "c", NodeID: "n0"})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	bare := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	req := httptest.NewRequest("GET", "/_security/_authenticate", nil)
	w := httptest.NewRecorder()
	for name, h := range map[string]http.Handler{"bare": bare, "audit": l.Requests(bare)} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}
