package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// BenchmarkWritesWithNonVoters: 64 clients create API keys through three
// voters of three clusters, 3 voters, 3 voters + 2 non-voters and 5
// voters, in turn for three rounds (all up throughout, so they share the
// machine alike): what replicating to two more members costs the leader,
// with and without waiting for their votes. Writes go to voters in all,
// so no ratio holds an extra forwarding hop.
func BenchmarkWritesWithNonVoters(b *testing.B) {
	plain := testcluster.New(b, 3)
	mixed := testcluster.New(b, 3, testcluster.Options{NonVoters: 2})
	five := testcluster.New(b, 5)
	const workers, d, rounds = 64, 4 * time.Second, 3
	create := func(c *testcluster.Cluster) func(w, n int) bool {
		return func(w, n int) bool {
			r, err := testcluster.Do(c.URL((w+n)%3), http.MethodPost, "/_security/api_key", testcluster.Elastic, `{"name":"load"}`)
			return err == nil && r.Status == http.StatusOK
		}
	}
	b.ResetTimer()
	for b.Loop() {
		var sum3, sumNV, sum5 float64
		for r := 0; r < rounds; r++ {
			rate3, p993 := loadWrites(b, workers, d, create(plain))
			rateNV, p99NV := loadWrites(b, workers, d, create(mixed))
			rate5, p995 := loadWrites(b, workers, d, create(five))
			b.Logf("round %d: 3 voters %.0f creates/s (p99 %.1f ms); 3 voters + 2 non-voters %.0f (p99 %.1f ms, %.2f×); 5 voters %.0f (p99 %.1f ms, %.2f×)",
				r+1, rate3, p993, rateNV, p99NV, rateNV/rate3, rate5, p995, rate5/rate3)
			sum3, sumNV, sum5 = sum3+rate3, sumNV+rateNV, sum5+rate5
		}
		b.ReportMetric(sum3/rounds, "3v-creates/s")
		b.ReportMetric(sumNV/rounds, "3v+2nv-creates/s")
		b.ReportMetric(sum5/rounds, "5v-creates/s")
		b.ReportMetric(sumNV/sum3, "3v+2nv-ratio")
		b.ReportMetric(sum5/sum3, "5v-ratio")
	}
}

// BenchmarkAuthCapacityPerNonVoter: 48 keep-alive clients authenticate one
// API key, spread over the first k members of a 3 voters + 2 non-voters
// cluster (k = 1, 3, 4, 5), so each added non-voter adds a member that
// answers from its own state. Every node and the load generator share
// this machine's cores: the figures show what a member costs, not what a
// member on its own machine adds (see the README's reasoning).
func BenchmarkAuthCapacityPerNonVoter(b *testing.B) {
	c := testcluster.New(b, 3, testcluster.Options{NonVoters: 2})
	r := c.Do(0, http.MethodPost, "/_security/api_key", testcluster.Elastic, `{"name":"capacity"}`)
	encoded, _ := r.JSON()["encoded"].(string)
	if r.Status != http.StatusOK || encoded == "" {
		b.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	auth := "ApiKey " + encoded
	for i := range c.Len() { // every member has the key and is fresh
		c.Eventually(10*time.Second, "key usable", func() bool {
			got, err := testcluster.Do(c.URL(i), http.MethodGet, "/_security/_authenticate", auth, nil)
			return err == nil && got.Status == http.StatusOK
		})
	}
	const workers, d = 48, 3 * time.Second
	b.ResetTimer()
	for b.Loop() {
		var one float64
		for _, k := range []int{1, 3, 4, 5} {
			var urls []string
			for i := range k {
				urls = append(urls, c.URL(i)+"/_security/_authenticate")
			}
			rate := driveSpread(b, urls, auth, workers, d)
			if k == 1 {
				one = rate
			}
			b.ReportMetric(rate, fmt.Sprintf("auth/s-%d-members", k))
			b.Logf("%d members (%d non-voters): %.0f auth/s, %.2f× one member", k, max(k-3, 0), rate, rate/one)
		}
	}
}

// driveSpread is drive over several URLs: worker w uses urls[w%len].
func driveSpread(b *testing.B, urls []string, auth string, workers int, d time.Duration) float64 {
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
			req, _ := http.NewRequest(http.MethodGet, urls[w%len(urls)], nil)
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
