package apikeyquery

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func runAggs(t *testing.T, query, aggs string, typed bool) (string, error) {
	t.Helper()
	q, err := Compile(Request{Query: json.RawMessage(query), Aggs: json.RawMessage(aggs), TypedKeys: typed})
	if err != nil {
		return "", err
	}
	res, err := q.Aggregate(testDocs(), typed)
	if err != nil {
		return "", err
	}
	b, _ := json.Marshal(res)
	return string(b), nil
}

func TestAggregations(t *testing.T) {
	d5 := "1970-01-01T00:00:05.000Z"
	for _, tc := range []struct {
		name, query, aggs string
		typed             bool
		want              string
	}{
		{"terms with size", "", `{"by_user":{"terms":{"field":"username","size":2}}}`, false,
			`{"by_user":{"buckets":[{"doc_count":3,"key":"alice"},{"doc_count":2,"key":"bob"}],"doc_count_error_upper_bound":0,"sum_other_doc_count":3}}`},
		{"typed keys", "", `{"by_user":{"terms":{"field":"username","size":1}}}`, true,
			`{"sterms#by_user":{"buckets":[{"doc_count":3,"key":"alice"}],"doc_count_error_upper_bound":0,"sum_other_doc_count":5}}`},
		{"terms by key desc under a query", `{"term":{"username":"alice"}}`, `{"r":{"terms":{"field":"realm_name","order":{"_key":"desc"}}}}`, false,
			`{"r":{"buckets":[{"doc_count":2,"key":"native1"},{"doc_count":1,"key":"ldap1"}],"doc_count_error_upper_bound":0,"sum_other_doc_count":0}}`},
		{"terms on a boolean", "", `{"inv":{"terms":{"field":"invalidated"}}}`, true,
			`{"lterms#inv":{"buckets":[{"doc_count":6,"key":0,"key_as_string":"false"},{"doc_count":2,"key":1,"key_as_string":"true"}],"doc_count_error_upper_bound":0,"sum_other_doc_count":0}}`},
		{"terms on a date", `{"ids":{"values":["k3"]}}`, `{"c":{"terms":{"field":"creation"}}}`, false,
			`{"c":{"buckets":[{"doc_count":1,"key":3000,"key_as_string":"1970-01-01T00:00:03.000Z"}],"doc_count_error_upper_bound":0,"sum_other_doc_count":0}}`},
		{"date_range", "", `{"exp":{"date_range":{"field":"expiration","ranges":[{"to":5000},{"from":5000}]}}}`, true,
			`{"date_range#exp":{"buckets":[{"doc_count":1,"key":"*-` + d5 + `","to":5000.0,"to_as_string":"` + d5 + `"},{"doc_count":3,"from":5000.0,"from_as_string":"` + d5 + `","key":"` + d5 + `-*"}]}}`},
		// A keyed bucket has no "key": its name is the key.
		{"keyed range", "", `{"cr":{"range":{"field":"creation","keyed":true,"ranges":[{"key":"early","to":3000},{"from":3000}]}}}`, false,
			`{"cr":{"buckets":{"1970-01-01T00:00:03.000Z-*":{"doc_count":5,"from":3000.0,"from_as_string":"1970-01-01T00:00:03.000Z"},"early":{"doc_count":3,"to":3000.0,"to_as_string":"1970-01-01T00:00:03.000Z"}}}}`},
		{"keyed date_range at a date of today's size", "", `{"d":{"date_range":{"field":"creation","keyed":true,"ranges":[{"from":"2024-01-01T00:00:00Z"}]}}}`, false,
			`{"d":{"buckets":{"2024-01-01T00:00:00.000Z-*":{"doc_count":0,"from":1.7040672E12,"from_as_string":"2024-01-01T00:00:00.000Z"}}}}`},
		{"meta is echoed", "", `{"m":{"missing":{"field":"expiration"},"meta":{"k":"v"}}}`, false, `{"m":{"doc_count":4,"meta":{"k":"v"}}}`},
		{"missing, value_count, cardinality", "", `{"m":{"missing":{"field":"expiration"}},"v":{"value_count":{"field":"metadata.tags"}},"c":{"cardinality":{"field":"realm_name"}}}`, true,
			`{"cardinality#c":{"value":3},"missing#m":{"doc_count":4},"value_count#v":{"value":3}}`},
		{"filter with a sub-aggregation", "", `{"f":{"filter":{"term":{"invalidated":true}},"aggs":{"u":{"terms":{"field":"username"}}}}}`, false,
			`{"f":{"doc_count":2,"u":{"buckets":[{"doc_count":1,"key":"alice"},{"doc_count":1,"key":"bob"}],"doc_count_error_upper_bound":0,"sum_other_doc_count":0}}}`},
		{"keyed filters", "", `{"env":{"filters":{"filters":{"prod":{"term":{"metadata.env":"prod"}},"dev":{"term":{"metadata.env":"dev"}}}}}}`, false,
			`{"env":{"buckets":{"dev":{"doc_count":1},"prod":{"doc_count":2}}}}`},
		// FiltersAggregationBuilder's options, rendered as InternalFilters
		// does: the other bucket last, also in an object.
		{"keyed filters with the other bucket", "", `{"env":{"filters":{"other_bucket":true,"filters":{"prod":{"term":{"metadata.env":"prod"}},"dev":{"term":{"metadata.env":"dev"}}}}}}`, false,
			`{"env":{"buckets":{"dev":{"doc_count":1},"prod":{"doc_count":2},"_other_":{"doc_count":5}}}}`},
		{"named filters listed, other_bucket_key implies the bucket", "", `{"env":{"filters":{"keyed":false,"other_bucket_key":"none","filters":{"prod":{"term":{"metadata.env":"prod"}},"dev":{"term":{"metadata.env":"dev"}}}}}}`, false,
			`{"env":{"buckets":[{"doc_count":1,"key":"dev"},{"doc_count":2,"key":"prod"},{"doc_count":5,"key":"none"}]}}`},
		{"anonymous filters overlap; other counts docs in none", "", `{"f":{"filters":{"other_bucket":true,"filters":[{"term":{"username":"alice"}},{"term":{"metadata.env":"prod"}}]}}}`, true,
			`{"filters#f":{"buckets":[{"doc_count":3},{"doc_count":2},{"doc_count":4}]}}`},
		{"anonymous filters are a list whatever keyed says", "", `{"f":{"filters":{"keyed":true,"filters":[{"term":{"username":"alice"}}]}}}`, false,
			`{"f":{"buckets":[{"doc_count":3}]}}`},
		{"other_bucket false wins over a key", "", `{"f":{"filters":{"other_bucket":false,"other_bucket_key":"x","filters":{"a":{"term":{"username":"alice"}}}}}}`, false,
			`{"f":{"buckets":{"a":{"doc_count":3}}}}`},
		{"the other bucket's sub-aggregations, under a query", `{"bool":{"must_not":{"term":{"username":"erin"}}}}`, `{"env":{"filters":{"other_bucket_key":"rest","filters":{"prod":{"term":{"metadata.env":"prod"}}}},"aggs":{"u":{"cardinality":{"field":"username"}}}}}`, true,
			`{"filters#env":{"buckets":{"prod":{"cardinality#u":{"value":2},"doc_count":2},"rest":{"cardinality#u":{"value":4},"doc_count":5}}}}`},
		{"composite first page", "", `{"c":{"composite":{"size":2,"sources":[{"u":{"terms":{"field":"username"}}}]}}}`, false,
			`{"c":{"after_key":{"u":"bob"},"buckets":[{"doc_count":3,"key":{"u":"alice"}},{"doc_count":2,"key":{"u":"bob"}}]}}`},
		{"composite after", "", `{"c":{"composite":{"size":2,"after":{"u":"bob"},"sources":[{"u":{"terms":{"field":"username"}}}]}}}`, true,
			`{"composite#c":{"after_key":{"u":"dave"},"buckets":[{"doc_count":1,"key":{"u":"carol"}},{"doc_count":1,"key":{"u":"dave"}}]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runAggs(t, tc.query, tc.aggs, tc.typed)
			if err != nil || got != tc.want {
				t.Fatalf("got %s, %v\nwant %s", got, err, tc.want)
			}
		})
	}
}

func TestAggregationErrors(t *testing.T) {
	deep := `{"terms":{"field":"username"}}`
	for i := 0; i < maxAggDepth+1; i++ {
		deep = `{"terms":{"field":"username"},"aggs":{"x":` + deep + `}}`
	}
	for aggs, want := range map[string]string{
		`{"a":{"avg":{"field":"creation"}}}`:                                     "Unsupported API Keys agg [a] of type [avg]",
		`{"a":{"terms":{"field":"creator.principal"}}}`:                          "Field [creator.principal] is not allowed for API Key query or aggregation",
		`{"a":{"terms":{"script":"doc['x']"}}}`:                                  "Unsupported script value source for [a] agg",
		`{"a":{"range":{"field":"name","ranges":[{"to":1}]}}}`:                   "of type [keyword] is not supported for aggregation [range]",
		`{"a":{"terms":{"field":"name","size":70000}}}`:                          "Trying to create too many buckets",
		`{"a":{"value_count":{"field":"name"},"aggs":{"b":` + deep + `}}}`:       "cannot accept sub-aggregations",
		`{"a":` + deep + `}`:                                                     "nested more than",
		`{"a":{}}`:                                                               "Missing definition for aggregation [a]",
		`{"a":{"terms":{"field":"name"},"range":{}}}`:                            "Found two aggregation type definitions",
		`{"a":{"composite":{"sources":[{"d":{"date_histogram":{}}}]}}}`:          "Unsupported API Keys agg [d] of type [date_histogram]",
		`{"a":{"filters":{"other_bucket":"true","filters":[{"match_all":{}}]}}}`: "Unknown key for a VALUE_STRING in [a]: [other_bucket].",
		`{"a":{"filters":{"keyed":1,"filters":[{"match_all":{}}]}}}`:             "Unknown key for a VALUE_NUMBER in [a]: [keyed].",
		`{"a":{"filters":{"other_bucket_key":null,"filters":{}}}}`:               "Unknown key for a VALUE_NULL in [a]: [other_bucket_key].",
		`{"a":{"filters":{"filter":[{"match_all":{}}]}}}`:                        "Unknown key for a START_ARRAY in [a]: [filter].",
		`{"a":{"filters":{"filters":"x"}}}`:                                      "Unknown key for a VALUE_STRING in [a]: [filters].",
		`{"a":{"filters":{"filters":[]}}}`:                                       "[filters] cannot be empty.",
		`{"a":{"filters":{"other_bucket":true}}}`:                                "[filters] cannot be empty.",
	} {
		_, err := runAggs(t, "", aggs, false)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", aggs, err, want)
		}
	}
	if _, err := Compile(Request{Aggs: json.RawMessage(`{}`), Aggregations: json.RawMessage(`{}`)}); err == nil {
		t.Error("aggs and aggregations together were accepted")
	}
}

// Elasticsearch writes doubles as Java's Double.toString does.
func TestFormatJavaDouble(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0.0", 1: "1.0", 5000: "5000.0", 0.001: "0.001", 0.5: "0.5", 1234.5: "1234.5", 9999999: "9999999.0",
		1e7: "1.0E7", 12345678: "1.2345678E7", 1.4436576e12: "1.4436576E12", 1704067200000: "1.7040672E12",
		1704067200123: "1.704067200123E12", 0.0001: "1.0E-4", -5000: "-5000.0", -1.5e12: "-1.5E12", 1e23: "1.0E23",
	} {
		if got := formatJavaDouble(f); got != want {
			t.Errorf("%v: %s, want %s", f, got, want)
		}
	}
}

// Date math in aggregations counts from the request's now, as the query's
// does: "now-6s" at 10 s is 4 s, in a filter, in filters and in a range.
func TestAggregationDateMathCountsFromNow(t *testing.T) {
	run := func(aggs string) string {
		t.Helper()
		q, err := Compile(Request{Aggs: json.RawMessage(aggs), Now: time.UnixMilli(10_000)})
		if err != nil {
			t.Fatal(err)
		}
		res, err := q.Aggregate(testDocs(), false)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res)
		return string(b)
	}
	for _, tc := range []struct{ math, fixed string }{
		{`{"a":{"filter":{"range":{"creation":{"gte":"now-6s"}}}}}`, `{"a":{"filter":{"range":{"creation":{"gte":4000}}}}}`},
		{`{"a":{"filters":{"filters":[{"range":{"creation":{"lt":"now-6s"}}}]}}}`, `{"a":{"filters":{"filters":[{"range":{"creation":{"lt":4000}}}]}}}`},
		{`{"a":{"range":{"field":"creation","ranges":[{"from":"now-6s"}]}}}`, `{"a":{"range":{"field":"creation","ranges":[{"from":4000}]}}}`},
	} {
		got, want := run(tc.math), run(tc.fixed)
		if got != want {
			t.Errorf("%s:\n got %s\nwant %s", tc.math, got, want)
		}
		if strings.Contains(want, `"doc_count":0`) || strings.Contains(want, `"doc_count":8`) {
			t.Errorf("%s: the fixed form counts every doc or none (%s): the test proves nothing", tc.fixed, want)
		}
	}
}
