package authn_test

import (
	"context"
	"net/http"
	"testing"

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
	svc := c.Server(0).Authn()
	header := testcluster.Basic("bench", "bench-password")
	ctx := context.Background()
	if _, err := svc.Authenticate(ctx, header, "/"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Authenticate(ctx, header, "/"); err != nil {
			b.Fatal(err)
		}
	}
}
