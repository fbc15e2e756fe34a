package apikeyquery

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The limits on a query's clauses and wildcard bytes hold for the whole
// request: every filter of a filters aggregation (and every filter
// aggregation) spends the same budget. Each had a budget of its own, so
// 1,024 filters of 10 KB of patterns each cost 1,024 times the documented
// bound for every key the caller sees (a manage_own_api_key caller, over
// its own keys).
func TestAggregationFiltersShareTheQueryBudget(t *testing.T) {
	pattern := strings.Repeat("*a", 499) + "*b" // 1,000 bytes, never matching
	should := make([]any, 10)
	for i := range should {
		should[i] = map[string]any{"wildcard": map[string]any{"name": pattern}}
	}
	filters := make([]any, 1_000)
	for i := range filters {
		filters[i] = map[string]any{"bool": map[string]any{"should": should}}
	}
	for name, aggs := range map[string]any{
		"filters": map[string]any{"f": map[string]any{"filters": map[string]any{"filters": filters}}},
		"filter": func() map[string]any {
			m := map[string]any{}
			for i := range 100 {
				m[strings.Repeat("x", i+1)] = map[string]any{"filter": filters[0]}
			}
			return m
		}(),
	} {
		raw, _ := json.Marshal(aggs)
		start := time.Now()
		q, err := Compile(Request{Aggs: raw})
		if err == nil {
			_, err = q.Aggregate([]Doc{{ID: "k", Name: strings.Repeat("a", 1_000), Type: "rest"}}, false)
			t.Fatalf("%s: compiled and ran in %v (%v); want the query's limit", name, time.Since(start), err)
		}
		if !strings.Contains(err.Error(), "10000") && !strings.Contains(err.Error(), "maxClauseCount") {
			t.Fatalf("%s: %v", name, err)
		}
	}
}
