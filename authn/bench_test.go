package authn_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/fsm"
	"github.com/tokenstore/tokenstore/testcluster"
)

// BenchmarkAuthenticateBasicCached is the in-process cost of authenticating
// a native user whose password verification is cached: header parsing,
// state lookup, salted digest, constant-time compare.
func BenchmarkAuthenticateBasicCached(b *testing.B) {
	c := testcluster.New(b, 1)
	r := c.Do(0, http.MethodPut, "/_security/user/bench", testcluster.Elastic, map[string]any{"password": "bench-password", "roles": []string{"superuser"}})
	if r.Status != http.StatusOK {
		b.Fatalf("put user: %d %s", r.Status, r.Body)
	}
	svc := c.Node(0).Authn()
	header := testcluster.Basic("bench", "bench-password")
	ctx := context.Background()
	if _, err := svc.Authenticate(ctx, header, "/", "127.0.0.1:50000"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Authenticate(ctx, header, "/", "127.0.0.1:50000"); err != nil {
			b.Fatal(err)
		}
	}
}

func benchKeys(b *testing.B, n int) (*testcluster.Cluster, []string) {
	b.Helper()
	c := testcluster.New(b, 1)
	svc := c.Node(0).Authn()
	caller, err := svc.Authenticate(context.Background(), testcluster.Elastic, "/", "127.0.0.1:50000")
	if err != nil {
		b.Fatal(err)
	}
	headers := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 64 {
				name := "bench"
				k, err := svc.CreateAPIKey(context.Background(), caller, authn.CreateAPIKeyRequest{Name: &name})
				if err != nil {
					errs <- err
					return
				}
				headers[i] = "ApiKey " + k.Encoded
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	return c, headers
}

// BenchmarkAuthenticateAPIKeyCached authenticates one key over and over.
func BenchmarkAuthenticateAPIKeyCached(b *testing.B) {
	c, headers := benchKeys(b, 1)
	svc := c.Node(0).Authn()
	ctx := context.Background()
	if _, err := svc.Authenticate(ctx, headers[0], "/", "127.0.0.1:50000"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Authenticate(ctx, headers[0], "/", "127.0.0.1:50000"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticateAPIKeyFirst authenticates each of 20,000 fresh keys
// once: the first authentication's cost. Run it with -benchtime 20000x so
// no key is seen twice.
func BenchmarkAuthenticateAPIKeyFirst(b *testing.B) {
	c, headers := benchKeys(b, 20_000)
	svc := c.Node(0).Authn()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := svc.Authenticate(ctx, headers[i%len(headers)], "/", "127.0.0.1:50000"); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkLastUsedRound100k: 100,000 keys each authenticate, then the
// leader records their uses. Run with -benchtime 1x: it reports the one
// round's event size and how many Raft entries it took (one).
func BenchmarkLastUsedRound100k(b *testing.B) {
	c, headers := benchKeys(b, 100_000)
	n := c.Node(0)
	svc, st := n.Authn(), n.Cluster().State()
	ctx := context.Background()
	for _, h := range headers {
		if _, err := svc.Authenticate(ctx, h, "/", "127.0.0.1:50000"); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		report := svc.KeyUsageReport()
		before := st.AppliedIndex()
		svc.RecordUsesNow(ctx, n.Cluster())
		b.ReportMetric(float64(st.AppliedIndex()-before), "raft-entries")
		b.ReportMetric(float64(len(report)+3), "event-bytes")
	}
	b.StopTimer()
	recorded := 0
	for _, k := range st.APIKeys(func(*fsm.APIKey) bool { return true }) {
		if st.APIKeyLastUsed(k.ID) > 0 {
			recorded++
		}
	}
	if recorded != len(headers) {
		b.Fatalf("%d of %d keys have a last use", recorded, len(headers))
	}
}
