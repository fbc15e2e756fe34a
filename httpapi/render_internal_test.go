package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFilterJSON(t *testing.T) {
	doc := `{"_nodes":{"total":3,"failed":0},"cluster_name":"c","nodes":{"n1":{"name":"n1"},"n2":{"name":"n2"}},` +
		`"api_keys":[{"id":"a","name":"x","role_descriptors":{"r":{"cluster":["all"]}}},{"id":"b","name":"y"}]}`
	for _, tc := range []struct{ filter, want string }{
		{"cluster_name", `{"cluster_name":"c"}`},
		{"_nodes.total,cluster_name", `{"_nodes":{"total":3},"cluster_name":"c"}`},
		{"nodes.*.name", `{"nodes":{"n1":{"name":"n1"},"n2":{"name":"n2"}}}`},
		{"api_keys.id", `{"api_keys":[{"id":"a"},{"id":"b"}]}`},
		{"**.name", `{"nodes":{"n1":{"name":"n1"},"n2":{"name":"n2"}},"api_keys":[{"name":"x"},{"name":"y"}]}`},
		{"**.cluster", `{"api_keys":[{"role_descriptors":{"r":{"cluster":["all"]}}}]}`},
		{"api_keys.**.cluster", `{"api_keys":[{"role_descriptors":{"r":{"cluster":["all"]}}}]}`},
		{"clu*", `{"cluster_name":"c"}`},
		{"*_name", `{"cluster_name":"c"}`},
		{"nothing", `{}`},
		{"cluster_name.x", `{}`},
		{"-nodes,-api_keys,-_nodes.failed", `{"_nodes":{"total":3},"cluster_name":"c"}`},
		{"-**.name,nodes", `{"nodes":{"n1":{},"n2":{}}}`},
		{"-api_keys.role_descriptors,api_keys", `{"api_keys":[{"id":"a","name":"x"},{"id":"b","name":"y"}]}`},
	} {
		got, err := filterJSON([]byte(doc), parseFilterPath(tc.filter))
		if err != nil || string(got) != tc.want {
			t.Errorf("filter_path=%s: got %s (%v), want %s", tc.filter, got, err, tc.want)
		}
	}
}

// A field named with dots, as _cat's JSON has them, is the path it spells.
func TestFilterJSONDottedFieldNames(t *testing.T) {
	doc := `[{"heap.percent":"3","ip":"x","a":{"b.c":1,"b":{"d":2}}}]`
	for _, tc := range []struct{ filter, want string }{
		{"heap.percent", `[{"heap.percent":"3"}]`},
		{"heap", `[{"heap.percent":"3"}]`},
		{"a.b.c", `[{"a":{"b.c":1}}]`},
		{"-heap.percent,-a", `[{"ip":"x"}]`},
	} {
		got, err := filterJSON([]byte(doc), parseFilterPath(tc.filter))
		if err != nil || string(got) != tc.want {
			t.Errorf("filter_path=%s: got %s (%v), want %s", tc.filter, got, err, tc.want)
		}
	}
}

func TestRenderPrettyAndFlags(t *testing.T) {
	for _, tc := range []struct{ query, want string }{
		{"", `{"a":1,"b":[2]}`},
		{"pretty", "{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}\n"},
		{"pretty=true&filter_path=b", "{\n  \"b\": [\n    2\n  ]\n}\n"},
		{"pretty=false", `{"a":1,"b":[2]}`},
		{"human&error_trace", `{"a":1,"b":[2]}`},
	} {
		r := httptest.NewRequest("GET", "/?"+tc.query, nil)
		if got := string(render(r, []byte(`{"a":1,"b":[2]}`))); got != tc.want {
			t.Errorf("?%s: got %q, want %q", tc.query, got, tc.want)
		}
	}
}

func TestGlobSegment(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"a", "a", true}, {"a", "ab", false}, {"a*", "ab", true}, {"*b", "ab", true},
		{"a*c", "abc", true}, {"a*a", "a", false}, {"*", "", true}, {"a*b*c", "aXbYc", true}, {"a*b*c", "aXcYb", false},
	} {
		if got := globSegment(tc.pattern, tc.name); got != tc.want {
			t.Errorf("%q ~ %q = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

// A filter_path is read before authentication (a 401 is filtered too), so
// its cost must not grow with its "**" segments: a run of them, or "**"
// alternating with a name, made the remainders each level carries grow
// with the run's length to the power of the answer's depth (80 segments
// took 1.7 s on a 401's body; 300 took minutes).
func TestFilterPathCostIsBounded(t *testing.T) {
	doc := `{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"name":"n","a":[{"x":1}]}}}}}}}},"status":401}`
	run := strings.Repeat("**.", 5000) + "name"
	alternating := strings.Repeat("**.a.", 15) + "name"
	for _, tc := range []struct{ filter, want string }{
		{run, `{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"name":"n"}}}}}}}}}`},
		{alternating, `{}`}, // 31 segments: fifteen "a" levels needed, eight there
		{strings.Repeat("**.a.", 4) + "name", `{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"name":"n"}}}}}}}}}`},
		{strings.Repeat("a.", maxFilterSegments) + "name", `{}`}, // too deep: dropped
		{"-" + run, `{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":[{"x":1}]}}}}}}}},"status":401}`},
	} {
		start := time.Now()
		got, err := filterJSON([]byte(doc), parseFilterPath(tc.filter))
		if err != nil || string(got) != tc.want {
			t.Errorf("filter_path=%.40s…: got %s (%v), want %s", tc.filter, got, err, tc.want)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("filter_path=%.40s…: took %v", tc.filter, d)
		}
	}
	// The remainders one level carries are at most the filters' segments,
	// whatever the depth.
	for _, filter := range []string{run, alternating} {
		s := state(parseFilterPath(filter).include)
		for depth := range 12 {
			s, _ = s.step("a")
			if len(s) > maxFilterSegments {
				t.Fatalf("filter_path=%.40s…: %d remainders at depth %d", filter, len(s), depth)
			}
		}
	}
}
