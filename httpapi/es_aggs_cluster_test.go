package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/queryapikeys"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"github.com/tokenstore/tokenstore/testcluster"
)

// Issue 14 item 3, the aggregations TestQueryAPIKeyAggregationsCountAsListing
// leaves out: range, missing, cardinality, value_count, composite (paged
// by after_key), filter and filters (with other buckets, keyed and
// listed), each with size 0 and typed_keys,
// through the official client on every node of three, counted against a
// listing of the keys from another node. The keyed range bucket's shape
// (its "key", from/to as doubles) is not asserted here.

// listedKey is what the counts are made from: get API key's listing.
type listedKey struct {
	Name        string         `json:"name"`
	Username    string         `json:"username"`
	Expiration  *int64         `json:"expiration"`
	Invalidated bool           `json:"invalidated"`
	Metadata    map[string]any `json:"metadata"`
}

func listKeys(t *testing.T, c *testcluster.Cluster, node int) []listedKey {
	t.Helper()
	r := c.Do(node, http.MethodGet, "/_security/api_key", testcluster.Elastic, nil)
	var got struct {
		APIKeys []listedKey `json:"api_keys"`
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &got) != nil {
		t.Fatalf("get api keys on node %d: %d %s", node, r.Status, r.Body)
	}
	return got.APIKeys
}

func (k listedKey) env() (string, bool) {
	e, ok := k.Metadata["env"].(string)
	return e, ok
}

// aggBody asks for every aggregation this file checks; split is the
// expiration the range is cut at, user the owner the filters pick.
func aggBody(split int64, user string) string {
	return fmt.Sprintf(`{"size":0,"aggs":{
		"exp_ranges":{"range":{"field":"expiration","ranges":[{"to":%d},{"from":%d},{}]}},
		"no_exp":{"missing":{"field":"expiration"}},
		"no_env":{"missing":{"field":"metadata.env"}},
		"owners":{"cardinality":{"field":"username"}},
		"envs":{"value_count":{"field":"metadata.env"}},
		"expiring":{"value_count":{"field":"expiration"}},
		"invalidated":{"filter":{"term":{"invalidated":true}}},
		"by_env":{"filters":{"filters":{"prod":{"term":{"metadata.env":"prod"}},"dev":{"term":{"metadata.env":"dev"}}}}},
		"picked":{"filters":{"filters":[{"term":{"username":%q}},{"prefix":{"name":"k1"}}]}},
		"env_rest":{"filters":{"other_bucket_key":"none","filters":{"prod":{"term":{"metadata.env":"prod"}},"dev":{"term":{"metadata.env":"dev"}}}}},
		"env_list":{"filters":{"keyed":false,"other_bucket":true,"filters":{"prod":{"term":{"metadata.env":"prod"}},"dev":{"term":{"metadata.env":"dev"}}}}},
		"picked_rest":{"filters":{"other_bucket":true,"filters":[{"term":{"username":%q}},{"prefix":{"name":"k1"}}]}}}}`, split, split, user, user)
}

// aggNames are aggBody's aggregations with the type typed_keys prefixes.
var aggNames = map[string]string{"exp_ranges": "range", "no_exp": "missing", "no_env": "missing", "owners": "cardinality",
	"envs": "value_count", "expiring": "value_count", "invalidated": "filter", "by_env": "filters", "picked": "filters",
	"env_rest": "filters", "env_list": "filters", "picked_rest": "filters"}

// wantCounts counts by listing what aggBody's aggregations count.
func wantCounts(keys []listedKey, split int64, user string) map[string]int64 {
	w := map[string]int64{}
	owners := map[string]bool{}
	for _, k := range keys {
		owners[k.Username] = true
		if k.Expiration == nil {
			w["no_exp"]++
		} else {
			w["expiring"]++
			w["exp_ranges:*"]++
			if *k.Expiration < split {
				w["exp_ranges:before"]++
			} else {
				w["exp_ranges:after"]++
			}
		}
		if e, ok := k.env(); ok {
			w["envs"]++
			w["by_env:"+e]++
		} else {
			w["no_env"]++
		}
		if k.Invalidated {
			w["invalidated"]++
		}
		if k.Username == user {
			w["picked:0"]++
		}
		if strings.HasPrefix(k.Name, "k1") {
			w["picked:1"]++
		}
		if k.Username != user && !strings.HasPrefix(k.Name, "k1") {
			w["picked_rest:_other_"]++
		}
	}
	w["owners"] = int64(len(owners))
	// The other buckets: every key minus the ones a filter picks (the
	// env filters are disjoint; picked's overlap, so its other bucket is
	// counted above, key by key).
	for _, name := range []string{"env_rest", "env_list"} {
		w[name+":prod"], w[name+":dev"] = w["by_env:prod"], w["by_env:dev"]
	}
	w["env_rest:none"] = int64(len(keys)) - w["by_env:prod"] - w["by_env:dev"]
	w["env_list:_other_"] = w["env_rest:none"]
	w["picked_rest:0"], w["picked_rest:1"] = w["picked:0"], w["picked:1"]
	return w
}

// gotCounts reads the typed client's answer: each aggregation must have
// come back with typed_keys as the client's own type.
func gotCounts(t *testing.T, aggs map[string]types.ApiKeyAggregate) map[string]int64 {
	t.Helper()
	g := map[string]int64{}
	if len(aggs) != len(aggNames) {
		t.Fatalf("%d aggregations in the answer, want %d: %v", len(aggs), len(aggNames), slices.Sorted(maps.Keys(aggs)))
	}
	ranges := typedAgg[*types.RangeAggregate](t, aggs, "exp_ranges").Buckets.([]types.RangeBucket)
	if len(ranges) != 3 {
		t.Fatalf("range buckets: %+v", ranges)
	}
	g["exp_ranges:before"], g["exp_ranges:after"], g["exp_ranges:*"] = ranges[0].DocCount, ranges[1].DocCount, ranges[2].DocCount
	g["no_exp"] = typedAgg[*types.MissingAggregate](t, aggs, "no_exp").DocCount
	g["no_env"] = typedAgg[*types.MissingAggregate](t, aggs, "no_env").DocCount
	g["owners"] = typedAgg[*types.CardinalityAggregate](t, aggs, "owners").Value
	for _, name := range []string{"envs", "expiring"} {
		if v := typedAgg[*types.ValueCountAggregate](t, aggs, name).Value; v != nil {
			g[name] = int64(*v)
		}
	}
	g["invalidated"] = typedAgg[*types.FilterAggregate](t, aggs, "invalidated").DocCount
	for key, b := range typedAgg[*types.FiltersAggregate](t, aggs, "by_env").Buckets.(map[string]types.FiltersBucket) {
		g["by_env:"+key] = b.DocCount
	}
	for i, b := range typedAgg[*types.FiltersAggregate](t, aggs, "picked").Buckets.([]types.FiltersBucket) {
		g[fmt.Sprintf("picked:%d", i)] = b.DocCount
	}
	otherBucketCounts(t, aggs, g)
	return g
}

// otherBucketCounts reads the filters aggregations with an other bucket:
// named filters keyed (an object) and listed (keyed false: each bucket
// has its key, in the filters' name order, the other bucket last), and
// anonymous ones (a list without keys, the other bucket last).
func otherBucketCounts(t *testing.T, aggs map[string]types.ApiKeyAggregate, g map[string]int64) {
	t.Helper()
	for key, b := range typedAgg[*types.FiltersAggregate](t, aggs, "env_rest").Buckets.(map[string]types.FiltersBucket) {
		g["env_rest:"+key] = b.DocCount
	}
	var keys []string
	for _, b := range typedAgg[*types.FiltersAggregate](t, aggs, "env_list").Buckets.([]types.FiltersBucket) {
		if b.Key == nil {
			t.Fatalf("env_list: a listed bucket of named filters without its key")
		}
		g["env_list:"+*b.Key], keys = b.DocCount, append(keys, *b.Key)
	}
	if !slices.Equal(keys, []string{"dev", "prod", "_other_"}) {
		t.Fatalf("env_list's buckets are %v", keys)
	}
	picked := typedAgg[*types.FiltersAggregate](t, aggs, "picked_rest").Buckets.([]types.FiltersBucket)
	if len(picked) != 3 || picked[0].Key != nil || picked[2].Key != nil {
		t.Fatalf("picked_rest's buckets: %+v", picked)
	}
	g["picked_rest:0"], g["picked_rest:1"], g["picked_rest:_other_"] = picked[0].DocCount, picked[1].DocCount, picked[2].DocCount
}

func typedAgg[T any](t *testing.T, aggs map[string]types.ApiKeyAggregate, name string) T {
	t.Helper()
	a, ok := aggs[name].(T)
	if !ok {
		t.Fatalf("aggregation %s decoded as %T: was it sent without its type prefix?", name, aggs[name])
	}
	return a
}

// aggKeys creates 18 keys of three owners on rotating nodes, with and
// without expiration and metadata.env, and invalidates some.
func aggKeys(t *testing.T, c *testcluster.Cluster) map[string]string {
	putRole(t, c, "agg2_own", map[string]any{"cluster": []string{"manage_own_api_key"}})
	users := map[string]string{}
	for u := range 3 {
		name := fmt.Sprintf("agg2_u%d", u)
		users[name] = putUser(t, c, name, "agg2-passw0rd-long", "agg2_own")
	}
	var invalid []string
	for n := range 18 {
		body := map[string]any{"name": fmt.Sprintf("k%d", n)}
		if e := []string{"", "1d", "30d"}[(n/3)%3]; e != "" {
			body["expiration"] = e
		}
		if env := []string{"prod", "dev", "prod", ""}[n%4]; env != "" {
			body["metadata"] = map[string]any{"env": env}
		}
		k := createKey(t, c, n%3, users[fmt.Sprintf("agg2_u%d", n%3)], body)
		if n%5 == 0 {
			invalid = append(invalid, k.ID)
		}
	}
	if r := c.Do(1, http.MethodDelete, "/_security/api_key", testcluster.Elastic, map[string]any{"ids": invalid}); r.Status != 200 {
		t.Fatalf("invalidate: %d %s", r.Status, r.Body)
	}
	return users
}

func TestQueryAPIKeyEveryAggregationCountsAsListing(t *testing.T) {
	c := testcluster.New(t, 3)
	users := aggKeys(t, c)
	ctx := context.Background()
	split := time.Now().Add(7 * 24 * time.Hour).UnixMilli()
	for i := range c.Len() {
		es, err := elasticsearch.NewTypedClient(elasticsearch.Config{Addresses: []string{c.URL(i)}, Username: "elastic", Password: testcluster.ElasticPassword})
		if err != nil {
			t.Fatal(err)
		}
		res, err := es.Security.QueryApiKeys().Raw(strings.NewReader(aggBody(split, "agg2_u1"))).Do(ctx)
		if err != nil {
			t.Fatalf("node %d: QueryApiKeys: %v", i, err)
		}
		keys := listKeys(t, c, (i+1)%c.Len())
		want, got := wantCounts(keys, split, "agg2_u1"), gotCounts(t, res.Aggregations)
		if res.Total != len(keys) || res.Count != 0 || len(res.ApiKeys) != 0 || !maps.Equal(got, want) {
			t.Fatalf("node %d: total %d count %d (%d keys listed)\naggregations %v\nlisting      %v", i, res.Total, res.Count, len(keys), got, want)
		}
		if want["invalidated"] == 0 || want["no_exp"] == 0 || want["no_env"] == 0 || want["exp_ranges:after"] == 0 ||
			want["env_rest:none"] == 0 || want["picked_rest:_other_"] == 0 {
			t.Fatalf("the keys do not exercise every bucket: %v", want)
		}
		checkCompositePaging(t, es, keys)
	}
	checkTypedKeysOnTheWire(t, c, split)
	// An owner with manage_own_api_key aggregates its own keys only.
	own := c.Do(2, http.MethodPost, "/_security/_query/api_key", users["agg2_u2"],
		`{"size":0,"aggs":{"owners":{"cardinality":{"field":"username"}},"n":{"value_count":{"field":"name"}}}}`)
	if own.Status != 200 || !strings.Contains(string(own.Body), `"owners":{"value":1}`) || !strings.Contains(string(own.Body), `"n":{"value":6}`) {
		t.Fatalf("own keys only: %d %s", own.Status, own.Body)
	}
}

// checkCompositePaging pages a composite on (username, metadata.env) two
// buckets at a time through after_key until an empty page, and compares
// the buckets with the listing's groups (keys without env in none).
func checkCompositePaging(t *testing.T, es *elasticsearch.TypedClient, keys []listedKey) {
	t.Helper()
	want := map[string]int64{}
	for _, k := range keys {
		if e, ok := k.env(); ok {
			want[k.Username+"/"+e]++
		}
	}
	got := map[string]int64{}
	var order []string
	var after types.CompositeAggregateKey
	user, env, size, zero := "username", "metadata.env", 2, 0
	for page := 0; ; page++ {
		if page > len(want) {
			t.Fatalf("composite paging does not end: %v", order)
		}
		res, err := es.Security.QueryApiKeys().Request(&queryapikeys.Request{Size: &zero, Aggregations: map[string]types.ApiKeyAggregationContainer{
			"groups": {Composite: &types.CompositeAggregation{Size: &size, After: after, Sources: []map[string]types.CompositeAggregationSource{
				{"user": {Terms: &types.CompositeTermsAggregation{Field: &user}}}, {"env": {Terms: &types.CompositeTermsAggregation{Field: &env}}}}}},
		}}).Do(context.Background())
		if err != nil {
			t.Fatalf("composite page %d: %v", page, err)
		}
		comp := typedAgg[*types.CompositeAggregate](t, res.Aggregations, "groups")
		buckets, _ := comp.Buckets.([]types.CompositeBucket)
		if len(buckets) == 0 {
			break
		}
		if len(buckets) > size {
			t.Fatalf("composite page %d has %d buckets, size %d", page, len(buckets), size)
		}
		for _, b := range buckets {
			k := fmt.Sprintf("%v/%v", b.Key["user"], b.Key["env"])
			if _, dup := got[k]; dup {
				t.Fatalf("composite bucket %s on two pages", k)
			}
			got[k] = b.DocCount
			order = append(order, k)
		}
		last := buckets[len(buckets)-1].Key
		if fmt.Sprint(comp.AfterKey) != fmt.Sprint(last) {
			t.Fatalf("after_key %v is not the last bucket's key %v", comp.AfterKey, last)
		}
		after = comp.AfterKey
	}
	if !maps.Equal(got, want) || !slices.IsSorted(order) {
		t.Fatalf("composite paged %v (in order %v), listing %v", got, order, want)
	}
}

// checkTypedKeysOnTheWire: the same aggregations sent as raw HTTP are
// named type#name with typed_keys, and plainly without it.
func checkTypedKeysOnTheWire(t *testing.T, c *testcluster.Cluster, split int64) {
	t.Helper()
	for i, typed := range []bool{true, false} {
		path := "/_security/_query/api_key"
		if typed {
			path += "?typed_keys=true"
		}
		r := c.Do(i, http.MethodPost, path, testcluster.Elastic, aggBody(split, "agg2_u1"))
		var got struct {
			APIKeys      []any                      `json:"api_keys"`
			Aggregations map[string]json.RawMessage `json:"aggregations"`
		}
		if r.Status != 200 || json.Unmarshal(r.Body, &got) != nil || len(got.APIKeys) != 0 {
			t.Fatalf("typed_keys=%v: %d %s", typed, r.Status, r.Body)
		}
		var want []string
		for name, typ := range aggNames {
			if typed {
				name = typ + "#" + name
			}
			want = append(want, name)
		}
		if names := slices.Sorted(maps.Keys(got.Aggregations)); !slices.Equal(names, slices.Sorted(slices.Values(want))) {
			t.Fatalf("typed_keys=%v: aggregations named %v, want %v", typed, names, slices.Sorted(slices.Values(want)))
		}
	}
}
