package authn

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func aqCompileErr(t *testing.T, query string) *Error {
	t.Helper()
	_, err := CompileAPIKeyQuery(APIKeyQueryRequest{Query: json.RawMessage(query)})
	var e *Error
	if !errors.As(err, &e) || e.Kind != Invalid {
		t.Fatalf("query of %d bytes: got %v, want an Invalid error", len(query), err)
	}
	if len(e.Reason) > 2*aqMaxShown+300 {
		t.Fatalf("error reason of %d bytes quotes the input: %.200s...", len(e.Reason), e.Reason)
	}
	return e
}

func aqList(n int, item func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = item(i)
	}
	return strings.Join(parts, ",")
}

// Issue 12, finding 7: a wildcard of three million ? is refused before it
// is compiled, with a short reason and little memory.
func TestAPIKeyQueryHugeWildcardIsRefusedCheaply(t *testing.T) {
	q := `{"wildcard":{"name":"` + strings.Repeat("?", 3_000_000) + `"}}`
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	e := aqCompileErr(t, q)
	runtime.ReadMemStats(&after)
	if !strings.Contains(e.Reason, "allowed maximum of [1000]") {
		t.Errorf("reason %q", e.Reason)
	}
	// Decoding the 3 MB request itself is most of it.
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
		t.Errorf("refusing the pattern allocated %d MiB", n>>20)
	}
}

func TestAPIKeyQueryLimits(t *testing.T) {
	wild := func(n int) string { return `{"wildcard":{"name":"` + strings.Repeat("a", n) + `"}}` }
	tests := []struct{ query, want string }{
		{`{"ids":{"values":[` + aqList(aqMaxTerms+1, func(i int) string { return fmt.Sprintf(`"%d"`, i) }) + `]}}`, "[index.max_terms_count]"},
		{`{"terms":{"name":[` + aqList(aqMaxTerms+1, func(i int) string { return fmt.Sprintf(`"%d"`, i) }) + `]}}`, "The number of terms [65537]"},
		{`{"bool":{"should":[` + aqList(aqMaxClauses+1, func(int) string { return `{"term":{"name":"x"}}` }) + `]}}`, "maxClauseCount is set to 1024"},
		// Nesting does not get around the clause count: it is of the whole query.
		{`{"bool":{"should":[` + aqList(2, func(int) string {
			return `{"bool":{"should":[` + aqList(aqMaxClauses/2+1, func(int) string { return `{"match_all":{}}` }) + `]}}`
		}) + `]}}`, "maxClauseCount"},
		{`{"simple_query_string":{"query":"` + strings.Repeat("t ", 600) + `","fields":["name","username"]}}`, "maxClauseCount"},
		{`{"simple_query_string":{"query":"` + strings.Repeat("t ", 2000) + `"}}`, "maxClauseCount"},
		{wild(aqMaxPattern + 1), "[1001] used in the query has exceeded the allowed maximum of [1000]"},
		{`{"bool":{"should":[` + aqList(11, func(int) string { return wild(aqMaxPattern) }) + `]}}`, "more than the allowed maximum of [10000]"},
		{`{"term":{"` + strings.Repeat("f", 1<<20) + `":"x"}}`, "is not allowed for API Key query"},
		{`{"unknown_` + strings.Repeat("q", 1<<20) + `":{}}`, "is not supported for API Key query"},
		{`{"range":{"creation":{"gte":"` + strings.Repeat("9", 1<<20) + `x"}}}`, "failed to parse date field"},
	}
	for _, tc := range tests {
		if e := aqCompileErr(t, tc.query); !strings.Contains(e.Reason, tc.want) {
			t.Errorf("query %.80s...: reason %q, want %q", tc.query, e.Reason, tc.want)
		}
	}
	sort := `[` + aqList(aqMaxSort+1, func(int) string { return `"name"` }) + `]`
	if _, err := CompileAPIKeyQuery(APIKeyQueryRequest{Sort: json.RawMessage(sort)}); err == nil {
		t.Errorf("%d sort keys accepted", aqMaxSort+1)
	}
	// At the limits, queries are accepted.
	for _, q := range []string{
		`{"ids":{"values":[` + aqList(aqMaxTerms, func(i int) string { return fmt.Sprintf(`"k%d"`, i) }) + `]}}`,
		`{"bool":{"should":[` + aqList(aqMaxClauses, func(int) string { return `{"term":{"name":"x"}}` }) + `]}}`,
		`{"bool":{"should":[` + aqList(10, func(int) string { return wild(aqMaxPattern) }) + `]}}`,
	} {
		if _, err := CompileAPIKeyQuery(APIKeyQueryRequest{Query: json.RawMessage(q)}); err != nil {
			t.Errorf("query at the limit refused: %v", err)
		}
	}
}

// ids and terms are sets: the biggest allowed list still finds its keys.
func TestAPIKeyQueryIDsAndTermsAreSets(t *testing.T) {
	ids := aqList(aqMaxTerms-2, func(i int) string { return fmt.Sprintf(`"x%d"`, i) }) + `,"k2","k5"`
	if _, got, _ := aqRun(t, APIKeyQueryRequest{Query: json.RawMessage(`{"ids":{"values":[` + ids + `]}}`)}); !reflect.DeepEqual(got, []string{"k2", "k5"}) {
		t.Errorf("ids: got %v", got)
	}
	terms := aqList(aqMaxTerms-1, func(i int) string { return fmt.Sprintf(`"u%d"`, i) }) + `,"carol"`
	if _, got, _ := aqRun(t, APIKeyQueryRequest{Query: json.RawMessage(`{"terms":{"username":[` + terms + `]}}`)}); !reflect.DeepEqual(got, []string{"k5"}) {
		t.Errorf("terms: got %v", got)
	}
}

func TestAPIKeyWildcardMatching(t *testing.T) {
	tests := []struct {
		pattern, s string
		ci, want   bool
	}{
		{"", "", false, true},
		{"", "a", false, false},
		{"*", "", false, true},
		{"*", "anything", false, true},
		{"a?c", "abc", false, true},
		{"a?c", "ac", false, false},
		{"a?c", "aéc", false, true}, // ? is one character, not one byte
		{"a*c", "abbbbc", false, true},
		{"a*c", "abbbbcd", false, false},
		{"a**b*", "ab", false, true},
		{"*a*b", "xxaxxbxxb", false, true},
		{"*a*b", "xxaxxbxxa", false, false},
		{`a\*c`, "a*c", false, true},
		{`a\*c`, "abc", false, false},
		{`a\?`, "a?", false, true},
		{`ab\`, `ab\`, false, true},
		{"APP1-*", "app1-key", true, true},
		{"APP1-*", "app1-key", false, false},
		{"ÉTÉ", "été", true, true},
		{"a\nb", "a\nb", false, true},
		{"?", "\n", false, true},
	}
	for _, tc := range tests {
		p, err := aqWildcard(tc.pattern, tc.ci, &aqBudget{})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.match(tc.s); got != tc.want {
			t.Errorf("wildcard %q (ci %v) on %q: %v, want %v", tc.pattern, tc.ci, tc.s, got, tc.want)
		}
	}
	// The worst case for backtracking matchers still gets the right answer.
	p, _ := aqWildcard(strings.Repeat("*a", aqMaxPattern/2-1)+"*b", false, &aqBudget{})
	if p.match(strings.Repeat("a", 4000)) || !p.match(strings.Repeat("a", 600)+"b") {
		t.Error("pathological pattern matched wrongly")
	}
}
