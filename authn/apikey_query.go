package authn

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// APIKeyDoc is one API key as the query sees it. Zero times mean absent;
// so does an empty string in the top-level string fields.
type APIKeyDoc struct {
	ID           string
	Name         string
	Username     string // query field "username"
	Realm        string // query field "realm_name"
	Type         string // "rest"
	Creation     int64  // epoch millis; query field "creation"
	Expiration   int64  // epoch millis, 0 = never; query field "expiration"
	Invalidated  bool   // query field "invalidated"
	Invalidation int64  // epoch millis, 0 = absent; query field "invalidation"
	// Metadata is queried as "metadata.<path>" (dotted paths into nested
	// objects) or as "metadata" (any leaf). Values come from encoding/json.
	Metadata map[string]any
}

// APIKeyQueryRequest is the body of POST /_security/_query/api_key.
type APIKeyQueryRequest struct {
	Query       json.RawMessage `json:"query,omitempty"`
	From        *int            `json:"from,omitempty"`
	Size        *int            `json:"size,omitempty"`
	Sort        json.RawMessage `json:"sort,omitempty"`
	SearchAfter []any           `json:"search_after,omitempty"`
}

// APIKeyQuery is a compiled query; Run may be called concurrently.
type APIKeyQuery struct {
	match      aqMatcher
	from, size int
	sort       []aqSortKey
	after      []any // nil unless search_after was given
}

// Limits on a query's size, so its cost is bounded before it runs: with
// them matching costs at most docs x (clauses + terms + pattern bytes x
// value bytes), never more. Elasticsearch's counterparts are named.
const (
	aqMaxDepth   = 30    // indices.query.bool.max_nested_depth (8.x default)
	aqMaxWindow  = 10000 // index.max_result_window, for from + size
	aqMaxClauses = 1024  // indices.query.bool.max_clause_count (8.x floor), leaf queries
	aqMaxTerms   = 65536 // index.max_terms_count, values of one terms or ids query
	// aqMaxPattern bounds one wildcard pattern, as index.max_regex_length
	// (1000) bounds a regexp; aqMaxPatterns all of a query's together.
	aqMaxPattern  = 1000
	aqMaxPatterns = 10 * aqMaxPattern
	aqMaxSort     = 32  // sort keys (Elasticsearch has no limit; there are nine fields)
	aqMaxShown    = 256 // bytes of a request's input quoted in an error
)

// aqBudget counts what a query spends of the limits while it compiles.
type aqBudget struct{ clauses, patternBytes int }

func (b *aqBudget) clause(n int) error {
	if b.clauses += n; b.clauses > aqMaxClauses {
		return invalid("Query contains too many nested clauses; maxClauseCount is set to %d", aqMaxClauses)
	}
	return nil
}

// aqShort quotes at most aqMaxShown bytes of a request's input.
func aqShort(s string) string {
	if len(s) <= aqMaxShown {
		return s
	}
	return strings.ToValidUTF8(s[:aqMaxShown], "") + "..."
}

// aqInvalid is invalid with every argument that is not a number shortened:
// a field name or value in an error is the caller's input, of any size.
func aqInvalid(format string, a ...any) *Error {
	for i, x := range a {
		switch x.(type) {
		case int, int64, uint64:
		default:
			a[i] = aqShort(fmt.Sprint(x))
		}
	}
	return invalid(format, a...)
}

// aqFields are the queryable fields besides metadata. A field's Go type
// is its kind: string is keyword, int64 is date (0 absent), bool is boolean.
var aqFields = map[string]func(*APIKeyDoc) any{
	"name":         func(d *APIKeyDoc) any { return d.Name },
	"username":     func(d *APIKeyDoc) any { return d.Username },
	"realm_name":   func(d *APIKeyDoc) any { return d.Realm },
	"type":         func(d *APIKeyDoc) any { return d.Type },
	"creation":     func(d *APIKeyDoc) any { return d.Creation },
	"expiration":   func(d *APIKeyDoc) any { return d.Expiration },
	"invalidation": func(d *APIKeyDoc) any { return d.Invalidation },
	"invalidated":  func(d *APIKeyDoc) any { return d.Invalidated },
}

type aqMatcher func(*aqView) bool

// aqView carries a doc through matching so metadata is flattened once.
type aqView struct {
	doc  *APIKeyDoc
	idx  int
	meta [][2]string // dotted key, value
	flat bool
}

type aqSortKey struct {
	field              string
	zero               any // the field's kind, as for aqConvert
	desc, missingFirst bool
}

// CompileAPIKeyQuery validates and compiles a request; errors are *Error
// of kind Invalid (illegal_argument_exception).
func CompileAPIKeyQuery(req APIKeyQueryRequest) (*APIKeyQuery, error) {
	q := &APIKeyQuery{size: 10, match: func(*aqView) bool { return true }}
	if req.From != nil {
		if q.from = *req.From; q.from < 0 {
			return nil, aqInvalid("[from] parameter cannot be negative, found [%d]", q.from)
		}
	}
	if req.Size != nil {
		if q.size = *req.Size; q.size < 0 {
			return nil, aqInvalid("[size] parameter cannot be negative, found [%d]", q.size)
		}
	}
	// Checked one by one first so that the sum cannot overflow.
	if q.from > aqMaxWindow || q.size > aqMaxWindow || q.from+q.size > aqMaxWindow {
		return nil, aqInvalid("Result window is too large, [from] + [size] must be less than or equal to: [%d] but was [%d]", aqMaxWindow, uint64(q.from)+uint64(q.size))
	}
	v, err := aqDecode(req.Query, "query")
	if err != nil {
		return nil, err
	}
	if m, isObj := v.(map[string]any); v != nil && (!isObj || len(m) > 0) {
		if q.match, err = aqCompile(v, 0, &aqBudget{}); err != nil {
			return nil, err
		}
	}
	if q.sort, err = aqParseSort(req.Sort); err != nil {
		return nil, err
	}
	switch {
	case req.SearchAfter == nil:
		return q, nil
	case len(q.sort) == 0:
		return nil, aqInvalid("[search_after] requires a [sort]")
	case len(req.SearchAfter) != len(q.sort):
		return nil, aqInvalid("search_after has %d value(s) but sort has %d.", len(req.SearchAfter), len(q.sort))
	case q.from != 0:
		return nil, aqInvalid("`from` parameter must be set to 0 when `search_after` is used.")
	}
	q.after = make([]any, len(q.sort))
	for i, x := range req.SearchAfter {
		if x == nil {
			continue // a missing value, which _sort reports as null
		}
		if q.after[i], err = aqConvert(q.sort[i].zero, x); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// Run filters docs, sorts, and pages. total is the number of matches before
// paging (and, as in Elasticsearch, before search_after); sortValues[i] are
// the "_sort" values of page[i], or nil when the request had no sort.
func (q *APIKeyQuery) Run(docs []APIKeyDoc) (total int, page []APIKeyDoc, sortValues [][]any) {
	type hit struct {
		i   int
		key []any
	}
	var hits []hit
	for i := range docs {
		v := &aqView{doc: &docs[i], idx: i}
		if !q.match(v) {
			continue
		}
		h := hit{i: i}
		for _, k := range q.sort {
			h.key = append(h.key, aqSortValue(v, k))
		}
		hits = append(hits, h)
	}
	total = len(hits)
	if len(q.sort) > 0 {
		slices.SortStableFunc(hits, func(a, b hit) int { return aqCompareKeys(a.key, b.key, q.sort) })
		if q.after != nil {
			hits = slices.DeleteFunc(hits, func(h hit) bool { return aqCompareKeys(h.key, q.after, q.sort) <= 0 })
		}
		sortValues = [][]any{}
	}
	start := min(q.from, len(hits))
	page = []APIKeyDoc{}
	for _, h := range hits[start:min(start+q.size, len(hits))] {
		page = append(page, docs[h.i])
		if len(q.sort) > 0 {
			sortValues = append(sortValues, h.key)
		}
	}
	return total, page, sortValues
}

// aqDecode keeps numbers as json.Number so that epoch millis stay exact.
func aqDecode(raw json.RawMessage, what string) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, aqInvalid("failed to parse [%s]: %v", what, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, aqInvalid("failed to parse [%s]: unexpected data after the value", what)
	}
	return v, nil
}

// aqKindOf returns a zero value of the field's kind, or an error for a
// field the query may not use.
func aqKindOf(f string) (any, error) {
	if strings.Contains(f, "*") {
		return nil, aqInvalid("Field name pattern [%s] is not allowed for API Key query", f)
	}
	if get := aqFields[f]; get != nil {
		return get(&APIKeyDoc{}), nil
	}
	if f == "metadata" || strings.HasPrefix(f, "metadata.") && len(f) > len("metadata.") {
		return "", nil
	}
	return nil, aqInvalid("Field [%s] is not allowed for API Key query", f)
}

// aqOne returns the only key of an object; Go maps lose JSON key order, so
// objects that Elasticsearch reads as ordered lists must have one key.
func aqOne(body any, t string, ignore ...string) (string, any, error) {
	o, _ := body.(map[string]any)
	var keys []string
	for k := range o {
		if !slices.Contains(ignore, k) {
			keys = append(keys, k)
		}
	}
	if len(keys) != 1 {
		return "", nil, aqInvalid("[%s] malformed, expected an object with exactly one key", t)
	}
	return keys[0], o[keys[0]], nil
}

// aqOptions reads a query's option object, rejecting unknown keys; a bare
// value is the short form and is stored under short.
func aqOptions(t string, body any, short string, allowed ...string) (map[string]any, error) {
	o, isObj := body.(map[string]any)
	if !isObj {
		if short == "" || body == nil {
			return nil, aqInvalid("[%s] query malformed, expected an object", t)
		}
		return map[string]any{short: body}, nil
	}
	for k, x := range o {
		if !slices.Contains(allowed, k) && k != "boost" && k != "_name" {
			return nil, aqInvalid("[%s] query does not support [%s]", t, k)
		}
		if _, isBool := x.(bool); k == "case_insensitive" && !isBool {
			return nil, aqInvalid("[%s] query [case_insensitive] must be a boolean", t)
		}
	}
	return o, nil
}

func aqCompile(v any, depth int, b *aqBudget) (aqMatcher, error) {
	if depth >= aqMaxDepth {
		return nil, aqInvalid("The nested depth of the query exceeds the maximum nested depth for queries set in [indices.query.bool.max_nested_depth]")
	}
	t, body, err := aqOne(v, "query")
	if err != nil {
		return nil, err
	}
	if t == "bool" {
		return aqCompileBool(body, depth, b)
	}
	if err := b.clause(1); err != nil {
		return nil, err
	}
	switch t {
	case "match_all":
		_, err := aqOptions(t, body, "")
		return func(*aqView) bool { return true }, err
	case "ids":
		o, err := aqOptions(t, body, "", "values")
		arr, isArr := o["values"].([]any)
		if err != nil || !isArr {
			return nil, cmp.Or(err, error(aqInvalid("[ids] query requires an array of [values]")))
		}
		if len(arr) > aqMaxTerms {
			return nil, aqTooManyTerms(len(arr))
		}
		ids := make(map[string]struct{}, len(arr))
		for _, x := range arr {
			if id, isStr := x.(string); isStr {
				ids[id] = struct{}{}
			}
		}
		return func(v *aqView) bool { _, ok := ids[v.doc.ID]; return ok }, nil
	case "exists":
		o, err := aqOptions(t, body, "", "field")
		f, isStr := o["field"].(string)
		if err != nil || !isStr {
			return nil, cmp.Or(err, error(aqInvalid("[exists] query requires a [field] string")))
		}
		return aqAny(f, func(any) bool { return true })
	case "term", "terms", "match", "prefix", "wildcard", "range":
		return aqCompileField(t, body, b)
	case "simple_query_string":
		return aqCompileSQS(body, b)
	}
	return nil, aqInvalid("Query type [%s] is not supported for API Key query", t)
}

// aqTooManyTerms is index.max_terms_count's error.
func aqTooManyTerms(n int) error {
	return aqInvalid("The number of terms [%d] used in the Terms Query request has exceeded the allowed maximum of [%d]. "+
		"This maximum can be set by changing the [index.max_terms_count] index level setting.", n, aqMaxTerms)
}

func aqCompileBool(body any, depth int, b *aqBudget) (aqMatcher, error) {
	o, err := aqOptions("bool", body, "", "must", "filter", "should", "must_not", "minimum_should_match", "adjust_pure_negative")
	if err != nil {
		return nil, err
	}
	var must, should, mustNot []aqMatcher
	for occur, dst := range map[string]*[]aqMatcher{"must": &must, "filter": &must, "should": &should, "must_not": &mustNot} {
		list, isList := o[occur].([]any)
		if !isList && o[occur] != nil {
			list = []any{o[occur]}
		}
		for _, c := range list {
			m, err := aqCompile(c, depth+1, b)
			if err != nil {
				return nil, err
			}
			*dst = append(*dst, m)
		}
	}
	msm := 0
	if len(should) > 0 && len(must) == 0 {
		msm = 1 // a bool of only should (and must_not) must match one
	}
	if spec, ok := o["minimum_should_match"]; ok {
		if msm, err = aqMinShouldMatch(spec, len(should)); err != nil {
			return nil, err
		}
	}
	return func(v *aqView) bool {
		if slices.ContainsFunc(must, func(m aqMatcher) bool { return !m(v) }) ||
			slices.ContainsFunc(mustNot, func(m aqMatcher) bool { return m(v) }) {
			return false
		}
		n := 0
		for i := 0; i < len(should) && n < msm; i++ {
			if should[i](v) {
				n++
			}
		}
		return n >= msm
	}, nil
}

// aqMinShouldMatch follows Elasticsearch's calculateMinShouldMatch for the
// integer and percentage forms, a negative one meaning "all but".
func aqMinShouldMatch(spec any, n int) (int, error) {
	s := strings.TrimSpace(fmt.Sprint(spec))
	k, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
	if _, isBool := spec.(bool); err != nil || isBool || k > 1e6 || k < -1e6 {
		return 0, aqInvalid("[minimum_should_match] must be an integer or a percentage, found [%s]", s)
	}
	if strings.HasSuffix(s, "%") {
		k = n * k / 100
	}
	if k < 0 {
		k += n
	}
	return max(k, 0), nil
}

// aqAny matches docs where any value of field f satisfies pred, which is
// how Elasticsearch treats multi-valued (metadata) fields.
func aqAny(f string, pred func(any) bool) (aqMatcher, error) {
	if _, err := aqKindOf(f); err != nil {
		return nil, err
	}
	return func(v *aqView) bool { return slices.ContainsFunc(aqValues(v, f), pred) }, nil
}

func aqCompileField(t string, body any, b *aqBudget) (aqMatcher, error) {
	f, x, err := aqOne(body, t, "boost", "_name")
	if err != nil {
		return nil, err
	}
	zero, err := aqKindOf(f)
	if err != nil {
		return nil, err
	}
	var o map[string]any
	switch t {
	case "terms":
		arr, isArr := x.([]any)
		if _, isObj := x.(map[string]any); isObj {
			return nil, aqInvalid("terms query with terms lookup is not supported for API Key query")
		} else if !isArr {
			return nil, aqInvalid("[terms] query requires an array of values for [%s]", f)
		}
		if len(arr) > aqMaxTerms {
			return nil, aqTooManyTerms(len(arr))
		}
		// A set: a long list costs one lookup per value, not a scan.
		want := make(map[any]struct{}, len(arr))
		for _, a := range arr {
			w, err := aqConvert(zero, a)
			if err != nil {
				return nil, err
			}
			want[w] = struct{}{}
		}
		return aqAny(f, func(dv any) bool { _, ok := want[dv]; return ok })
	case "range":
		if o, err = aqOptions(t, x, "", "gt", "gte", "lt", "lte", "relation"); err == nil && o["relation"] != nil {
			err = aqInvalid("range query with relation is not supported for API Key query")
		}
		return aqCompileRange(f, zero, o, err)
	case "match":
		if o, err = aqOptions(t, x, "query", "query"); err == nil {
			o["value"] = o["query"]
		}
	case "term":
		o, err = aqOptions(t, x, "value", "value", "case_insensitive")
	default: // prefix, wildcard
		if o, err = aqOptions(t, x, "value", "value", "wildcard", "case_insensitive", "rewrite"); err == nil && t == "prefix" && o["wildcard"] != nil {
			err = aqInvalid("[prefix] query does not support [wildcard]")
		} else if _, isKeyword := zero.(string); err == nil && !isKeyword {
			err = aqInvalid("Field [%s] does not support [%s] queries", f, t)
		}
	}
	if err != nil {
		return nil, err
	}
	want, err := aqConvert(zero, cmp.Or(o["value"], o["wildcard"]))
	if err != nil {
		return nil, err
	}
	s, isKeyword := want.(string)
	if !isKeyword {
		return aqAny(f, func(dv any) bool { return dv == want })
	}
	ci, _ := o["case_insensitive"].(bool)
	if t == "wildcard" {
		p, err := aqWildcard(s, ci, b)
		if err != nil {
			return nil, err
		}
		return aqAny(f, func(dv any) bool { return p.match(dv.(string)) })
	}
	fold := func(s string) string { return s }
	if ci {
		fold = strings.ToLower
	}
	s = fold(s)
	return aqAny(f, func(dv any) bool {
		d := fold(dv.(string))
		return d == s || t == "prefix" && strings.HasPrefix(d, s)
	})
}

func aqCompileRange(f string, zero any, o map[string]any, err error) (aqMatcher, error) {
	bounds := map[string]any{}
	for _, op := range []string{"gt", "gte", "lt", "lte"} {
		if err == nil && o[op] != nil { // null is an open end in Elasticsearch
			bounds[op], err = aqConvert(zero, o[op])
		}
	}
	if err != nil {
		return nil, err
	}
	return aqAny(f, func(dv any) bool {
		for op, b := range bounds {
			c := aqCompareValues(dv, b)
			if op == "gt" && c <= 0 || op == "gte" && c < 0 || op == "lt" && c >= 0 || op == "lte" && c > 0 {
				return false
			}
		}
		return true
	})
}

// aqCompileSQS is a deliberately small simple_query_string: whitespace
// separated terms, a trailing * making a prefix, no other operators.
// Field names that are not allowed match nothing rather than fail, as in ES.
func aqCompileSQS(body any, b *aqBudget) (aqMatcher, error) {
	o, err := aqOptions("simple_query_string", body, "", "query", "fields", "default_operator", "lenient", "analyze_wildcard")
	text, isStr := o["query"].(string)
	if err != nil || !isStr {
		return nil, cmp.Or(err, error(aqInvalid("[simple_query_string] query requires a [query] string")))
	}
	and := strings.EqualFold(fmt.Sprint(o["default_operator"]), "and")
	if op := o["default_operator"]; op != nil && !and && !strings.EqualFold(fmt.Sprint(op), "or") {
		return nil, aqInvalid("[simple_query_string] [default_operator] must be [and] or [or]")
	}
	names, isArr := o["fields"].([]any)
	if !isArr && o["fields"] != nil {
		return nil, aqInvalid("[simple_query_string] [fields] must be an array of strings")
	}
	if len(names) == 0 {
		names = []any{"name", "username", "realm_name", "metadata.*"}
	}
	// Each term is a clause on each field, as Elasticsearch expands it.
	terms := strings.Fields(text)
	if len(terms) > aqMaxClauses || len(names) > aqMaxClauses {
		return nil, b.clause(aqMaxClauses + 1)
	}
	if err := b.clause(len(terms) * len(names)); err != nil {
		return nil, err
	}
	var patterns []*aqPattern
	for _, x := range names {
		s, isStr := x.(string)
		if !isStr {
			return nil, aqInvalid("[simple_query_string] [fields] must be an array of strings")
		}
		s, _, _ = strings.Cut(s, "^") // a per-field boost does not change matching
		p, err := aqWildcard(strings.ReplaceAll(s, "?", `\?`), false, b)
		if err != nil {
			return nil, err
		}
		patterns = append(patterns, p)
	}
	return func(v *aqView) bool {
		// Patterns are resolved per doc, since metadata keys differ per doc.
		var fields []string
		for f := range aqFields {
			fields = append(fields, f)
		}
		fields = append(fields, "metadata")
		for _, l := range aqMeta(v) {
			fields = append(fields, "metadata."+l[0])
		}
		fields = slices.DeleteFunc(fields, func(f string) bool {
			return !slices.ContainsFunc(patterns, func(p *aqPattern) bool { return p.match(f) })
		})
		for _, term := range terms {
			if hit := aqSQSTerm(v, fields, term); hit != and {
				return hit // the first hit decides OR, the first miss AND
			}
		}
		return and && len(terms) > 0
	}, nil
}

func aqSQSTerm(v *aqView, fields []string, term string) bool {
	prefix, isPrefix := strings.CutSuffix(term, "*")
	for _, f := range fields {
		zero, _ := aqKindOf(f)
		_, isKeyword := zero.(string)
		want, err := aqConvert(zero, term)
		if err != nil || isPrefix && !isKeyword {
			continue // lenient: the term cannot be of this field's kind
		}
		if slices.ContainsFunc(aqValues(v, f), func(dv any) bool {
			return dv == want || isPrefix && strings.HasPrefix(dv.(string), prefix)
		}) {
			return true
		}
	}
	return false
}

func aqParseSort(raw json.RawMessage) ([]aqSortKey, error) {
	v, err := aqDecode(raw, "sort")
	items, isList := v.([]any)
	if !isList && v != nil {
		items = []any{v}
	}
	if len(items) > aqMaxSort {
		return nil, aqInvalid("[sort] has %d keys, more than the limit of [%d]", len(items), aqMaxSort)
	}
	var keys []aqSortKey
	for _, it := range items {
		var k aqSortKey
		var spec any = "asc"
		if s, isStr := it.(string); isStr {
			k.field = s
		} else if k.field, spec, err = aqOne(it, "sort"); err != nil {
			return nil, err
		}
		if k.zero = int64(0); k.field != "_doc" { // _doc sorts by input position
			if k.zero, err = aqKindOf(k.field); err != nil {
				return nil, err
			}
		}
		o, err := aqOptions("sort", spec, "order", "order", "missing")
		order := strings.ToLower(fmt.Sprint(cmp.Or(o["order"], any("asc"))))
		missing := cmp.Or(o["missing"], any("_last"))
		if err == nil && (order != "asc" && order != "desc" || missing != "_last" && missing != "_first") {
			err = aqInvalid("[sort] of [%s] supports only order [asc|desc] and missing [_first|_last]", k.field)
		}
		if err != nil {
			return nil, err
		}
		k.desc, k.missingFirst = order == "desc", missing == "_first"
		keys = append(keys, k)
	}
	return keys, err
}

// aqSortValue picks the least value ascending and the greatest descending,
// Elasticsearch's default mode for multi-valued (metadata) fields.
func aqSortValue(v *aqView, k aqSortKey) any {
	var best any
	for _, x := range aqValues(v, k.field) {
		if c := aqCompareValues(x, best); best == nil || c != 0 && (c < 0) != k.desc {
			best = x
		}
	}
	return best
}

func aqCompareKeys(a, b []any, keys []aqSortKey) int {
	for i, k := range keys {
		c := 0
		switch {
		case a[i] == nil && b[i] == nil:
		case a[i] == nil || b[i] == nil:
			// Missing values go last (or first) whatever the order.
			if c = 1; (a[i] == nil) == k.missingFirst {
				c = -1
			}
		default:
			if c = aqCompareValues(a[i], b[i]); k.desc {
				c = -c
			}
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// aqCompareValues orders two values of one kind; query values are always
// converted to the field's kind first. Booleans order false before true.
func aqCompareValues(a, b any) int {
	if x, isInt := a.(int64); isInt {
		y, _ := b.(int64)
		return cmp.Compare(x, y)
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

// aqValues returns a field's values: string (keyword), int64 (date, _doc)
// or bool.
func aqValues(v *aqView, f string) []any {
	if f == "_doc" {
		return []any{int64(v.idx)}
	}
	if get := aqFields[f]; get != nil {
		if x := get(v.doc); x != "" && x != int64(0) {
			return []any{x}
		}
		return nil
	}
	key, sub := strings.CutPrefix(f, "metadata.")
	var out []any
	for _, l := range aqMeta(v) {
		if !sub || l[0] == key {
			out = append(out, l[1])
		}
	}
	return out
}

// aqMeta flattens metadata like Elasticsearch's flattened field type: each
// leaf, including array elements, is a keyword under its dotted path.
func aqMeta(v *aqView) [][2]string {
	if !v.flat {
		v.flat, v.meta = true, aqFlatten("", v.doc.Metadata, nil)
	}
	return v.meta
}

func aqFlatten(prefix string, x any, out [][2]string) [][2]string {
	switch x := x.(type) {
	case map[string]any:
		for k, c := range x {
			if prefix != "" {
				k = prefix + "." + k
			}
			out = aqFlatten(k, c, out)
		}
	case []any:
		for _, c := range x {
			out = aqFlatten(prefix, c, out)
		}
	case nil:
	default:
		if prefix != "" {
			out = append(out, [2]string{prefix, aqScalarString(x)})
		}
	}
	return out
}

// aqScalarString renders numbers one way on both sides, so that metadata
// 42 matches a query 42, 42.0 or "42".
func aqScalarString(x any) string {
	switch n := x.(type) {
	case json.Number:
		if f, err := n.Float64(); err == nil {
			return strconv.FormatFloat(f, 'f', -1, 64)
		}
	case float64:
		return strconv.FormatFloat(n, 'f', -1, 64)
	}
	return fmt.Sprint(x)
}

// aqConvert turns a query or search_after value into the kind of zero.
func aqConvert(zero any, x any) (any, error) {
	switch x.(type) {
	case string, bool, json.Number, float64, int, int64:
	default:
		return nil, aqInvalid("[%v] is not a valid value for a query or search_after", x)
	}
	s := aqScalarString(x)
	switch zero.(type) {
	case string:
		return s, nil
	case bool:
		if b, err := strconv.ParseBool(s); err == nil && (s == "true" || s == "false") {
			return b, nil
		}
		return nil, aqInvalid("Failed to parse value [%v] as only [true] or [false] are allowed.", x)
	}
	// Dates: epoch millis, as a number or a string, or ISO-8601 as with
	// the default format strict_date_optional_time||epoch_millis.
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && math.Abs(f) < 9e18 {
		return int64(f), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return nil, aqInvalid("failed to parse date field [%s] with format [strict_date_optional_time||epoch_millis]", s)
}

// aqPattern is a compiled wildcard: * matches any run of characters, ?
// exactly one, a backslash escapes the next character.
type aqPattern struct {
	toks []aqTok
	ci   bool
}

type aqTok struct {
	r         rune
	any, star bool
}

// aqWildcard compiles a wildcard pattern within the query's budget, so a
// pattern's size, and with it the cost of matching, is bounded.
func aqWildcard(p string, ci bool, b *aqBudget) (*aqPattern, error) {
	if len(p) > aqMaxPattern {
		return nil, aqInvalid("The length of wildcard pattern [%d] used in the query has exceeded the allowed maximum of [%d].", len(p), aqMaxPattern)
	}
	if b.patternBytes += len(p); b.patternBytes > aqMaxPatterns {
		return nil, aqInvalid("The wildcard patterns of the query are [%d] bytes together, more than the allowed maximum of [%d].", b.patternBytes, aqMaxPatterns)
	}
	out := &aqPattern{ci: ci}
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRuneInString(p[i:])
		i += size
		switch {
		case r == '*' && len(out.toks) > 0 && out.toks[len(out.toks)-1].star:
			// ** is *: collapsing them keeps matching linear in the stars.
		case r == '*':
			out.toks = append(out.toks, aqTok{star: true})
		case r == '?':
			out.toks = append(out.toks, aqTok{any: true})
		case r == '\\' && i < len(p):
			r, size = utf8.DecodeRuneInString(p[i:])
			i += size
			fallthrough
		default:
			out.toks = append(out.toks, aqTok{r: r})
		}
	}
	return out, nil
}

// match is the greedy wildcard match: on a mismatch the last * takes one
// more character and matching resumes after it. It never recurses and
// costs at most len(pattern) x len(s) steps.
func (p *aqPattern) match(s string) bool {
	ti, si := 0, 0
	starTi, starSi := -1, 0
	for si < len(s) {
		r, size := utf8.DecodeRuneInString(s[si:])
		if ti < len(p.toks) {
			if t := p.toks[ti]; t.star {
				starTi, starSi = ti, si
				ti++
				continue
			} else if t.any || p.same(t.r, r) {
				ti, si = ti+1, si+size
				continue
			}
		}
		if starTi < 0 {
			return false
		}
		_, size = utf8.DecodeRuneInString(s[starSi:])
		starSi += size
		ti, si = starTi+1, starSi
	}
	for ti < len(p.toks) && p.toks[ti].star {
		ti++
	}
	return ti == len(p.toks)
}

func (p *aqPattern) same(a, b rune) bool {
	return a == b || p.ci && (unicode.ToLower(a) == unicode.ToLower(b) || unicode.ToUpper(a) == unicode.ToUpper(b))
}
