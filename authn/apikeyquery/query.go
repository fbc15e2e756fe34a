package apikeyquery

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"time"
)

// Doc is one API key as the query sees it. Zero times mean absent;
// so does an empty string in the top-level string fields.
type Doc struct {
	ID           string
	Name         string
	Username     string // query field "username"
	Realm        string // query field "realm_name"
	Type         string // "rest"
	Creation     int64  // epoch millis; query field "creation"
	Expiration   int64  // epoch millis, 0 = never; query field "expiration"
	Invalidated  bool   // query field "invalidated"
	Invalidation int64  // epoch millis, 0 = absent; query field "invalidation"
	LastUsed     int64  // epoch millis, 0 = never used; query field "last_used"
	// Metadata is queried as "metadata.<path>" (dotted paths into nested
	// objects) or as "metadata" (any leaf). Values come from encoding/json.
	Metadata map[string]any
}

// Request is the body of POST /_security/_query/api_key.
type Request struct {
	Query       json.RawMessage `json:"query,omitempty"`
	From        *int            `json:"from,omitempty"`
	Size        *int            `json:"size,omitempty"`
	Sort        json.RawMessage `json:"sort,omitempty"`
	SearchAfter []any           `json:"search_after,omitempty"`
	// Now is what date math ("now-90d") counts from; zero means the
	// clock's now.
	Now time.Time `json:"-"`
	// Aggs and Aggregations are the same thing under its two names (agg.go).
	Aggs         json.RawMessage `json:"aggs,omitempty"`
	Aggregations json.RawMessage `json:"aggregations,omitempty"`
	// TypedKeys is the typed_keys query parameter.
	TypedKeys bool `json:"-"`
}

// Query is a compiled query; Run may be called concurrently.
type Query struct {
	match      matcher
	from, size int
	sort       []sortKey
	after      []any // nil unless search_after was given
	aggs       []*agg
}

// Compile validates and compiles a request; errors are *Error.
func Compile(req Request) (*Query, error) {
	q := &Query{size: 10, match: func(*view) bool { return true }}
	if req.Now.IsZero() {
		req.Now = time.Now()
	}
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
	if q.from > maxWindow || q.size > maxWindow || q.from+q.size > maxWindow {
		return nil, invalid("Result window is too large, [from] + [size] must be less than or equal to: [%d] but was [%d]", maxWindow, uint64(q.from)+uint64(q.size))
	}
	v, err := decode(req.Query, "query")
	if err != nil {
		return nil, err
	}
	if m, isObj := v.(map[string]any); v != nil && (!isObj || len(m) > 0) {
		if q.match, err = compile(v, 0, &budget{now: req.Now.UnixMilli()}); err != nil {
			return nil, err
		}
	}
	if q.sort, err = parseSort(req.Sort); err != nil {
		return nil, err
	}
	if q.aggs, err = parseAggs(req); err != nil {
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
		if q.after[i], err = convert(q.sort[i].zero, x); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// Run filters docs, sorts, and pages. total is the number of matches before
// paging (and, as in Elasticsearch, before search_after); sortValues[i] are
// the "_sort" values of page[i], or nil when the request had no sort.
func (q *Query) Run(docs []Doc) (total int, page []Doc, sortValues [][]any) {
	type hit struct {
		i   int
		key []any
	}
	var hits []hit
	for i := range docs {
		v := &view{doc: &docs[i], idx: i}
		if !q.match(v) {
			continue
		}
		h := hit{i: i}
		for _, k := range q.sort {
			h.key = append(h.key, sortValue(v, k))
		}
		hits = append(hits, h)
	}
	total = len(hits)
	if len(q.sort) > 0 {
		slices.SortStableFunc(hits, func(a, b hit) int { return compareKeys(a.key, b.key, q.sort) })
		if q.after != nil {
			hits = slices.DeleteFunc(hits, func(h hit) bool { return compareKeys(h.key, q.after, q.sort) <= 0 })
		}
		sortValues = [][]any{}
	}
	start := min(q.from, len(hits))
	page = []Doc{}
	for _, h := range hits[start:min(start+q.size, len(hits))] {
		page = append(page, docs[h.i])
		if len(q.sort) > 0 {
			sortValues = append(sortValues, h.key)
		}
	}
	return total, page, sortValues
}

// decode keeps numbers as json.Number so that epoch millis stay exact.
func decode(raw json.RawMessage, what string) (any, error) {
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
