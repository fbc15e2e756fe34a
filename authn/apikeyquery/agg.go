package apikeyquery

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
)

// Aggregations of query API keys (Elasticsearch 8.13+): terms, range,
// date_range, missing, cardinality, value_count, composite, filter and
// filters over the queryable fields, with sub-aggregations under the
// bucket ones. Limits bound their cost before they run: at most maxAggs
// aggregations nested at most maxAggDepth deep, and at most maxBuckets
// buckets in the whole answer (search.max_buckets), so computing costs at
// most docs x aggregations x values, and the answer at most maxBuckets
// buckets.
const (
	maxAggs     = 100   // aggregations in one request, nested ones included
	maxAggDepth = 8     // levels of sub-aggregations
	maxBuckets  = 65536 // search.max_buckets
	maxRanges   = 1000  // ranges of one range or date_range
)

// agg is one compiled aggregation.
type agg struct {
	name, kind string
	now        int64   // date math counts from it (aggBudget.now)
	budget     *budget // the request's filters spend it (aggBudget.filters)
	field      string
	zero       any // the field's kind
	size       int
	minDocs    int
	order      termsOrder
	ranges     []aggRange
	keyed      bool // buckets as an object by key, not a list
	filter     matcher
	filters    []namedFilter
	named      bool    // filters: named ones, so a listed bucket shows its key
	other      *string // filters: the other bucket's key; nil without one
	sources    []compositeSource
	after      map[string]any
	subs       []*agg
	meta       any // echoed in the answer
}

type termsOrder struct {
	byKey bool
	asc   bool
}

type aggRange struct {
	key      string
	from, to *int64
}

type namedFilter struct {
	key   string
	match matcher
}

type compositeSource struct {
	name, field string
	zero        any
	desc        bool
}

// aggBudget counts what a request's aggregations spend of the limits.
type aggBudget struct {
	aggs int
	// now is what date math in ranges and filters counts from: the
	// request's Now, as in its query.
	now int64
	// filters is what every filter and filters aggregation of the request
	// spends together of a query's limits (clauses, pattern bytes): one
	// budget each let 1,024 filters cost 1,024 queries per key.
	filters budget
}

// bucketKinds may have sub-aggregations; the metric ones may not.
var bucketKinds = []string{"terms", "range", "date_range", "missing", "composite", "filter", "filters"}

// compileAggs reads the aggs object of a request (or of a bucket
// aggregation, at depth > 0).
func compileAggs(v any, depth int, b *aggBudget) ([]*agg, error) {
	o, isObj := v.(map[string]any)
	if !isObj {
		return nil, invalid("Expected [START_OBJECT] under [aggregations], but got a value")
	}
	if depth >= maxAggDepth {
		return nil, invalid("aggregations may not be nested more than [%d] levels deep", maxAggDepth)
	}
	var out []*agg
	for _, name := range slices.Sorted(mapKeys(o)) {
		if b.aggs++; b.aggs > maxAggs {
			return nil, invalid("a query may not have more than [%d] aggregations", maxAggs)
		}
		if !validAggName.MatchString(name) {
			return nil, invalid("Invalid aggregation name [%s]. Aggregation names can contain any character except '[', ']', and '>'", quote(name))
		}
		a, err := compileAgg(name, o[name], depth, b)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

var validAggName = regexp.MustCompile(`^[^\[\]>]+$`)

func mapKeys(o map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range o {
			if !yield(k) {
				return
			}
		}
	}
}

// compileAgg reads one aggregation: its type and body, and its
// sub-aggregations under "aggs" or "aggregations".
func compileAgg(name string, v any, depth int, b *aggBudget) (*agg, error) {
	o, _ := v.(map[string]any)
	var subs any
	kind := ""
	for k, x := range o {
		switch {
		case k == "aggs" || k == "aggregations":
			if subs != nil {
				return nil, invalid("Found two sub aggregation definitions under [%s]", name)
			}
			subs = x
		case k == "meta":
		case kind != "":
			return nil, invalid("Found two aggregation type definitions in [%s]: [%s] and [%s]", name, kind, k)
		default:
			kind = k
		}
	}
	if kind == "" {
		return nil, invalid("Missing definition for aggregation [%s]", name)
	}
	a := &agg{name: name, kind: kind, meta: o["meta"], now: b.now, budget: &b.filters}
	if err := a.compileBody(o[kind]); err != nil {
		return nil, err
	}
	if subs != nil {
		if !slices.Contains(bucketKinds, kind) {
			return nil, invalid("Aggregator [%s] of type [%s] cannot accept sub-aggregations", name, kind)
		}
		var err error
		if a.subs, err = compileAggs(subs, depth+1, b); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func (a *agg) compileBody(body any) error {
	switch a.kind {
	case "terms":
		return a.compileTerms(body)
	case "range", "date_range":
		return a.compileRanges(body)
	case "missing", "cardinality", "value_count":
		o, err := aggOptions(a, body, "field")
		if err == nil {
			err = a.setField(o)
		}
		return err
	case "composite":
		return a.compileComposite(body)
	case "filter":
		m, err := compile(body, 0, a.budget)
		a.filter = m
		return err
	case "filters":
		return a.compileFilters(body)
	}
	return invalid("Unsupported API Keys agg [%s] of type [%s]", a.name, quote(a.kind))
}

// aggOptions reads an aggregation's option object, refusing unknown keys
// (scripts among them).
func aggOptions(a *agg, body any, allowed ...string) (map[string]any, error) {
	o, isObj := body.(map[string]any)
	if !isObj {
		return nil, invalid("Expected [START_OBJECT] under [%s] of aggregation [%s]", a.kind, a.name)
	}
	for k := range o {
		if k == "script" {
			return nil, invalid("Unsupported script value source for [%s] agg", a.name)
		}
		if !slices.Contains(allowed, k) {
			return nil, invalid("[%s] unknown field [%s]", a.kind, quote(k))
		}
	}
	return o, nil
}

// setField takes the aggregation's field, which must be a queryable one.
func (a *agg) setField(o map[string]any) error {
	f, isStr := o["field"].(string)
	if !isStr || f == "" {
		return invalid("Required one of fields [field, script], but none were specified.")
	}
	zero, err := aggFieldKind(f)
	a.field, a.zero = f, zero
	return err
}

func aggFieldKind(f string) (any, error) {
	zero, err := kindOf(f)
	if err != nil {
		return nil, invalid("Field [%s] is not allowed for API Key query or aggregation", quote(f))
	}
	return zero, nil
}

// intOption reads a non-negative integer option with a default and a cap.
func intOption(o map[string]any, key string, def, limit int) (int, error) {
	x, ok := o[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(scalarString(x))
	switch {
	case err != nil || n < 0:
		return 0, invalid("[%s] must be a non-negative integer, found [%s]", key, quote(scalarString(x)))
	case n > limit:
		return 0, invalid("Trying to create too many buckets. Must be less than or equal to: [%d] but was [%d]. This limit can be set by changing the [search.max_buckets] cluster level setting.", limit, n)
	}
	return n, nil
}

func (a *agg) compileTerms(body any) error {
	o, err := aggOptions(a, body, "field", "size", "min_doc_count", "order", "shard_size")
	if err != nil {
		return err
	}
	if err := a.setField(o); err != nil {
		return err
	}
	if a.size, err = intOption(o, "size", 10, maxBuckets); err != nil {
		return err
	}
	if a.size == 0 {
		return invalid("[size] must be greater than 0. Found [0] in [%s]", a.name)
	}
	if a.minDocs, err = intOption(o, "min_doc_count", 1, maxBuckets); err != nil {
		return err
	}
	return a.compileOrder(o["order"])
}

// compileOrder reads a terms order: {"_count"|"_key": "asc"|"desc"};
// the default is by count, descending, ties by key ascending.
func (a *agg) compileOrder(v any) error {
	if v == nil {
		return nil
	}
	key, dir, err := onlyKey(v, "order")
	if err != nil {
		return err
	}
	d, _ := dir.(string)
	if (key != "_count" && key != "_key") || (d != "asc" && d != "desc") {
		return invalid("Invalid terms aggregation order path [%s]", quote(key))
	}
	a.order = termsOrder{byKey: key == "_key", asc: d == "asc"}
	return nil
}

func (a *agg) compileRanges(body any) error {
	o, err := aggOptions(a, body, "field", "ranges", "keyed", "format")
	if err != nil {
		return err
	}
	if err := a.setField(o); err != nil {
		return err
	}
	if _, isDate := a.zero.(int64); !isDate {
		return invalid("Field [%s] of type [keyword] is not supported for aggregation [%s]", a.field, a.kind)
	}
	a.keyed, _ = o["keyed"].(bool)
	list, _ := o["ranges"].([]any)
	if len(list) == 0 {
		return invalid("No [ranges] specified for the [%s] aggregation", a.name)
	}
	if len(list) > maxRanges {
		return invalid("[%s] may not have more than [%d] ranges", a.name, maxRanges)
	}
	for _, x := range list {
		r, err := a.compileRange(x, a.now)
		if err != nil {
			return err
		}
		a.ranges = append(a.ranges, r)
	}
	return nil
}

func (a *agg) compileRange(x any, now int64) (aggRange, error) {
	o, isObj := x.(map[string]any)
	var r aggRange
	if !isObj {
		return r, invalid("[ranges] of [%s] must be objects", a.name)
	}
	for k, v := range o {
		var err error
		switch k {
		case "key":
			r.key, _ = v.(string)
		case "from":
			r.from, err = a.bound(v, now)
		case "to":
			r.to, err = a.bound(v, now)
		default:
			err = invalid("[range] unknown field [%s]", quote(k))
		}
		if err != nil {
			return r, err
		}
	}
	if r.key == "" {
		r.key = rangeEnd(r.from) + "-" + rangeEnd(r.to)
	}
	return r, nil
}

// bound reads a range end on a date field: null is open; epoch millis,
// an ISO date, or date math relative to now ("now", "now-7d", "now+1h").
func (a *agg) bound(v any, now int64) (*int64, error) {
	if v == nil {
		return nil, nil
	}
	if s, isStr := v.(string); isStr && isDateMath(s) {
		ms, err := dateMath(s, now, false)
		return &ms, err
	}
	x, err := convert(int64(0), v)
	if err != nil {
		return nil, err
	}
	ms := x.(int64)
	return &ms, nil
}

// compileFilters reads a filters aggregation as Elasticsearch's
// FiltersAggregationBuilder parses it: named filters (an object, sorted by
// name) or anonymous ones (an array, named by position); "keyed" (default
// true) renders named filters' buckets as an object, else as a list whose
// buckets carry their key; "other_bucket" adds a bucket of the docs no
// filter matches, named "_other_" or "other_bucket_key", which turns it on
// unless other_bucket is false.
func (a *agg) compileFilters(body any) error {
	o, err := a.filtersOptions(body)
	if err != nil {
		return err
	}
	switch fs := o["filters"].(type) {
	case map[string]any:
		a.named = true
		for _, k := range slices.Sorted(mapKeys(fs)) {
			if err := a.addFilter(k, fs[k]); err != nil {
				return err
			}
		}
	case []any:
		for i, q := range fs {
			if err := a.addFilter(strconv.Itoa(i), q); err != nil {
				return err
			}
		}
	}
	if len(a.filters) == 0 {
		return invalid("[filters] cannot be empty.")
	}
	keyed, hasKeyed := o["keyed"].(bool)
	a.keyed = a.named && (keyed || !hasKeyed)
	on, hasOn := o["other_bucket"].(bool)
	key, hasKey := o["other_bucket_key"].(string)
	if on || (hasKey && !hasOn) { // a key asks for the bucket, unless told not to
		a.other = &key
		if !hasKey {
			*a.other = "_other_"
		}
	}
	return nil
}

// filtersOptionTokens are the XContent tokens each option of a filters
// aggregation may start with, as FiltersAggregationBuilder reads them.
var filtersOptionTokens = map[string][]string{
	"filters":          {"START_OBJECT", "START_ARRAY"},
	"other_bucket":     {"VALUE_BOOLEAN"},
	"keyed":            {"VALUE_BOOLEAN"},
	"other_bucket_key": {"VALUE_STRING"},
}

// filtersOptions reads a filters aggregation's options, refusing an
// unknown key, or a known one of another token, with Elasticsearch's
// parsing error.
func (a *agg) filtersOptions(body any) (map[string]any, error) {
	o, isObj := body.(map[string]any)
	if !isObj {
		return nil, invalid("Expected [START_OBJECT] under [%s] of aggregation [%s]", a.kind, a.name)
	}
	for _, k := range slices.Sorted(mapKeys(o)) {
		if tok := tokenName(o[k]); !slices.Contains(filtersOptionTokens[k], tok) {
			return nil, invalid("Unknown key for a %s in [%s]: [%s].", tok, a.name, k)
		}
	}
	return o, nil
}

// tokenName is the XContent token a decoded JSON value starts with.
func tokenName(v any) string {
	switch v.(type) {
	case bool:
		return "VALUE_BOOLEAN"
	case string:
		return "VALUE_STRING"
	case json.Number, float64:
		return "VALUE_NUMBER"
	case map[string]any:
		return "START_OBJECT"
	case []any:
		return "START_ARRAY"
	}
	return "VALUE_NULL"
}

func (a *agg) addFilter(key string, q any) error {
	if len(a.filters) >= maxClauses {
		return invalid("[%s] may not have more than [%d] filters", a.name, maxClauses)
	}
	m, err := compile(q, 0, a.budget)
	a.filters = append(a.filters, namedFilter{key, m})
	return err
}

func (a *agg) compileComposite(body any) error {
	o, err := aggOptions(a, body, "sources", "size", "after")
	if err != nil {
		return err
	}
	if a.size, err = intOption(o, "size", 10, maxBuckets); err != nil {
		return err
	}
	list, _ := o["sources"].([]any)
	if len(list) == 0 || len(list) > maxSort {
		return invalid("Composite [sources] cannot be null or empty")
	}
	for _, x := range list {
		name, def, err := onlyKey(x, "sources")
		if err != nil {
			return err
		}
		s, err := a.compileSource(name, def)
		if err != nil {
			return err
		}
		a.sources = append(a.sources, s)
	}
	if after, ok := o["after"]; ok {
		return a.compileAfter(after)
	}
	return nil
}

func (a *agg) compileSource(name string, def any) (compositeSource, error) {
	typ, body, err := onlyKey(def, "sources")
	if err != nil {
		return compositeSource{}, err
	}
	if typ != "terms" {
		return compositeSource{}, invalid("Unsupported API Keys agg [%s] of type [%s]", quote(name), quote(typ))
	}
	src := &agg{name: name, kind: "terms"}
	o, err := aggOptions(src, body, "field", "order")
	if err == nil {
		err = src.setField(o)
	}
	order, _ := o["order"].(string)
	if err == nil && order != "" && order != "asc" && order != "desc" {
		err = invalid("Unknown order [%s]", quote(order))
	}
	return compositeSource{name: name, field: src.field, zero: src.zero, desc: order == "desc"}, err
}

func (a *agg) compileAfter(v any) error {
	o, isObj := v.(map[string]any)
	if !isObj || len(o) != len(a.sources) {
		return invalid("[after] has %d value(s) but [sources] has %d", len(o), len(a.sources))
	}
	a.after = map[string]any{}
	for _, s := range a.sources {
		x, err := convert(s.zero, o[s.name])
		if err != nil {
			return err
		}
		a.after[s.name] = x
	}
	return nil
}

// parseAggs reads the request's aggs or aggregations, which may not both
// be given.
func parseAggs(req Request) ([]*agg, error) {
	raw, what := req.Aggs, "aggs"
	if len(req.Aggregations) > 0 {
		if len(raw) > 0 {
			return nil, invalid("Found two aggregation definitions: [aggs] and [aggregations]")
		}
		raw, what = req.Aggregations, "aggregations"
	}
	v, err := decode(json.RawMessage(raw), what)
	if err != nil || v == nil {
		return nil, err
	}
	now := req.Now.UnixMilli()
	return compileAggs(v, 0, &aggBudget{now: now, filters: budget{now: now}})
}
