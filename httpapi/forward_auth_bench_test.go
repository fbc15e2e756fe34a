package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// benchKey is an API key of elastic's on a fresh one-node cluster.
func benchKey(b *testing.B) (*testcluster.Cluster, string) {
	c := testcluster.New(b, 1)
	r := c.Do(0, http.MethodPost, "/_security/api_key", testcluster.Elastic, map[string]any{"name": "bench"})
	if r.Status != http.StatusOK {
		b.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	return c, "ApiKey " + r.JSON()["encoded"].(string)
}

// BenchmarkForwardAuthVsBareHandler: forward-auth decisions on an API key
// next to a bare net/http handler answering the same headers, same load
// generator, same run; the ratio is the figure that matters (goal ≥ 0.9).
func BenchmarkForwardAuthVsBareHandler(b *testing.B) {
	c, auth := benchKey(b)
	r, err := testcluster.Do(c.URL(0), http.MethodGet, "/_tokenstore/forward_auth", auth, nil)
	if err != nil || r.Status != http.StatusOK {
		b.Fatalf("forward auth: %v %d", err, r.Status)
	}
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range r.Header {
			if strings.HasPrefix(k, "X-") || k == "Cache-Control" || k == "Content-Type" {
				w.Header()[k] = v
			}
		}
		w.Write(r.Body)
	}))
	defer bare.Close()
	raceBare(b, bare.URL+"/", c.URL(0)+"/_tokenstore/forward_auth", auth, "forward-auth-req/s")
}

// BenchmarkForwardAuthNginx: requests per second through a real nginx that
// asks the node with auth_request, next to the same nginx proxying to the
// same upstream with no auth, same run.
func BenchmarkForwardAuthNginx(b *testing.B) {
	c, auth := benchKey(b)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) }))
	defer up.Close()
	front := startNginx(b, []string{strings.TrimPrefix(c.URL(0), "http://")}, strings.TrimPrefix(up.URL, "http://"))
	const workers, d = 32, 3 * time.Second
	b.ResetTimer()
	for b.Loop() {
		bareRate := drive(b, front.Bare+"/x", auth, workers, d)
		guardedRate := drive(b, front.Guarded[0]+"/x", auth, workers, d)
		b.ReportMetric(bareRate, "nginx-no-auth-req/s")
		b.ReportMetric(guardedRate, "nginx-forward-auth-req/s")
		b.ReportMetric(guardedRate/bareRate, "ratio")
	}
}
