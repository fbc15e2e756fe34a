package authn

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
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

const (
	aqMaxDepth  = 100   // bounds recursion on hostile nested bools
	aqMaxWindow = 10000 // Elasticsearch's index.max_result_window
)

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
			return nil, invalid("[from] parameter cannot be negative, found [%d]", q.from)
		}
	}
	if req.Size != nil {
		if q.size = *req.Size; q.size < 0 {
			return nil, invalid("[size] parameter cannot be negative, found [%d]", q.size)
		}
	}
	// Checked one by one first so that the sum cannot overflow.
	if q.from > aqMaxWindow || q.size > aqMaxWindow || q.from+q.size > aqMaxWindow {
		return nil, invalid("Result window is too large, [from] + [size] must be less than or equal to: [%d] but was [%d]", aqMaxWindow, uint64(q.from)+uint64(q.size))
	}
	v, err := aqDecode(req.Query, "query")
	if err != nil {
		return nil, err
	}
	if m, isObj := v.(map[string]any); v != nil && (!isObj || len(m) > 0) {
		if q.match, err = aqCompile(v, 0); err != nil {
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
		return nil, invalid("[search_after] requires a [sort]")
	case len(req.SearchAfter) != len(q.sort):
		return nil, invalid("search_after has %d value(s) but sort has %d.", len(req.SearchAfter), len(q.sort))
	case q.from != 0:
		return nil, invalid("`from` parameter must be set to 0 when `search_after` is used.")
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
		return nil, invalid("failed to parse [%s]: %v", what, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid("failed to parse [%s]: unexpected data after the value", what)
	}
	return v, nil
}

// aqKindOf returns a zero value of the field's kind, or an error for a
// field the query may not use.
func aqKindOf(f string) (any, error) {
	if strings.Contains(f, "*") {
		return nil, invalid("Field name pattern [%s] is not allowed for API Key query", f)
	}
	if get := aqFields[f]; get != nil {
		return get(&APIKeyDoc{}), nil
	}
	if f == "metadata" || strings.HasPrefix(f, "metadata.") && len(f) > len("metadata.") {
		return "", nil
	}
	return nil, invalid("Field [%s] is not allowed for API Key query", f)
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
		return "", nil, invalid("[%s] malformed, expected an object with exactly one key", t)
	}
	return keys[0], o[keys[0]], nil
}

// aqOptions reads a query's option object, rejecting unknown keys; a bare
// value is the short form and is stored under short.
func aqOptions(t string, body any, short string, allowed ...string) (map[string]any, error) {
	o, isObj := body.(map[string]any)
	if !isObj {
		if short == "" || body == nil {
			return nil, invalid("[%s] query malformed, expected an object", t)
		}
		return map[string]any{short: body}, nil
	}
	for k, x := range o {
		if !slices.Contains(allowed, k) && k != "boost" && k != "_name" {
			return nil, invalid("[%s] query does not support [%s]", t, k)
		}
		if _, isBool := x.(bool); k == "case_insensitive" && !isBool {
			return nil, invalid("[%s] query [case_insensitive] must be a boolean", t)
		}
	}
	return o, nil
}

func aqCompile(v any, depth int) (aqMatcher, error) {
	if depth > aqMaxDepth {
		return nil, invalid("query is nested too deeply: more than [%d] levels", aqMaxDepth)
	}
	t, body, err := aqOne(v, "query")
	if err != nil {
		return nil, err
	}
	switch t {
	case "bool":
		return aqCompileBool(body, depth)
	case "match_all":
		_, err := aqOptions(t, body, "")
		return func(*aqView) bool { return true }, err
	case "ids":
		o, err := aqOptions(t, body, "", "values")
		arr, isArr := o["values"].([]any)
		if err != nil || !isArr {
			return nil, cmp.Or(err, error(invalid("[ids] query requires an array of [values]")))
		}
		return func(v *aqView) bool { return slices.Contains(arr, any(v.doc.ID)) }, nil
	case "exists":
		o, err := aqOptions(t, body, "", "field")
		f, isStr := o["field"].(string)
		if err != nil || !isStr {
			return nil, cmp.Or(err, error(invalid("[exists] query requires a [field] string")))
		}
		return aqAny(f, func(any) bool { return true })
	case "term", "terms", "match", "prefix", "wildcard", "range":
		return aqCompileField(t, body)
	case "simple_query_string":
		return aqCompileSQS(body)
	}
	return nil, invalid("Query type [%s] is not supported for API Key query", t)
}

func aqCompileBool(body any, depth int) (aqMatcher, error) {
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
			m, err := aqCompile(c, depth+1)
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
		return 0, invalid("[minimum_should_match] must be an integer or a percentage, found [%s]", s)
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

func aqCompileField(t string, body any) (aqMatcher, error) {
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
			return nil, invalid("terms query with terms lookup is not supported for API Key query")
		} else if !isArr {
			return nil, invalid("[terms] query requires an array of values for [%s]", f)
		}
		want := make([]any, len(arr))
		for i, a := range arr {
			if want[i], err = aqConvert(zero, a); err != nil {
				return nil, err
			}
		}
		return aqAny(f, func(dv any) bool { return slices.Contains(want, dv) })
	case "range":
		if o, err = aqOptions(t, x, "", "gt", "gte", "lt", "lte", "relation"); err == nil && o["relation"] != nil {
			err = invalid("range query with relation is not supported for API Key query")
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
			err = invalid("[prefix] query does not support [wildcard]")
		} else if _, isKeyword := zero.(string); err == nil && !isKeyword {
			err = invalid("Field [%s] does not support [%s] queries", f, t)
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
		re, err := aqWildcard(s, ci)
		if err != nil {
			return nil, err
		}
		return aqAny(f, func(dv any) bool { return re.MatchString(dv.(string)) })
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
func aqCompileSQS(body any) (aqMatcher, error) {
	o, err := aqOptions("simple_query_string", body, "", "query", "fields", "default_operator", "lenient", "analyze_wildcard")
	text, isStr := o["query"].(string)
	if err != nil || !isStr {
		return nil, cmp.Or(err, error(invalid("[simple_query_string] query requires a [query] string")))
	}
	and := strings.EqualFold(fmt.Sprint(o["default_operator"]), "and")
	if op := o["default_operator"]; op != nil && !and && !strings.EqualFold(fmt.Sprint(op), "or") {
		return nil, invalid("[simple_query_string] [default_operator] must be [and] or [or]")
	}
	names, isArr := o["fields"].([]any)
	if !isArr && o["fields"] != nil {
		return nil, invalid("[simple_query_string] [fields] must be an array of strings")
	}
	if len(names) == 0 {
		names = []any{"name", "username", "realm_name", "metadata.*"}
	}
	var patterns []*regexp.Regexp
	for _, x := range names {
		s, isStr := x.(string)
		if !isStr {
			return nil, invalid("[simple_query_string] [fields] must be an array of strings")
		}
		s, _, _ = strings.Cut(s, "^") // a per-field boost does not change matching
		re, err := aqWildcard(strings.ReplaceAll(s, "?", `\?`), false)
		if err != nil {
			return nil, err
		}
		patterns = append(patterns, re)
	}
	terms := strings.Fields(text)
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
			return !slices.ContainsFunc(patterns, func(re *regexp.Regexp) bool { return re.MatchString(f) })
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
			err = invalid("[sort] of [%s] supports only order [asc|desc] and missing [_first|_last]", k.field)
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
		return nil, invalid("[%v] is not a valid value for a query or search_after", x)
	}
	s := aqScalarString(x)
	switch zero.(type) {
	case string:
		return s, nil
	case bool:
		if b, err := strconv.ParseBool(s); err == nil && (s == "true" || s == "false") {
			return b, nil
		}
		return nil, invalid("Failed to parse value [%v] as only [true] or [false] are allowed.", x)
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
	return nil, invalid("failed to parse date field [%s] with format [strict_date_optional_time||epoch_millis]", s)
}

// aqWildcard compiles * and ? (backslash escaping) to an anchored RE2
// regexp, whose linear-time matching is safe on hostile patterns.
func aqWildcard(p string, ci bool) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("(?s)^")
	if ci {
		b.WriteString("(?i)")
	}
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '\\':
			if i+1 < len(p) {
				i++
			}
			fallthrough
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	re, err := regexp.Compile(b.String() + "$")
	if err != nil {
		return nil, invalid("wildcard pattern [%s] is too complex: %v", p, err)
	}
	return re, nil
}
