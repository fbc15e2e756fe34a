package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/queryapikeys"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"github.com/tokenstore/tokenstore/testcluster"
)

// aggsRequest is a terms on username and a date_range on expiration split
// at now+7d, with no hits.
func aggsRequest() *queryapikeys.Request {
	field, exp, size, zero := "username", "expiration", 50, 0
	return &queryapikeys.Request{Size: &zero, Aggregations: map[string]types.ApiKeyAggregationContainer{
		"by_user": {Terms: &types.TermsAggregation{Field: &field, Size: &size}},
		"exp":     {DateRange: &types.DateRangeAggregation{Field: &exp, Ranges: []types.DateRangeExpression{{To: "now+7d"}, {From: "now+7d"}}}},
	}}
}

// aggCounts reads the typed client's answer into counts by username and
// by range ("before"/"after").
func aggCounts(t testing.TB, res *queryapikeys.Response) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	terms, ok := res.Aggregations["by_user"].(*types.StringTermsAggregate)
	if !ok {
		t.Fatalf("by_user: %T", res.Aggregations["by_user"])
	}
	buckets, _ := terms.Buckets.([]types.StringTermsBucket)
	for _, b := range buckets {
		out["user:"+fmt.Sprint(b.Key)] = b.DocCount
	}
	dr, ok := res.Aggregations["exp"].(*types.DateRangeAggregate)
	if !ok {
		t.Fatalf("exp: %T", res.Aggregations["exp"])
	}
	ranges, _ := dr.Buckets.([]types.RangeBucket)
	if len(ranges) != 2 || ranges[0].To == nil || ranges[1].From == nil || ranges[0].ToAsString == nil {
		t.Fatalf("date_range buckets: %+v", dr.Buckets)
	}
	out["before"], out["after"] = ranges[0].DocCount, ranges[1].DocCount
	return out
}

// listedCounts counts the same by listing every key with get API key.
func listedCounts(t testing.TB, c *testcluster.Cluster, node int, split time.Time) (map[string]int64, int) {
	t.Helper()
	r := c.Do(node, http.MethodGet, "/_security/api_key", testcluster.Elastic, nil)
	var got struct {
		APIKeys []struct {
			Username   string `json:"username"`
			Expiration *int64 `json:"expiration"`
		} `json:"api_keys"`
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &got) != nil {
		t.Fatalf("get api keys: %d %s", r.Status, r.Body)
	}
	out := map[string]int64{}
	for _, k := range got.APIKeys {
		out["user:"+k.Username]++
		switch {
		case k.Expiration == nil:
		case *k.Expiration < split.UnixMilli():
			out["before"]++
		default:
			out["after"]++
		}
	}
	return out, len(got.APIKeys)
}

// Issue 14 item 3: aggregations through the official client on every node
// of three count what listing the keys counts; a manage_own_api_key user
// aggregates only its own keys; a bad aggregation is a 400.
func TestQueryAPIKeyAggregationsCountAsListing(t *testing.T) {
	c := testcluster.New(t, 3)
	putRole(t, c, "agg_own", map[string]any{"cluster": []string{"manage_own_api_key"}})
	users := map[string]string{}
	for u := 0; u < 4; u++ {
		name := fmt.Sprintf("agg_user%d", u)
		users[name] = putUser(t, c, name, "agg-passw0rd-long", "agg_own")
	}
	for n := 0; n < 30; n++ {
		body := map[string]any{"name": fmt.Sprintf("k%d", n)}
		if e := []string{"", "1d", "30d"}[n%3]; e != "" {
			body["expiration"] = e
		}
		createKey(t, c, n%3, users[fmt.Sprintf("agg_user%d", n%4)], body)
	}
	ctx := context.Background()
	for i := 0; i < c.Len(); i++ {
		es, err := elasticsearch.NewTypedClient(elasticsearch.Config{Addresses: []string{c.URL(i)}, Username: "elastic", Password: testcluster.ElasticPassword})
		if err != nil {
			t.Fatal(err)
		}
		res, err := es.Security.QueryApiKeys().Request(aggsRequest()).Do(ctx)
		if err != nil {
			t.Fatalf("node %d: QueryApiKeys: %v", i, err)
		}
		want, n := listedCounts(t, c, (i+1)%3, time.Now().Add(7*24*time.Hour))
		got := aggCounts(t, res)
		if res.Total != n || len(res.ApiKeys) != 0 || fmt.Sprint(got) != fmt.Sprint(want) || want["user:agg_user0"] != 8 || want["after"] != 10 {
			t.Fatalf("node %d: aggregations %v (total %d), listing %v (%d keys)", i, got, res.Total, want, n)
		}
	}
	own := c.Do(1, http.MethodPost, "/_security/_query/api_key?typed_keys=true", users["agg_user1"],
		`{"size":0,"aggs":{"u":{"terms":{"field":"username"}}}}`)
	if own.Status != 200 || !strings.Contains(string(own.Body), `"sterms#u":{"buckets":[{"doc_count":8,"key":"agg_user1"}]`) {
		t.Fatalf("own keys only: %d %s", own.Status, own.Body)
	}
	bad := sweepResp{}
	r := c.Do(2, http.MethodPost, "/_security/_query/api_key", testcluster.Elastic, `{"aggs":{"a":{"avg":{"field":"creation"}}}}`)
	bad.status, bad.header, bad.body = r.Status, r.Header, r.Body
	ccWantReason(t, bad, 400, "Unsupported API Keys agg [a] of type [avg]")
}
