package apikeyquery

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func testDocs() []Doc {
	return []Doc{
		{ID: "k1", Name: "app1-key-01", Username: "alice", Realm: "native1", Type: "rest", Creation: 1000, Expiration: 5000,
			Metadata: map[string]any{"env": "prod", "tags": []any{"a", "b"}, "app": map[string]any{"tier": "gold", "version": float64(2)}}},
		{ID: "k2", Name: "app1-key-02", Username: "alice", Realm: "native1", Type: "rest", Creation: 2000,
			Metadata: map[string]any{"env": "dev"}},
		{ID: "k3", Name: "app2-key-01", Username: "bob", Realm: "ldap1", Type: "rest", Creation: 3000, Expiration: 4000, Invalidated: true, Invalidation: 4500,
			Metadata: map[string]any{"env": "prod", "app.tier": "silver"}},
		{ID: "k4", Name: "other", Username: "bob", Realm: "native1", Type: "rest", Creation: 4000},
		{ID: "k5", Name: "App1-Key-03", Username: "carol", Realm: "file", Type: "rest", Creation: 5000, Expiration: 9000,
			Metadata: map[string]any{"count": float64(42), "flag": true}},
		{ID: "k6", Name: "app1-key-04", Username: "alice", Realm: "ldap1", Type: "rest", Creation: 6000, Invalidated: true, Invalidation: 7000,
			Metadata: map[string]any{"tags": []any{"c"}}},
		{ID: "k7", Username: "dave", Realm: "native1", Type: "rest", Creation: 7000, Expiration: 8000},
		{ID: "k8", Name: "z*literal?", Username: "erin", Realm: "native1", Type: "rest", Creation: 1000,
			Metadata: map[string]any{"x": nil, "empty": []any{}}},
	}
}

func idsOf(docs []Doc) []string {
	ids := []string{}
	for _, d := range docs {
		ids = append(ids, d.ID)
	}
	return ids
}

func intPtr(n int) *int { return &n }

func run(t *testing.T, req Request) (int, []string, [][]any) {
	t.Helper()
	q, err := Compile(req)
	if err != nil {
		t.Fatalf("Compile(%s): %v", req.Query, err)
	}
	total, page, sv := q.Run(testDocs())
	return total, idsOf(page), sv
}

func TestMatching(t *testing.T) {
	all := []string{"k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"}
	tests := []struct {
		query string
		want  []string
	}{
		{``, all},
		{`null`, all},
		{`{}`, all},
		{`{"match_all":{}}`, all},
		{`{"match_all":{"boost":2}}`, all},
		{`{"ids":{"values":["k3","k1","nope"]}}`, []string{"k1", "k3"}},
		{`{"ids":{"values":[]}}`, nil},
		{`{"term":{"username":"alice"}}`, []string{"k1", "k2", "k6"}},
		{`{"term":{"username":{"value":"bob"}}}`, []string{"k3", "k4"}},
		{`{"term":{"username":"Alice"}}`, nil},
		{`{"term":{"username":{"value":"ALICE","case_insensitive":true}}}`, []string{"k1", "k2", "k6"}},
		{`{"term":{"realm_name":"ldap1"}}`, []string{"k3", "k6"}},
		{`{"term":{"type":"rest"}}`, all},
		{`{"term":{"name":"app1-key"}}`, nil},
		{`{"term":{"invalidated":true}}`, []string{"k3", "k6"}},
		{`{"term":{"invalidated":"false"}}`, []string{"k1", "k2", "k4", "k5", "k7", "k8"}},
		{`{"term":{"creation":1000}}`, []string{"k1", "k8"}},
		{`{"term":{"creation":"1000"}}`, []string{"k1", "k8"}},
		{`{"term":{"creation":"1970-01-01T00:00:01Z"}}`, []string{"k1", "k8"}},
		{`{"terms":{"username":["bob","carol","zed"]}}`, []string{"k3", "k4", "k5"}},
		{`{"terms":{"username":["bob"],"boost":1.5}}`, []string{"k3", "k4"}},
		{`{"terms":{"invalidated":[true]}}`, []string{"k3", "k6"}},
		{`{"terms":{"metadata.tags":["b","c"]}}`, []string{"k1", "k6"}},
		{`{"prefix":{"name":"app1-"}}`, []string{"k1", "k2", "k6"}},
		{`{"prefix":{"name":{"value":"APP1-","case_insensitive":true}}}`, []string{"k1", "k2", "k5", "k6"}},
		{`{"prefix":{"name":""}}`, []string{"k1", "k2", "k3", "k4", "k5", "k6", "k8"}},
		{`{"wildcard":{"name":"app1-*"}}`, []string{"k1", "k2", "k6"}},
		{`{"wildcard":{"name":{"value":"app?-key-01"}}}`, []string{"k1", "k3"}},
		{`{"wildcard":{"name":{"wildcard":"*-0?"}}}`, []string{"k1", "k2", "k3", "k5", "k6"}},
		{`{"wildcard":{"name":"*key*"}}`, []string{"k1", "k2", "k3", "k6"}},
		{`{"wildcard":{"name":"z\\*literal\\?"}}`, []string{"k8"}},
		{`{"wildcard":{"name":"z.literal."}}`, nil},
		{`{"wildcard":{"name":{"value":"*KEY*","case_insensitive":true}}}`, []string{"k1", "k2", "k3", "k5", "k6"}},
		{`{"exists":{"field":"expiration"}}`, []string{"k1", "k3", "k5", "k7"}},
		{`{"exists":{"field":"invalidation"}}`, []string{"k3", "k6"}},
		{`{"exists":{"field":"name"}}`, []string{"k1", "k2", "k3", "k4", "k5", "k6", "k8"}},
		{`{"exists":{"field":"metadata"}}`, []string{"k1", "k2", "k3", "k5", "k6"}},
		{`{"exists":{"field":"metadata.app.tier"}}`, []string{"k1", "k3"}},
		{`{"exists":{"field":"metadata.x"}}`, nil},
		{`{"exists":{"field":"metadata.empty"}}`, nil},
		{`{"range":{"creation":{"gte":2000,"lt":5000}}}`, []string{"k2", "k3", "k4"}},
		{`{"range":{"creation":{"gt":2000,"lte":5000}}}`, []string{"k3", "k4", "k5"}},
		{`{"range":{"creation":{"gt":null,"lte":"1970-01-01T00:00:02.000Z"}}}`, []string{"k1", "k2", "k8"}},
		{`{"range":{"expiration":{"lt":6000}}}`, []string{"k1", "k3"}},
		{`{"range":{"expiration":{}}}`, []string{"k1", "k3", "k5", "k7"}},
		{`{"range":{"name":{"gte":"app2","lt":"p"}}}`, []string{"k3", "k4"}},
		{`{"range":{"creation":{"gte":"1970-01-01"}}}`, all},
		{`{"match":{"username":"carol"}}`, []string{"k5"}},
		{`{"match":{"username":{"query":"carol"}}}`, []string{"k5"}},
		{`{"match":{"name":"app1-key"}}`, nil},
		{`{"match":{"invalidated":"true"}}`, []string{"k3", "k6"}},
		{`{"term":{"metadata.env":"prod"}}`, []string{"k1", "k3"}},
		{`{"term":{"metadata.app.tier":"gold"}}`, []string{"k1"}},
		{`{"term":{"metadata.app.tier":"silver"}}`, []string{"k3"}},
		{`{"term":{"metadata.tags":"a"}}`, []string{"k1"}},
		{`{"term":{"metadata.count":42}}`, []string{"k5"}},
		{`{"term":{"metadata.count":"42"}}`, []string{"k5"}},
		{`{"term":{"metadata.count":42.0}}`, []string{"k5"}},
		{`{"term":{"metadata.app.version":2}}`, []string{"k1"}},
		{`{"term":{"metadata.flag":true}}`, []string{"k5"}},
		{`{"term":{"metadata.flag":"true"}}`, []string{"k5"}},
		{`{"term":{"metadata.app":"gold"}}`, nil},
		{`{"term":{"metadata":"dev"}}`, []string{"k2"}},
		{`{"term":{"metadata":"gold"}}`, []string{"k1"}},
		{`{"prefix":{"metadata.env":"pr"}}`, []string{"k1", "k3"}},
		{`{"bool":{"must":{"term":{"username":"alice"}}}}`, []string{"k1", "k2", "k6"}},
		{`{"bool":{"must":[{"term":{"username":"alice"}},{"term":{"invalidated":false}}]}}`, []string{"k1", "k2"}},
		{`{"bool":{"filter":[{"term":{"username":"alice"}}],"must_not":[{"exists":{"field":"expiration"}}]}}`, []string{"k2", "k6"}},
		{`{"bool":{"must_not":{"term":{"realm_name":"native1"}}}}`, []string{"k3", "k5", "k6"}},
		{`{"bool":{"should":[{"term":{"username":"carol"}},{"term":{"username":"dave"}}]}}`, []string{"k5", "k7"}},
		{`{"bool":{"should":[{"term":{"username":"carol"}}],"must_not":[{"term":{"username":"carol"}}]}}`, nil},
		// With a must, should clauses are optional.
		{`{"bool":{"must":[{"term":{"username":"bob"}}],"should":[{"term":{"realm_name":"nope"}}]}}`, []string{"k3", "k4"}},
		{`{"bool":{"must":[{"term":{"username":"bob"}}],"should":[{"term":{"realm_name":"nope"}}],"minimum_should_match":1}}`, nil},
		{`{"bool":{"should":[{"term":{"username":"alice"}},{"term":{"realm_name":"native1"}},{"term":{"invalidated":true}}],"minimum_should_match":2}}`, []string{"k1", "k2", "k6"}},
		{`{"bool":{"should":[{"term":{"username":"alice"}},{"term":{"realm_name":"native1"}},{"term":{"invalidated":true}}],"minimum_should_match":"-1"}}`, []string{"k1", "k2", "k6"}},
		{`{"bool":{"should":[{"term":{"username":"alice"}},{"term":{"realm_name":"native1"}},{"term":{"invalidated":true}}],"minimum_should_match":"100%"}}`, nil},
		{`{"bool":{"should":[{"term":{"username":"alice"}},{"term":{"realm_name":"native1"}},{"term":{"invalidated":true}}],"minimum_should_match":"67%"}}`, []string{"k1", "k2", "k6"}},
		{`{"bool":{"should":[{"term":{"username":"alice"}},{"term":{"realm_name":"native1"}},{"term":{"invalidated":true}}],"minimum_should_match":"-34%"}}`, []string{"k1", "k2", "k6"}},
		{`{"bool":{"should":[{"term":{"username":"alice"}}],"minimum_should_match":0}}`, all},
		{`{"bool":{"should":[{"term":{"username":"alice"}}],"minimum_should_match":5}}`, nil},
		{`{"bool":{}}`, all},
		{`{"bool":{"must":[{"bool":{"should":[{"term":{"username":"bob"}},{"term":{"username":"erin"}}]}}],"must_not":[{"ids":{"values":["k4"]}}]}}`, []string{"k3", "k8"}},
		{`{"simple_query_string":{"query":"carol"}}`, []string{"k5"}},
		{`{"simple_query_string":{"query":"carol dave"}}`, []string{"k5", "k7"}},
		{`{"simple_query_string":{"query":"app2*"}}`, []string{"k3"}},
		{`{"simple_query_string":{"query":"gold"}}`, []string{"k1"}},
		{`{"simple_query_string":{"query":"alice prod","default_operator":"AND"}}`, []string{"k1"}},
		{`{"simple_query_string":{"query":"alice","fields":["realm_name"]}}`, nil},
		{`{"simple_query_string":{"query":"ldap1","fields":["realm_name^2"]}}`, []string{"k3", "k6"}},
		{`{"simple_query_string":{"query":"silver","fields":["metadata.env"]}}`, nil},
		// A dotted key and a nested object flatten to the same path.
		{`{"simple_query_string":{"query":"silver gold","fields":["metadata.app.*"]}}`, []string{"k1", "k3"}},
		{`{"simple_query_string":{"query":"silver","fields":["metadata.app*"]}}`, []string{"k3"}},
		{`{"simple_query_string":{"query":"k1 rest","fields":["id"]}}`, nil},
		{`{"simple_query_string":{"query":"true","fields":["*"]}}`, []string{"k3", "k5", "k6"}},
		{`{"simple_query_string":{"query":"4000","fields":["creation","expiration"]}}`, []string{"k3", "k4"}},
		{`{"simple_query_string":{"query":"   "}}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			total, got, sv := run(t, Request{Query: json.RawMessage(tc.query), Size: intPtr(100)})
			want := tc.want
			if want == nil {
				want = []string{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
			if total != len(want) {
				t.Errorf("total = %d, want %d", total, len(want))
			}
			if sv != nil {
				t.Errorf("sort values without a sort: %v", sv)
			}
		})
	}
}

func TestPaging(t *testing.T) {
	tests := []struct {
		from, size *int
		want       []string
	}{
		{nil, nil, []string{"k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"}},
		{intPtr(0), intPtr(3), []string{"k1", "k2", "k3"}},
		{intPtr(3), intPtr(3), []string{"k4", "k5", "k6"}},
		{intPtr(6), intPtr(3), []string{"k7", "k8"}},
		{intPtr(8), intPtr(3), []string{}},
		{intPtr(100), nil, []string{}},
		{nil, intPtr(0), []string{}},
	}
	for _, tc := range tests {
		total, got, _ := run(t, Request{From: tc.from, Size: tc.size})
		if total != 8 || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("from=%v size=%v: total %d page %v, want 8 %v", tc.from, tc.size, total, got, tc.want)
		}
	}
	// The default size is 10.
	docs := make([]Doc, 25)
	q, err := Compile(Request{})
	if err != nil {
		t.Fatal(err)
	}
	if total, page, _ := q.Run(docs); total != 25 || len(page) != 10 {
		t.Errorf("default size: total %d, page %d; want 25, 10", total, len(page))
	}
	if _, err := Compile(Request{From: intPtr(9000), Size: intPtr(1000)}); err != nil {
		t.Errorf("from+size = 10000 is allowed: %v", err)
	}
}

func TestSort(t *testing.T) {
	tests := []struct {
		sort string
		want []string
		sv   [][]any
	}{
		{`"name"`, []string{"k5", "k1", "k2", "k6", "k3", "k4", "k8", "k7"},
			[][]any{{"App1-Key-03"}, {"app1-key-01"}, {"app1-key-02"}, {"app1-key-04"}, {"app2-key-01"}, {"other"}, {"z*literal?"}, {nil}}},
		{`[{"name":"desc"}]`, []string{"k8", "k4", "k3", "k6", "k2", "k1", "k5", "k7"}, nil},
		{`[{"name":{"order":"desc","missing":"_first"}}]`, []string{"k7", "k8", "k4", "k3", "k6", "k2", "k1", "k5"}, nil},
		// Ties keep input order: k1 and k8 share creation 1000.
		{`[{"creation":"asc"}]`, []string{"k1", "k8", "k2", "k3", "k4", "k5", "k6", "k7"},
			[][]any{{int64(1000)}, {int64(1000)}, {int64(2000)}, {int64(3000)}, {int64(4000)}, {int64(5000)}, {int64(6000)}, {int64(7000)}}},
		{`{"creation":{"order":"desc"}}`, []string{"k7", "k6", "k5", "k4", "k3", "k2", "k1", "k8"}, nil},
		// Missing values sort last in both directions.
		{`[{"expiration":"asc"}]`, []string{"k3", "k1", "k7", "k5", "k2", "k4", "k6", "k8"}, nil},
		{`[{"expiration":"desc"}]`, []string{"k5", "k7", "k1", "k3", "k2", "k4", "k6", "k8"}, nil},
		{`["username", {"creation":"desc"}]`, []string{"k6", "k2", "k1", "k4", "k3", "k5", "k7", "k8"},
			[][]any{{"alice", int64(6000)}, {"alice", int64(2000)}, {"alice", int64(1000)}, {"bob", int64(4000)}, {"bob", int64(3000)}, {"carol", int64(5000)}, {"dave", int64(7000)}, {"erin", int64(1000)}}},
		{`[{"invalidated":"desc"}, "_doc"]`, []string{"k3", "k6", "k1", "k2", "k4", "k5", "k7", "k8"},
			[][]any{{true, int64(2)}, {true, int64(5)}, {false, int64(0)}, {false, int64(1)}, {false, int64(3)}, {false, int64(4)}, {false, int64(6)}, {false, int64(7)}}},
		{`[{"_doc":"desc"}]`, []string{"k8", "k7", "k6", "k5", "k4", "k3", "k2", "k1"}, nil},
		// Multi-valued metadata sorts by its least value ascending, greatest descending.
		{`["metadata.tags"]`, []string{"k1", "k6", "k2", "k3", "k4", "k5", "k7", "k8"},
			[][]any{{"a"}, {"c"}, {nil}, {nil}, {nil}, {nil}, {nil}, {nil}}},
		{`[{"metadata.tags":"desc"}]`, []string{"k6", "k1", "k2", "k3", "k4", "k5", "k7", "k8"},
			[][]any{{"c"}, {"b"}, {nil}, {nil}, {nil}, {nil}, {nil}, {nil}}},
		{`[]`, []string{"k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.sort, func(t *testing.T) {
			_, got, sv := run(t, Request{Sort: json.RawMessage(tc.sort)})
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if tc.sort != `[]` && len(sv) != len(got) {
				t.Errorf("%d sort values for %d docs", len(sv), len(got))
			}
			if tc.sv != nil && !reflect.DeepEqual(sv, tc.sv) {
				t.Errorf("sort values %v, want %v", sv, tc.sv)
			}
		})
	}
}

func TestSearchAfter(t *testing.T) {
	// Page through everything by creation then _doc, two at a time.
	var seen []string
	var after []any
	for range 10 {
		req := Request{Sort: json.RawMessage(`[{"creation":"desc"},"_doc"]`), Size: intPtr(2), SearchAfter: after}
		total, got, sv := run(t, req)
		if total != 8 {
			t.Fatalf("total = %d, want 8 regardless of search_after", total)
		}
		if len(got) == 0 {
			break
		}
		seen = append(seen, got...)
		// Round-trip through JSON as a client would.
		b, _ := json.Marshal(sv[len(sv)-1])
		after = nil
		if err := json.Unmarshal(b, &after); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"k7", "k6", "k5", "k4", "k3", "k2", "k1", "k8"}; !reflect.DeepEqual(seen, want) {
		t.Errorf("paged %v, want %v", seen, want)
	}

	tests := []struct {
		sort  string
		after []any
		want  []string
	}{
		{`["name"]`, []any{"app1-key-02"}, []string{"k6", "k3", "k4", "k8", "k7"}},
		// Strictly after: docs equal to the position are skipped.
		{`[{"creation":"asc"}]`, []any{float64(1000)}, []string{"k2", "k3", "k4", "k5", "k6", "k7"}},
		{`[{"creation":"asc"}]`, []any{"1970-01-01T00:00:04Z"}, []string{"k5", "k6", "k7"}},
		// After a missing value only other missing values could follow.
		{`[{"expiration":"asc"}]`, []any{nil}, []string{}},
		{`[{"expiration":"asc"}, "_doc"]`, []any{nil, float64(3)}, []string{"k6", "k8"}},
		{`[{"expiration":"asc"}]`, []any{float64(8000)}, []string{"k5", "k2", "k4", "k6", "k8"}},
		{`[{"invalidated":"asc"}, "name"]`, []any{false, "other"}, []string{"k8", "k7", "k6", "k3"}},
	}
	for _, tc := range tests {
		_, got, _ := run(t, Request{Sort: json.RawMessage(tc.sort), SearchAfter: tc.after, Size: intPtr(100)})
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("sort %s after %v: got %v, want %v", tc.sort, tc.after, got, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	deep := strings.Repeat(`{"bool":{"must":`, 150) + `{"match_all":{}}` + strings.Repeat(`}}`, 150)
	tests := []struct {
		req    Request
		reason string // a substring of the reason
	}{
		{Request{Query: json.RawMessage(`{"match_none":{}}`)}, "Query type [match_none] is not supported for API Key query"},
		{Request{Query: json.RawMessage(`{"query_string":{"query":"x"}}`)}, "Query type [query_string] is not supported for API Key query"},
		{Request{Query: json.RawMessage(`{"bool":{"must":[{"fuzzy":{"name":"x"}}]}}`)}, "Query type [fuzzy] is not supported"},
		{Request{Query: json.RawMessage(`{"term":{"id":"k1"}}`)}, "Field [id] is not allowed for API Key query"},
		{Request{Query: json.RawMessage(`{"term":{"role_descriptors":"x"}}`)}, "Field [role_descriptors] is not allowed"},
		{Request{Query: json.RawMessage(`{"exists":{"field":"api_key_hash"}}`)}, "Field [api_key_hash] is not allowed"},
		{Request{Query: json.RawMessage(`{"term":{"metadata.":"x"}}`)}, "Field [metadata.] is not allowed"},
		{Request{Query: json.RawMessage(`{"prefix":{"name*":"x"}}`)}, "Field name pattern [name*] is not allowed"},
		{Request{Query: json.RawMessage(`{"range":{"creation":{"gte":1,"relation":"within"}}}`)}, "range query with relation is not supported for API Key query"},
		{Request{Query: json.RawMessage(`{"range":{"creation":{"gte":"yesterday"}}}`)}, "failed to parse date"},
		{Request{Query: json.RawMessage(`{"range":{"creation":{"format":"x"}}}`)}, "does not support [format]"},
		{Request{Query: json.RawMessage(`{"terms":{"name":{"index":"i","id":"1","path":"p"}}}`)}, "terms lookup is not supported"},
		{Request{Query: json.RawMessage(`{"terms":{"name":"x"}}`)}, "array"},
		{Request{Query: json.RawMessage(`{"term":{"invalidated":"yes"}}`)}, "only [true] or [false]"},
		{Request{Query: json.RawMessage(`{"term":{"name":{"value":"x","fuzz":1}}}`)}, "[term] query does not support [fuzz]"},
		{Request{Query: json.RawMessage(`{"term":{"name":{"value":"x","case_insensitive":"yes"}}}`)}, "case_insensitive"},
		{Request{Query: json.RawMessage(`{"term":{"name":["x"]}}`)}, "not a valid value"},
		{Request{Query: json.RawMessage(`{"term":{"name":null}}`)}, "malformed"},
		{Request{Query: json.RawMessage(`{"term":{"name":"x","username":"y"}}`)}, "malformed"},
		{Request{Query: json.RawMessage(`{"term":{}}`)}, "malformed"},
		{Request{Query: json.RawMessage(`{"term":{"name":"x"},"match_all":{}}`)}, "malformed"},
		{Request{Query: json.RawMessage(`{"prefix":{"creation":"1"}}`)}, "does not support [prefix]"},
		{Request{Query: json.RawMessage(`{"wildcard":{"invalidated":"t*"}}`)}, "does not support [wildcard]"},
		{Request{Query: json.RawMessage(`{"match":{"name":{"query":"x","operator":"and"}}}`)}, "does not support [operator]"},
		{Request{Query: json.RawMessage(`{"ids":{"values":"k1"}}`)}, "[ids]"},
		{Request{Query: json.RawMessage(`{"ids":{"values":["k1"],"type":"_doc"}}`)}, "does not support [type]"},
		{Request{Query: json.RawMessage(`{"exists":{"field":1}}`)}, "[exists]"},
		{Request{Query: json.RawMessage(`{"exists":{"field":"id"}}`)}, "Field [id] is not allowed"},
		{Request{Query: json.RawMessage(`{"match_all":{"x":1}}`)}, "does not support [x]"},
		{Request{Query: json.RawMessage(`{"match_all":[]}`)}, "malformed"},
		{Request{Query: json.RawMessage(`{"bool":{"must":[{"term":{"name":"x"}}],"mustnt":[]}}`)}, "[bool] query does not support [mustnt]"},
		{Request{Query: json.RawMessage(`{"bool":{"must":[1]}}`)}, "malformed"},
		{Request{Query: json.RawMessage(`{"bool":{"should":[],"minimum_should_match":"1<50%"}}`)}, "minimum_should_match"},
		{Request{Query: json.RawMessage(`{"bool":{"should":[],"minimum_should_match":true}}`)}, "minimum_should_match"},
		{Request{Query: json.RawMessage(`{"simple_query_string":{"fields":["name"]}}`)}, "[simple_query_string]"},
		{Request{Query: json.RawMessage(`{"simple_query_string":{"query":"x","default_operator":"xor"}}`)}, "default_operator"},
		{Request{Query: json.RawMessage(`{"simple_query_string":{"query":"x","fields":"name"}}`)}, "fields"},
		{Request{Query: json.RawMessage(`{"simple_query_string":{"query":"x","flags":"ALL"}}`)}, "does not support [flags]"},
		{Request{Query: json.RawMessage(deep)}, "exceeds the maximum nested depth for queries set in [indices.query.bool.max_nested_depth]"},
		{Request{Query: json.RawMessage(`{"term":`)}, "failed to parse [query]"},
		{Request{Query: json.RawMessage(`{"match_all":{}} {}`)}, "failed to parse [query]"},
		{Request{Query: json.RawMessage(`"match_all"`)}, "malformed"},
		{Request{Query: json.RawMessage(`[]`)}, "malformed"},
		{Request{From: intPtr(-1)}, "[from] parameter cannot be negative"},
		{Request{Size: intPtr(-1)}, "[size] parameter cannot be negative"},
		{Request{From: intPtr(9999), Size: intPtr(2)}, "[from] + [size] must be less than or equal to: [10000] but was [10001]"},
		{Request{Size: intPtr(10001)}, "must be less than or equal to: [10000]"},
		{Request{From: intPtr(int(^uint(0) >> 1)), Size: intPtr(int(^uint(0) >> 1))}, "must be less than or equal to: [10000]"},
		{Request{Sort: json.RawMessage(`["id"]`)}, "Field [id] is not allowed for API Key query"},
		{Request{Sort: json.RawMessage(`[{"id":"asc"}]`)}, "Field [id] is not allowed for API Key query"},
		{Request{Sort: json.RawMessage(`["_score"]`)}, "Field [_score] is not allowed"},
		{Request{Sort: json.RawMessage(`["name*"]`)}, "pattern"},
		{Request{Sort: json.RawMessage(`[{"name":"up"}]`)}, "[sort]"},
		{Request{Sort: json.RawMessage(`[{"name":{"order":"asc","missing":"zzz"}}]`)}, "[sort]"},
		{Request{Sort: json.RawMessage(`[{"name":{"mode":"min"}}]`)}, "does not support [mode]"},
		{Request{Sort: json.RawMessage(`[{"name":"asc","creation":"desc"}]`)}, "malformed"},
		{Request{Sort: json.RawMessage(`[1]`)}, "malformed"},
		{Request{Sort: json.RawMessage(`[`)}, "failed to parse [sort]"},
		{Request{SearchAfter: []any{"x"}}, "[search_after] requires a [sort]"},
		{Request{Sort: json.RawMessage(`["name"]`), SearchAfter: []any{"x", "y"}}, "search_after has 2 value(s) but sort has 1."},
		{Request{Sort: json.RawMessage(`["creation"]`), SearchAfter: []any{"soon"}}, "failed to parse date"},
		{Request{Sort: json.RawMessage(`["invalidated"]`), SearchAfter: []any{float64(1)}}, "only [true] or [false]"},
		{Request{Sort: json.RawMessage(`["name"]`), SearchAfter: []any{map[string]any{}}}, "not a valid value"},
		{Request{Sort: json.RawMessage(`["name"]`), SearchAfter: []any{"x"}, From: intPtr(1)}, "`from` parameter must be set to 0"},
	}
	for _, tc := range tests {
		q, err := Compile(tc.req)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("query %s sort %s: got %v, %v; want an *Error", tc.req.Query, tc.req.Sort, q, err)
			continue
		}
		if q != nil {
			t.Errorf("query %s: a query was returned with the error", tc.req.Query)
		}
		if !strings.Contains(e.Reason, tc.reason) {
			t.Errorf("query %s sort %s: got %q; want a reason containing %q",
				tc.req.Query, tc.req.Sort, e.Reason, tc.reason)
		}
	}
}

// Thirty nested queries, as indices.query.bool.max_nested_depth, and no more.
func TestDepthLimitAllowsReasonableNesting(t *testing.T) {
	nested := func(bools int) json.RawMessage {
		return json.RawMessage(strings.Repeat(`{"bool":{"must":`, bools) + `{"term":{"username":"bob"}}` + strings.Repeat(`}}`, bools))
	}
	if _, got, _ := run(t, Request{Query: nested(maxDepth - 1)}); !reflect.DeepEqual(got, []string{"k3", "k4"}) {
		t.Errorf("got %v", got)
	}
	if _, err := Compile(Request{Query: nested(maxDepth)}); err == nil {
		t.Errorf("%d nested queries accepted", maxDepth+1)
	}
}

func TestRunIsReusable(t *testing.T) {
	q, err := Compile(Request{Query: json.RawMessage(`{"term":{"metadata.env":"prod"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	docs := testDocs()
	for range 3 {
		if total, page, _ := q.Run(docs); total != 2 || !reflect.DeepEqual(idsOf(page), []string{"k1", "k3"}) {
			t.Fatalf("got %d %v", total, idsOf(page))
		}
	}
	if total, page, sv := q.Run(nil); total != 0 || len(page) != 0 || sv != nil {
		t.Errorf("Run(nil) = %d %v %v", total, page, sv)
	}
}

func TestDateStrings(t *testing.T) {
	ts := time.Date(2024, 5, 6, 7, 8, 9, 10_000_000, time.UTC)
	docs := []Doc{{ID: "a", Creation: ts.UnixMilli()}, {ID: "b", Creation: ts.UnixMilli() + 1}}
	for query, want := range map[string][]string{
		`{"term":{"creation":"2024-05-06T07:08:09.010Z"}}`:              {"a"},
		`{"term":{"creation":"2024-05-06T09:08:09.010+02:00"}}`:         {"a"},
		`{"range":{"creation":{"gt":"2024-05-06T07:08:09.010"}}}`:       {"b"},
		`{"range":{"creation":{"gte":"2024-05-06","lt":"2024-05-07"}}}`: {"a", "b"},
		`{"range":{"creation":{"lt":"2024-05-06"}}}`:                    {},
	} {
		q, err := Compile(Request{Query: json.RawMessage(query)})
		if err != nil {
			t.Errorf("%s: %v", query, err)
			continue
		}
		if _, page, _ := q.Run(docs); !reflect.DeepEqual(idsOf(page), want) {
			t.Errorf("%s: got %v, want %v", query, idsOf(page), want)
		}
	}
}

func FuzzCompile(f *testing.F) {
	f.Add(`{"bool":{"must":[{"term":{"username":"alice"}}],"should":[{"prefix":{"name":"app"}}],"minimum_should_match":"50%"}}`, `["name",{"creation":"desc"}]`, `["a",1]`, 0, 10)
	f.Add(`{"wildcard":{"name":{"value":"a?p*","case_insensitive":true}}}`, `{"expiration":{"order":"asc","missing":"_first"}}`, `[null]`, 0, 3)
	f.Add(`{"range":{"creation":{"gte":"2024-01-01","lt":1700000000000}}}`, `"_doc"`, ``, 2, 2)
	f.Add(`{"simple_query_string":{"query":"app* bob","fields":["name","metadata.*"]}}`, ``, ``, 0, 10)
	f.Add(`{"terms":{"metadata.tags":["a",1,true]}}`, `[{"metadata.tags":"desc"}]`, `["b"]`, 0, 5)
	f.Add(`{"ids":{"values":["k1"]}}`, `[]`, ``, 0, 0)
	f.Fuzz(func(t *testing.T, query, sort, after string, from, size int) {
		req := Request{Query: json.RawMessage(query), Sort: json.RawMessage(sort), From: &from, Size: &size}
		if after != "" {
			_ = json.Unmarshal([]byte(after), &req.SearchAfter)
		}
		q, err := Compile(req)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		total, page, sv := q.Run(testDocs())
		if len(page) > size || len(page) > total || total > 8 {
			t.Fatalf("total %d, %d docs for size %d", total, len(page), size)
		}
		if (sv != nil) != (len(q.sort) > 0) || sv != nil && len(sv) != len(page) {
			t.Fatalf("%d sort values for %d docs", len(sv), len(page))
		}
	})
}
