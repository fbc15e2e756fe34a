package apikeyquery

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func compileErr(t *testing.T, query string) *Error {
	t.Helper()
	_, err := Compile(Request{Query: json.RawMessage(query)})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("query of %d bytes: got %v, want an *Error", len(query), err)
	}
	if len(e.Reason) > 2*maxShown+300 {
		t.Fatalf("error reason of %d bytes quotes the input: %.200s...", len(e.Reason), e.Reason)
	}
	return e
}

func list(n int, item func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = item(i)
	}
	return strings.Join(parts, ",")
}

// Issue 12, finding 7: a wildcard of three million ? is refused before it
// is compiled, with a short reason and little memory.
func TestHugeWildcardIsRefusedCheaply(t *testing.T) {
	q := `{"wildcard":{"name":"` + strings.Repeat("?", 3_000_000) + `"}}`
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	e := compileErr(t, q)
	runtime.ReadMemStats(&after)
	if !strings.Contains(e.Reason, "allowed maximum of [1000]") {
		t.Errorf("reason %q", e.Reason)
	}
	// Decoding the 3 MB request itself is most of it.
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
		t.Errorf("refusing the pattern allocated %d MiB", n>>20)
	}
}

func TestLimits(t *testing.T) {
	wild := func(n int) string { return `{"wildcard":{"name":"` + strings.Repeat("a", n) + `"}}` }
	tests := []struct{ query, want string }{
		{`{"ids":{"values":[` + list(maxTerms+1, func(i int) string { return fmt.Sprintf(`"%d"`, i) }) + `]}}`, "[index.max_terms_count]"},
		{`{"terms":{"name":[` + list(maxTerms+1, func(i int) string { return fmt.Sprintf(`"%d"`, i) }) + `]}}`, "The number of terms [65537]"},
		{`{"bool":{"should":[` + list(maxClauses+1, func(int) string { return `{"term":{"name":"x"}}` }) + `]}}`, "maxClauseCount is set to 1024"},
		// Nesting does not get around the clause count: it is of the whole query.
		{`{"bool":{"should":[` + list(2, func(int) string {
			return `{"bool":{"should":[` + list(maxClauses/2+1, func(int) string { return `{"match_all":{}}` }) + `]}}`
		}) + `]}}`, "maxClauseCount"},
		{`{"simple_query_string":{"query":"` + strings.Repeat("t ", 600) + `","fields":["name","username"]}}`, "maxClauseCount"},
		{`{"simple_query_string":{"query":"` + strings.Repeat("t ", 2000) + `"}}`, "maxClauseCount"},
		{wild(maxPattern + 1), "[1001] used in the query has exceeded the allowed maximum of [1000]"},
		{`{"bool":{"should":[` + list(11, func(int) string { return wild(maxPattern) }) + `]}}`, "more than the allowed maximum of [10000]"},
		{`{"term":{"` + strings.Repeat("f", 1<<20) + `":"x"}}`, "is not allowed for API Key query"},
		{`{"unknown_` + strings.Repeat("q", 1<<20) + `":{}}`, "is not supported for API Key query"},
		{`{"range":{"creation":{"gte":"` + strings.Repeat("9", 1<<20) + `x"}}}`, "failed to parse date field"},
	}
	for _, tc := range tests {
		if e := compileErr(t, tc.query); !strings.Contains(e.Reason, tc.want) {
			t.Errorf("query %.80s...: reason %q, want %q", tc.query, e.Reason, tc.want)
		}
	}
	sort := `[` + list(maxSort+1, func(int) string { return `"name"` }) + `]`
	if _, err := Compile(Request{Sort: json.RawMessage(sort)}); err == nil {
		t.Errorf("%d sort keys accepted", maxSort+1)
	}
	// At the limits, queries are accepted.
	for _, q := range []string{
		`{"ids":{"values":[` + list(maxTerms, func(i int) string { return fmt.Sprintf(`"k%d"`, i) }) + `]}}`,
		`{"bool":{"should":[` + list(maxClauses, func(int) string { return `{"term":{"name":"x"}}` }) + `]}}`,
		`{"bool":{"should":[` + list(10, func(int) string { return wild(maxPattern) }) + `]}}`,
	} {
		if _, err := Compile(Request{Query: json.RawMessage(q)}); err != nil {
			t.Errorf("query at the limit refused: %v", err)
		}
	}
}

// ids and terms are sets: the biggest allowed list still finds its keys.
func TestIDsAndTermsAreSets(t *testing.T) {
	ids := list(maxTerms-2, func(i int) string { return fmt.Sprintf(`"x%d"`, i) }) + `,"k2","k5"`
	if _, got, _ := run(t, Request{Query: json.RawMessage(`{"ids":{"values":[` + ids + `]}}`)}); !reflect.DeepEqual(got, []string{"k2", "k5"}) {
		t.Errorf("ids: got %v", got)
	}
	terms := list(maxTerms-1, func(i int) string { return fmt.Sprintf(`"u%d"`, i) }) + `,"carol"`
	if _, got, _ := run(t, Request{Query: json.RawMessage(`{"terms":{"username":[` + terms + `]}}`)}); !reflect.DeepEqual(got, []string{"k5"}) {
		t.Errorf("terms: got %v", got)
	}
}
