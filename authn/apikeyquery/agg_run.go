package apikeyquery

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// HasAggs reports whether the request asked for aggregations.
func (q *Query) HasAggs() bool { return q.aggs != nil }

// Aggregate computes the request's aggregations over the docs the query
// matches, as Elasticsearch's "aggregations" object; typedKeys prefixes
// each name with its result type ("sterms#by_user"). It returns nil when
// the request had none.
func (q *Query) Aggregate(docs []Doc, typedKeys bool) (map[string]any, error) {
	if q.aggs == nil {
		return nil, nil
	}
	views := make([]view, len(docs))
	var matched []*view
	for i := range docs {
		views[i] = view{doc: &docs[i], idx: i}
		if v := &views[i]; q.match(v) {
			matched = append(matched, v)
		}
	}
	r := &aggRun{typed: typedKeys}
	return r.all(q.aggs, matched)
}

// aggRun counts the buckets of one answer against maxBuckets.
type aggRun struct {
	typed   bool
	buckets int
}

func (r *aggRun) bucket(n int) error {
	if r.buckets += n; r.buckets > maxBuckets {
		return invalid("Trying to create too many buckets. Must be less than or equal to: [%d] but was [%d]. This limit can be set by changing the [search.max_buckets] cluster level setting.", maxBuckets, r.buckets)
	}
	return nil
}

func (r *aggRun) all(aggs []*agg, vs []*view) (map[string]any, error) {
	out := make(map[string]any, len(aggs))
	for _, a := range aggs {
		res, typ, err := r.one(a, vs)
		if err != nil {
			return nil, err
		}
		if a.meta != nil {
			res["meta"] = a.meta
		}
		name := a.name
		if r.typed {
			name = typ + "#" + name
		}
		out[name] = res
	}
	return out, nil
}

func (r *aggRun) one(a *agg, vs []*view) (map[string]any, string, error) {
	switch a.kind {
	case "terms":
		return r.terms(a, vs)
	case "range", "date_range":
		res, err := r.ranges(a, vs)
		return res, a.kind, err
	case "composite":
		res, err := r.composite(a, vs)
		return res, "composite", err
	case "filters":
		res, err := r.filtersAgg(a, vs)
		return res, "filters", err
	case "value_count", "cardinality":
		seen, n := map[any]bool{}, 0
		for _, v := range vs {
			for _, x := range values(v, a.field) {
				seen[x], n = true, n+1
			}
		}
		if a.kind == "cardinality" {
			n = len(seen)
		}
		return map[string]any{"value": n}, a.kind, nil
	}
	// missing and filter: one bucket of the docs that pass.
	var in []*view
	for _, v := range vs {
		if a.kind == "missing" && len(values(v, a.field)) == 0 || a.kind == "filter" && a.filter(v) {
			in = append(in, v)
		}
	}
	res, err := r.single(a, in)
	return res, a.kind, err
}

// single is a one-bucket result with its sub-aggregations.
func (r *aggRun) single(a *agg, in []*view) (map[string]any, error) {
	res := map[string]any{"doc_count": len(in)}
	return res, r.subs(a, in, res)
}

// subs adds a bucket's sub-aggregations to it.
func (r *aggRun) subs(a *agg, in []*view, bucket map[string]any) error {
	if len(a.subs) == 0 {
		return nil
	}
	sub, err := r.all(a.subs, in)
	maps.Copy(bucket, sub)
	return err
}

// distinctValues are a doc's values of a field, each once.
func distinctValues(v *view, f string) []any {
	if get := fieldGetters[f]; get != nil {
		// One value at most: spare values' slice for the fixed fields.
		if x := get(v.doc); x != "" && x != int64(0) {
			return []any{x}
		}
		return nil
	}
	vals := values(v, f)
	if len(vals) < 2 {
		return vals
	}
	out := vals[:0:0]
	for _, x := range vals {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

type termBucket struct {
	key  any
	docs []*view
	n    int
}

func (r *aggRun) terms(a *agg, vs []*view) (map[string]any, string, error) {
	byKey := map[any]*termBucket{}
	add := func(v *view, x any) {
		b := byKey[x]
		if b == nil {
			b = &termBucket{key: x}
			byKey[x] = b
		}
		b.n++
		if len(a.subs) > 0 {
			b.docs = append(b.docs, v)
		}
	}
	get := fieldGetters[a.field]
	for _, v := range vs {
		if get != nil {
			if x := get(v.doc); x != "" && x != int64(0) {
				add(v, x)
			}
			continue
		}
		for _, x := range distinctValues(v, a.field) {
			add(v, x)
		}
	}
	list := slices.Collect(maps.Values(byKey))
	slices.SortFunc(list, func(x, y *termBucket) int { return a.order.compare(x, y) })
	list = slices.DeleteFunc(list, func(b *termBucket) bool { return b.n < a.minDocs })
	other := 0
	if len(list) > a.size {
		for _, b := range list[a.size:] {
			other += b.n
		}
		list = list[:a.size]
	}
	if err := r.bucket(len(list)); err != nil {
		return nil, "", err
	}
	buckets := make([]any, 0, len(list))
	for _, b := range list {
		out := keyFields(b.key)
		out["doc_count"] = b.n
		if err := r.subs(a, b.docs, out); err != nil {
			return nil, "", err
		}
		buckets = append(buckets, out)
	}
	typ := "sterms"
	if _, isString := a.zero.(string); !isString {
		typ = "lterms"
	}
	return map[string]any{"doc_count_error_upper_bound": 0, "sum_other_doc_count": other, "buckets": buckets}, typ, nil
}

func (o termsOrder) compare(x, y *termBucket) int {
	byKey := compareValues(x.key, y.key)
	if o.byKey {
		if o.asc {
			return byKey
		}
		return -byKey
	}
	byCount := cmp.Compare(y.n, x.n)
	if o.asc {
		byCount = -byCount
	}
	return cmp.Or(byCount, byKey)
}

// keyFields renders a bucket key as Elasticsearch does for the field's
// kind: keywords as strings, dates as millis with key_as_string, booleans
// as 1/0 with "true"/"false".
func keyFields(k any) map[string]any {
	switch x := k.(type) {
	case int64:
		return map[string]any{"key": x, "key_as_string": formatDate(x)}
	case bool:
		n := 0
		if x {
			n = 1
		}
		return map[string]any{"key": n, "key_as_string": fmt.Sprint(x)}
	}
	return map[string]any{"key": k}
}

// formatDate is strict_date_optional_time as Elasticsearch prints it.
func formatDate(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

func rangeEnd(ms *int64) string {
	if ms == nil {
		return "*"
	}
	return formatDate(*ms)
}

func (r *aggRun) ranges(a *agg, vs []*view) (map[string]any, error) {
	if err := r.bucket(len(a.ranges)); err != nil {
		return nil, err
	}
	var list []any
	keyed := map[string]any{}
	date, fixed := dateGetters[a.field]
	for _, rg := range a.ranges {
		var in []*view
		for _, v := range vs {
			if fixed {
				if x := date(v.doc); x != 0 && rg.contains(x) {
					in = append(in, v)
				}
			} else if slices.ContainsFunc(values(v, a.field), rg.contains) {
				in = append(in, v)
			}
		}
		b := rangeBucket(rg, len(in), a.keyed)
		if err := r.subs(a, in, b); err != nil {
			return nil, err
		}
		list, keyed[rg.key] = append(list, b), b
	}
	if a.keyed {
		return map[string]any{"buckets": keyed}, nil
	}
	return map[string]any{"buckets": list}, nil
}

// rangeBucket is one bucket of a range or date_range, as Elasticsearch's
// InternalRange.Bucket writes it: the ends as doubles with their dates
// (every field a range may name is a date), and the key only in a list,
// since a keyed bucket's key is its name in the buckets object.
func rangeBucket(rg aggRange, docCount int, keyed bool) map[string]any {
	b := map[string]any{"doc_count": docCount}
	if !keyed {
		b["key"] = rg.key
	}
	if rg.from != nil {
		b["from"], b["from_as_string"] = javaDouble(*rg.from), formatDate(*rg.from)
	}
	if rg.to != nil {
		b["to"], b["to_as_string"] = javaDouble(*rg.to), formatDate(*rg.to)
	}
	return b
}

// javaDouble is a number written as Java's Double.toString writes it,
// which is how Elasticsearch's JSON (Jackson) writes a double: 5000.0,
// 1.7040672E12. Clients that compare the text see Elasticsearch's.
type javaDouble float64

func (d javaDouble) MarshalJSON() ([]byte, error) {
	return []byte(formatJavaDouble(float64(d))), nil
}

// formatJavaDouble spells a finite double as Java does: the shortest
// digits that read back as it; plain with at least one decimal between
// 10^-3 and 10^7, else one digit, a point, the rest (at least one) and
// "E" with the exponent.
func formatJavaDouble(f float64) string {
	sign := ""
	if math.Signbit(f) {
		sign, f = "-", -f
	}
	if f == 0 {
		return sign + "0.0"
	}
	mant, e, _ := strings.Cut(strconv.FormatFloat(f, 'e', -1, 64), "e")
	exp, _ := strconv.Atoi(e)
	digits := strings.Replace(mant, ".", "", 1)
	if f < 1e-3 || f >= 1e7 {
		frac := cmp.Or(digits[1:], "0")
		return sign + digits[:1] + "." + frac + "E" + strconv.Itoa(exp)
	}
	if exp < 0 {
		return sign + "0." + strings.Repeat("0", -exp-1) + digits
	}
	if len(digits) <= exp+1 {
		return sign + digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
	}
	return sign + digits[:exp+1] + "." + digits[exp+1:]
}

// dateGetters read the date fields without boxing them; 0 is absent.
var dateGetters = map[string]func(*Doc) int64{
	"creation":     func(d *Doc) int64 { return d.Creation },
	"expiration":   func(d *Doc) int64 { return d.Expiration },
	"invalidation": func(d *Doc) int64 { return d.Invalidation },
}

func (rg aggRange) contains(x any) bool {
	ms, _ := x.(int64)
	return (rg.from == nil || ms >= *rg.from) && (rg.to == nil || ms < *rg.to)
}

// filtersAgg is a filters aggregation as Elasticsearch's InternalFilters
// renders it: named filters' buckets as an object by name (keyed) or as a
// list whose buckets carry their key; anonymous filters' as a list without
// keys. The other bucket, last, holds the docs no filter matches.
func (r *aggRun) filtersAgg(a *agg, vs []*view) (map[string]any, error) {
	n := len(a.filters)
	if a.other != nil {
		n++
	}
	if err := r.bucket(n); err != nil {
		return nil, err
	}
	buckets := make(orderedBuckets, 0, n)
	var rest []*view
	ins := make([][]*view, len(a.filters))
	for _, v := range vs {
		matched := false
		for i, f := range a.filters {
			if f.match(v) {
				ins[i], matched = append(ins[i], v), true
			}
		}
		if !matched {
			rest = append(rest, v)
		}
	}
	for i, f := range a.filters {
		b, err := r.filtersBucket(a, f.key, ins[i])
		if err != nil {
			return nil, err
		}
		buckets = append(buckets, b)
	}
	if a.other != nil {
		b, err := r.filtersBucket(a, *a.other, rest)
		if err != nil {
			return nil, err
		}
		buckets = append(buckets, b)
	}
	if a.keyed {
		return map[string]any{"buckets": buckets}, nil
	}
	return map[string]any{"buckets": buckets.list()}, nil
}

// filtersBucket is one bucket of a filters aggregation; a listed bucket of
// named filters carries its key.
func (r *aggRun) filtersBucket(a *agg, key string, in []*view) (namedBucket, error) {
	b, err := r.single(a, in)
	if a.named && !a.keyed {
		b["key"] = key
	}
	return namedBucket{key, b}, err
}

type namedBucket struct {
	key    string
	bucket map[string]any
}

// orderedBuckets is a keyed aggregation's buckets object, written in the
// buckets' order as Elasticsearch writes it (the other bucket last), not
// sorted as a map would be.
type orderedBuckets []namedBucket

func (o orderedBuckets) MarshalJSON() ([]byte, error) {
	out := []byte{'{'}
	for i, b := range o {
		if i > 0 {
			out = append(out, ',')
		}
		k, err := json.Marshal(b.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(b.bucket)
		if err != nil {
			return nil, err
		}
		out = append(append(append(out, k...), ':'), v...)
	}
	return append(out, '}'), nil
}

func (o orderedBuckets) list() []any {
	out := make([]any, len(o))
	for i, b := range o {
		out[i] = b.bucket
	}
	return out
}

// maxCompositeKeysPerDoc bounds the keys one doc adds to a composite
// aggregation (the product of its values' counts over the sources).
const maxCompositeKeysPerDoc = 1024

func (r *aggRun) composite(a *agg, vs []*view) (map[string]any, error) {
	groups := map[string]*compositeBucket{}
	for _, v := range vs {
		keys := [][]any{{}}
		for _, s := range a.sources {
			vals := distinctValues(v, s.field)
			if len(keys)*len(vals) > maxCompositeKeysPerDoc {
				return nil, invalid("a key has more than [%d] composite values", maxCompositeKeysPerDoc)
			}
			var next [][]any
			for _, k := range keys {
				for _, x := range vals {
					next = append(next, append(slices.Clip(k), x))
				}
			}
			keys = next
		}
		for _, k := range keys {
			id := fmt.Sprintf("%#v", k)
			if groups[id] == nil {
				groups[id] = &compositeBucket{key: k}
			}
			groups[id].docs = append(groups[id].docs, v)
		}
	}
	list := slices.Collect(maps.Values(groups))
	slices.SortFunc(list, func(x, y *compositeBucket) int { return a.compareComposite(x.key, y.key) })
	if a.after != nil {
		after := make([]any, len(a.sources))
		for i, s := range a.sources {
			after[i] = a.after[s.name]
		}
		list = slices.DeleteFunc(list, func(b *compositeBucket) bool { return a.compareComposite(b.key, after) <= 0 })
	}
	list = list[:min(len(list), a.size)]
	return r.compositeAnswer(a, list)
}

type compositeBucket struct {
	key  []any
	docs []*view
}

func (a *agg) compareComposite(x, y []any) int {
	for i, s := range a.sources {
		c := compareValues(x[i], y[i])
		if s.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func (r *aggRun) compositeAnswer(a *agg, list []*compositeBucket) (map[string]any, error) {
	if err := r.bucket(len(list)); err != nil {
		return nil, err
	}
	buckets := make([]any, 0, len(list))
	var last map[string]any
	for _, b := range list {
		key := map[string]any{}
		for i, s := range a.sources {
			key[s.name] = b.key[i]
		}
		out := map[string]any{"key": key, "doc_count": len(b.docs)}
		if err := r.subs(a, b.docs, out); err != nil {
			return nil, err
		}
		buckets, last = append(buckets, out), key
	}
	res := map[string]any{"buckets": buckets}
	if last != nil {
		res["after_key"] = last
	}
	return res, nil
}
