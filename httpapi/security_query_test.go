package httpapi_test

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/tokenstore/tokenstore/testcluster"
)

func queryList(n int, item func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = item(i)
	}
	return strings.Join(parts, ",")
}

// Issue 12, finding 7: the query DSL has Elasticsearch's limits. Over them
// a query gets a short 400 at a bounded cost (the nodes run in this
// process, so its allocations are theirs); within them it still works.
func TestQueryAPIKeysIsBounded(t *testing.T) {
	c := testcluster.New(t, 1)
	for i := 0; i < 3; i++ {
		createKey(t, c, 0, testcluster.Elastic, map[string]any{"name": fmt.Sprintf("alpha-%d", i)})
	}
	cases := []struct{ name, body, want string }{
		{"3M-character wildcard", `{"query":{"wildcard":{"name":"` + strings.Repeat("?", 3_000_000) + `"}}}`, "allowed maximum of [1000]"},
		{"400k ids", `{"query":{"ids":{"values":[` + queryList(400_000, func(i int) string { return fmt.Sprintf(`"%d"`, i) }) + `]}}}`, "index.max_terms_count"},
		{"70k terms", `{"query":{"terms":{"name":[` + queryList(70_000, func(i int) string { return fmt.Sprintf(`"%d"`, i) }) + `]}}}`, "index.max_terms_count"},
		{"2000 clauses", `{"query":{"bool":{"should":[` + queryList(2000, func(int) string { return `{"prefix":{"name":"a"}}` }) + `]}}}`, "maxClauseCount is set to 1024"},
		{"31 nested queries", `{"query":` + strings.Repeat(`{"bool":{"must":`, 30) + `{"match_all":{}}` + strings.Repeat(`}}`, 30) + `}`, "max_nested_depth"},
		{"a huge field name", `{"query":{"term":{"` + strings.Repeat("f", 1<<20) + `":"x"}}}`, "is not allowed"},
		{"from + size", `{"from":9000,"size":1001}`, "Result window is too large"},
		{"search_after without sort", `{"search_after":["x"]}`, "requires a [sort]"},
	}
	for _, tc := range cases {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		r := c.Do(0, http.MethodPost, "/_security/_query/api_key", testcluster.Elastic, tc.body)
		runtime.ReadMemStats(&m1)
		if r.Status != 400 || responseErrorType(r) != "illegal_argument_exception" || !strings.Contains(responseErrorReason(r), tc.want) {
			t.Errorf("%s: %d %.300s", tc.name, r.Status, r.Body)
		}
		if len(r.Body) > 2048 {
			t.Errorf("%s: the %d-byte error quotes the request", tc.name, len(r.Body))
		}
		if n := m1.TotalAlloc - m0.TotalAlloc; n > 256<<20 {
			t.Errorf("%s: a %d-byte request allocated %d MiB", tc.name, len(tc.body), n>>20)
		}
	}
	r := c.Do(0, http.MethodPost, "/_security/_query/api_key", testcluster.Elastic,
		`{"query":{"bool":{"filter":[{"wildcard":{"name":{"value":"ALP*-?","case_insensitive":true}}}],"should":[{"terms":{"name":["alpha-1","alpha-2"]}}],"minimum_should_match":1}},"sort":["name"]}`)
	if got := r.JSON()["count"]; r.Status != 200 || got != float64(2) {
		t.Fatalf("query within the limits: %d %s", r.Status, r.Body)
	}
}
