package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// BenchmarkHTTPCachedAuthInterleaved drives _authenticate with a cached API
// key and with a cached Basic user (the metrics observer and the route
// counters on, as every node has them) and a bare net/http handler serving
// the same body, in alternating half-second slices: a shared machine's
// load drifts less within a pair of slices than over raceBare's two 3 s
// runs. It reports the median of the pairs' ratios.
func BenchmarkHTTPCachedAuthInterleaved(b *testing.B) {
	c := testcluster.New(b, 1)
	if r := c.Do(0, http.MethodPut, "/_security/user/bench", testcluster.Elastic, map[string]any{"password": "bench-password", "roles": []string{"superuser"}}); r.Status != http.StatusOK {
		b.Fatalf("put user: %d %s", r.Status, r.Body)
	}
	r := c.Do(0, http.MethodPost, "/_security/api_key", testcluster.Elastic, map[string]any{"name": "bench"})
	if r.Status != http.StatusOK {
		b.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	for _, cred := range []struct{ name, auth string }{
		{"apikey", "ApiKey " + r.JSON()["encoded"].(string)},
		{"basic", testcluster.Basic("bench", "bench-password")},
	} {
		b.Run(cred.name, func(b *testing.B) {
			url := c.URL(0) + "/_security/_authenticate"
			body := c.Do(0, http.MethodGet, "/_security/_authenticate", cred.auth, nil).Body
			bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write(body)
			}))
			defer bare.Close()
			const workers, slice, pairs = 32, 500 * time.Millisecond, 10
			for b.Loop() {
				var ratios []float64
				for range pairs {
					bareRate := drive(b, bare.URL+"/", cred.auth, workers, slice)
					ratios = append(ratios, drive(b, url, cred.auth, workers, slice)/bareRate)
				}
				slices.Sort(ratios)
				b.ReportMetric(ratios[len(ratios)/2], "median-ratio")
				b.ReportMetric(ratios[0], "min-ratio")
				b.ReportMetric(ratios[len(ratios)-1], "max-ratio")
			}
		})
	}
}
