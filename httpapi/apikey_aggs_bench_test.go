package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/queryapikeys"

	"github.com/tokenstore/tokenstore/testcluster"
)

// seedAggKeys creates n keys over three nodes for eight users, a third
// without expiration, a third for a day, a third for a month.
func seedAggKeys(b *testing.B, c *testcluster.Cluster, n int) {
	putRole(b, c, "bench_own", map[string]any{"cluster": []string{"manage_own_api_key"}})
	var users []string
	for u := 0; u < 8; u++ {
		users = append(users, putUser(b, c, fmt.Sprintf("bench_user%d", u), "bench-passw0rd-long", "bench_own"))
	}
	const workers = 32
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < n; k += workers {
				exp := []string{"", `,"expiration":"1d"`, `,"expiration":"30d"`}[k%3]
				r, err := testcluster.Do(c.URL(k%3), http.MethodPost, "/_security/api_key", users[k%len(users)], fmt.Sprintf(`{"name":"k%d"%s}`, k, exp))
				if err != nil || r.Status != http.StatusOK {
					errs <- fmt.Errorf("create key %d: %v %d %s", k, err, r.Status, r.Body)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkQueryAPIKeyAggs10k: over 10,000 keys, a terms on username plus
// a date_range on expiration (size 0), asked of each node of three through
// the official client; p50, p90 and worst latency, the ratio to the same query
// without aggregations measured in the same run, and the counts checked
// against a listing of every key.
func BenchmarkQueryAPIKeyAggs10k(b *testing.B) {
	c := testcluster.New(b, 3)
	seedAggKeys(b, c, 10_000)
	var clients []*elasticsearch.TypedClient
	for i := 0; i < c.Len(); i++ {
		es, err := elasticsearch.NewTypedClient(elasticsearch.Config{Addresses: []string{c.URL(i)}, Username: "elastic", Password: testcluster.ElasticPassword})
		if err != nil {
			b.Fatal(err)
		}
		clients = append(clients, es)
	}
	ctx := context.Background()
	zero := 0
	timed := func(es *elasticsearch.TypedClient, req *queryapikeys.Request) (time.Duration, *queryapikeys.Response) {
		start := time.Now()
		res, err := es.Security.QueryApiKeys().Request(req).Do(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return time.Since(start), res
	}
	b.ResetTimer()
	for b.Loop() {
		var withAggs, without []time.Duration
		for round := 0; round < 10; round++ {
			for i, es := range clients {
				d, res := timed(es, aggsRequest())
				withAggs = append(withAggs, d)
				if round == 0 {
					want, n := listedCounts(b, c, (i+1)%3, time.Now().Add(7*24*time.Hour))
					if got := aggCounts(b, res); n != 10_000 || fmt.Sprint(got) != fmt.Sprint(want) {
						b.Fatalf("node %d: aggregations %v, listing %v (%d keys)", i, got, want, n)
					}
				}
				d, _ = timed(es, &queryapikeys.Request{Size: &zero})
				without = append(without, d)
			}
		}
		slices.Sort(withAggs)
		slices.Sort(without)
		p50, p50Plain := withAggs[len(withAggs)/2], without[len(without)/2]
		b.ReportMetric(float64(p50.Microseconds())/1000, "aggs-p50-ms")
		b.ReportMetric(float64(withAggs[len(withAggs)*9/10].Microseconds())/1000, "aggs-p90-ms")
		b.ReportMetric(float64(withAggs[len(withAggs)-1].Microseconds())/1000, "aggs-max-ms")
		b.ReportMetric(float64(p50)/float64(p50Plain), "x-no-aggs")
	}
}
