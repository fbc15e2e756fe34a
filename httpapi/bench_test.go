package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// drive sends GETs with one Authorization header from `workers` keep-alive
// clients for d and returns requests per second; any non-200 fails.
func drive(b *testing.B, url, auth string, workers int, d time.Duration) float64 {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var n, failed atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Authorization", auth)
			for time.Now().Before(deadline) {
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		b.Fatalf("%d of %d requests failed", failed.Load(), n.Load())
	}
	return float64(n.Load()) / d.Seconds()
}

// BenchmarkHTTPBasicAuthVsBareHandler drives _authenticate with a cached
// Basic user and a bare net/http handler with the same load generator in
// the same run; the ratio is the figure that matters.
func BenchmarkHTTPBasicAuthVsBareHandler(b *testing.B) {
	c := testcluster.New(b, 1)
	r := c.Do(0, http.MethodPut, "/_security/user/bench", testcluster.Elastic, map[string]any{"password": "bench-password", "roles": []string{"superuser"}})
	if r.Status != http.StatusOK {
		b.Fatalf("put user: %d %s", r.Status, r.Body)
	}
	body := c.Do(0, http.MethodGet, "/_security/_authenticate", testcluster.Basic("bench", "bench-password"), nil).Body
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer bare.Close()
	auth := testcluster.Basic("bench", "bench-password")
	const workers, d = 32, 3 * time.Second
	b.ResetTimer()
	for b.Loop() {
		bareRate := drive(b, bare.URL+"/", auth, workers, d)
		authRate := drive(b, c.URL(0)+"/_security/_authenticate", auth, workers, d)
		b.ReportMetric(bareRate, "bare-req/s")
		b.ReportMetric(authRate, "auth-req/s")
		b.ReportMetric(authRate/bareRate, "ratio")
	}
}
