package httpapi_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// drive sends GETs with one Authorization header from `workers` keep-alive
// clients for d and returns requests per second; any non-200 fails.
func drive(b *testing.B, url, auth string, workers int, d time.Duration) float64 {
	return driveSpread(b, []string{url}, auth, workers, d)
}

// compareWithBare drives _authenticate on node 0 with one credential and a
// bare net/http handler serving the same body, with the same load
// generator in the same run, and reports both rates and their ratio.
func compareWithBare(b *testing.B, c *testcluster.Cluster, auth string) {
	b.Helper()
	body := c.Do(0, http.MethodGet, "/_security/_authenticate", auth, nil).Body
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer bare.Close()
	raceBare(b, bare.URL+"/", c.URL(0)+"/_security/_authenticate", auth, "auth-req/s")
}

// raceBare drives the bare handler and the node's url with the same load
// generator in turn, and reports both rates and their ratio.
func raceBare(b *testing.B, bareURL, url, auth, metric string) {
	b.Helper()
	const workers, d = 32, 3 * time.Second
	b.ResetTimer()
	for b.Loop() {
		bareRate := drive(b, bareURL, auth, workers, d)
		rate := drive(b, url, auth, workers, d)
		b.ReportMetric(bareRate, "bare-req/s")
		b.ReportMetric(rate, metric)
		b.ReportMetric(rate/bareRate, "ratio")
	}
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
	compareWithBare(b, c, testcluster.Basic("bench", "bench-password"))
}

// BenchmarkHTTPAPIKeyAuthVsBareHandler is the API key counterpart of the
// Basic benchmark above.
func BenchmarkHTTPAPIKeyAuthVsBareHandler(b *testing.B) {
	c := testcluster.New(b, 1)
	r := c.Do(0, http.MethodPost, "/_security/api_key", testcluster.Elastic, map[string]any{"name": "bench"})
	if r.Status != http.StatusOK {
		b.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	auth := "ApiKey " + r.JSON()["encoded"].(string)
	compareWithBare(b, c, auth)
}

// BenchmarkAPIKeyRevocation3Nodes: the time from an acknowledged
// invalidation until every node rejects the key (p99 over 100 keys).
func BenchmarkAPIKeyRevocation3Nodes(b *testing.B) {
	c := testcluster.New(b, 3)
	b.ResetTimer()
	for b.Loop() {
		var lags []time.Duration
		for n := 0; n < 100; n++ {
			r := c.Do(n%3, http.MethodPost, "/_security/api_key", testcluster.Elastic, map[string]any{"name": "revoke"})
			m := r.JSON()
			auth := "ApiKey " + m["encoded"].(string)
			for i := 0; i < 3; i++ {
				c.Do(i, http.MethodGet, "/_security/_authenticate", auth, nil)
			}
			if r := c.Do((n+1)%3, http.MethodDelete, "/_security/api_key", testcluster.Elastic, map[string]any{"ids": []string{m["id"].(string)}}); r.Status != 200 {
				b.Fatal(string(r.Body))
			}
			acked := time.Now()
			var worst time.Duration
			for i := 0; i < 3; i++ {
				for {
					if r := c.Do(i, http.MethodGet, "/_security/_authenticate", auth, nil); r.Status == http.StatusUnauthorized {
						break
					}
				}
				worst = max(worst, time.Since(acked))
			}
			lags = append(lags, worst)
		}
		slices.Sort(lags)
		b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds())/1000, "revocation-p99-ms")
		b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1000, "revocation-p50-ms")
	}
}

// BenchmarkHTTPServiceTokenAuthVsBareHandler: service token bearer
// authentications next to the bare handler.
func BenchmarkHTTPServiceTokenAuthVsBareHandler(b *testing.B) {
	c := testcluster.New(b, 1)
	r := c.Do(0, http.MethodPost, "/_security/service/elastic/fleet-server/credential/token/bench", testcluster.Elastic, nil)
	if r.Status != http.StatusOK {
		b.Fatalf("create token: %d %s", r.Status, r.Body)
	}
	auth := "Bearer " + r.JSON()["token"].(map[string]any)["value"].(string)
	compareWithBare(b, c, auth)
}

// BenchmarkHTTPAccessTokenAuthVsBareHandler: bearer access token
// authentications next to the bare handler.
func BenchmarkHTTPAccessTokenAuthVsBareHandler(b *testing.B) {
	c := testcluster.New(b, 1)
	r := c.Do(0, http.MethodPost, "/_security/oauth2/token", testcluster.Elastic, `{"grant_type":"client_credentials"}`)
	if r.Status != http.StatusOK {
		b.Fatalf("get token: %d %s", r.Status, r.Body)
	}
	auth := "Bearer " + r.JSON()["access_token"].(string)
	compareWithBare(b, c, auth)
}

// loadWrites runs workers clients that each call next(worker, n) until d
// passes (testcluster.Load), and reports operations/s and the latency p99
// in ms; any failure fails the benchmark.
func loadWrites(b *testing.B, workers int, d time.Duration, next func(w, n int) bool) (float64, float64) {
	b.Helper()
	rate, p99, err := testcluster.Load(workers, d, func(w, n int) error {
		if !next(w, n) {
			return errors.New("the operation failed")
		}
		return nil
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return rate, p99
}
