package authn_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/metrics"
	"github.com/tokenstore/tokenstore/testcluster"
)

// observedPair is two services over the same node, one with no observer
// and one with the metrics observer, and cached credentials of a Basic
// user and an API key, each authenticated once by both.
func observedPair(tb testing.TB) (bare, observed *authn.Service, creds map[string]string) {
	tb.Helper()
	c := testcluster.New(tb, 1)
	if r := c.Do(0, http.MethodPut, "/_security/user/bench", testcluster.Elastic, map[string]any{"password": "bench-password", "roles": []string{"superuser"}}); r.Status != http.StatusOK {
		tb.Fatalf("put user: %d %s", r.Status, r.Body)
	}
	r := c.Do(0, http.MethodPost, "/_security/api_key", testcluster.Elastic, map[string]any{"name": "bench"})
	if r.Status != http.StatusOK {
		tb.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	creds = map[string]string{"basic": testcluster.Basic("bench", "bench-password"), "apikey": "ApiKey " + r.JSON()["encoded"].(string)}
	build := func(obs ...authn.Observer) *authn.Service {
		cfg := authn.DefaultConfig()
		cfg.Observers = obs
		s, err := authn.New(c.Node(0).Cluster(), cfg)
		if err != nil {
			tb.Fatal(err)
		}
		for _, h := range creds {
			if _, err := s.Authenticate(context.Background(), h, "/", "127.0.0.1:50000"); err != nil {
				tb.Fatal(err)
			}
		}
		return s
	}
	return build(), build(metrics.New().Authn()), creds
}

// TestMetricsObserverAllocatesNothing: a cached authentication allocates
// no more with the metrics observer than without.
func TestMetricsObserverAllocatesNothing(t *testing.T) {
	bare, observed, creds := observedPair(t)
	ctx := context.Background()
	for name, h := range creds {
		allocs := func(s *authn.Service) float64 {
			return testing.AllocsPerRun(1000, func() { s.Authenticate(ctx, h, "/", "127.0.0.1:50000") })
		}
		if a, b := allocs(bare), allocs(observed); a != b {
			t.Errorf("%s: %v allocations without the metrics, %v with", name, a, b)
		}
	}
}

// BenchmarkAuthenticateCachedObserved times cached authentications of a
// Basic user and an API key by the service without and with the metrics
// observer, in alternating blocks within the same run, so a busy machine
// slows both alike: bare-ns/auth, metrics-ns/auth and their ratio.
func BenchmarkAuthenticateCachedObserved(b *testing.B) {
	bare, observed, creds := observedPair(b)
	ctx := context.Background()
	for _, name := range []string{"basic", "apikey"} {
		h := creds[name]
		b.Run(name, func(b *testing.B) {
			const block = 2000
			var took [2]time.Duration
			rounds := 0
			for b.Loop() {
				for i, s := range []*authn.Service{bare, observed} {
					start := time.Now()
					for range block {
						if _, err := s.Authenticate(ctx, h, "/", "127.0.0.1:50000"); err != nil {
							b.Fatal(err)
						}
					}
					took[i] += time.Since(start)
				}
				rounds++
			}
			per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(rounds*block) }
			b.ReportMetric(per(took[0]), "bare-ns/auth")
			b.ReportMetric(per(took[1]), "metrics-ns/auth")
			b.ReportMetric(per(took[1])/per(took[0]), "ratio")
		})
	}
}
