package apikeyquery

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// fieldGetters are the queryable fields besides metadata. A field's Go type
// is its kind: string is keyword, int64 is date (0 absent), bool is boolean.
var fieldGetters = map[string]func(*Doc) any{
	"name":         func(d *Doc) any { return d.Name },
	"username":     func(d *Doc) any { return d.Username },
	"realm_name":   func(d *Doc) any { return d.Realm },
	"type":         func(d *Doc) any { return d.Type },
	"creation":     func(d *Doc) any { return d.Creation },
	"expiration":   func(d *Doc) any { return d.Expiration },
	"invalidation": func(d *Doc) any { return d.Invalidation },
	"invalidated":  func(d *Doc) any { return d.Invalidated },
	"last_used":    func(d *Doc) any { return d.LastUsed },
}

// kindOf returns a zero value of the field's kind, or an error for a
// field the query may not use.
func kindOf(f string) (any, error) {
	if strings.Contains(f, "*") {
		return nil, invalid("Field name pattern [%s] is not allowed for API Key query", f)
	}
	if get := fieldGetters[f]; get != nil {
		return get(&Doc{}), nil
	}
	if f == "metadata" || strings.HasPrefix(f, "metadata.") && len(f) > len("metadata.") {
		return "", nil
	}
	return nil, invalid("Field [%s] is not allowed for API Key query", f)
}

// onlyKey returns the only key of an object; Go maps lose JSON key order, so
// objects that Elasticsearch reads as ordered lists must have one key.
func onlyKey(body any, t string, ignore ...string) (string, any, error) {
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

// options reads a query's option object, rejecting unknown keys; a bare
// value is the short form and is stored under short.
func options(t string, body any, short string, allowed ...string) (map[string]any, error) {
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

func compile(v any, depth int, b *budget) (matcher, error) {
	if depth >= maxDepth {
		return nil, invalid("The nested depth of the query exceeds the maximum nested depth for queries set in [indices.query.bool.max_nested_depth]")
	}
	t, body, err := onlyKey(v, "query")
	if err != nil {
		return nil, err
	}
	if t == "bool" {
		return compileBool(body, depth, b)
	}
	if err := b.clause(1); err != nil {
		return nil, err
	}
	switch t {
	case "match_all":
		_, err := options(t, body, "")
		return func(*view) bool { return true }, err
	case "ids":
		o, err := options(t, body, "", "values")
		arr, isArr := o["values"].([]any)
		if err != nil || !isArr {
			return nil, cmp.Or(err, error(invalid("[ids] query requires an array of [values]")))
		}
		if len(arr) > maxTerms {
			return nil, tooManyTerms(len(arr))
		}
		ids := make(map[string]struct{}, len(arr))
		for _, x := range arr {
			if id, isStr := x.(string); isStr {
				ids[id] = struct{}{}
			}
		}
		return func(v *view) bool { _, ok := ids[v.doc.ID]; return ok }, nil
	case "exists":
		o, err := options(t, body, "", "field")
		f, isStr := o["field"].(string)
		if err != nil || !isStr {
			return nil, cmp.Or(err, error(invalid("[exists] query requires a [field] string")))
		}
		return anyValue(f, func(any) bool { return true })
	case "term", "terms", "match", "prefix", "wildcard", "range":
		return compileField(t, body, b)
	case "simple_query_string":
		return compileSQS(body, b)
	}
	return nil, invalid("Query type [%s] is not supported for API Key query", t)
}

func compileBool(body any, depth int, b *budget) (matcher, error) {
	o, err := options("bool", body, "", "must", "filter", "should", "must_not", "minimum_should_match", "adjust_pure_negative")
	if err != nil {
		return nil, err
	}
	var must, should, mustNot []matcher
	for occur, dst := range map[string]*[]matcher{"must": &must, "filter": &must, "should": &should, "must_not": &mustNot} {
		list, isList := o[occur].([]any)
		if !isList && o[occur] != nil {
			list = []any{o[occur]}
		}
		for _, c := range list {
			m, err := compile(c, depth+1, b)
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
		if msm, err = minShouldMatch(spec, len(should)); err != nil {
			return nil, err
		}
	}
	return func(v *view) bool {
		if slices.ContainsFunc(must, func(m matcher) bool { return !m(v) }) ||
			slices.ContainsFunc(mustNot, func(m matcher) bool { return m(v) }) {
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

// minShouldMatch follows Elasticsearch's calculateMinShouldMatch for the
// integer and percentage forms, a negative one meaning "all but".
func minShouldMatch(spec any, n int) (int, error) {
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

func compileField(t string, body any, b *budget) (matcher, error) {
	f, x, err := onlyKey(body, t, "boost", "_name")
	if err != nil {
		return nil, err
	}
	zero, err := kindOf(f)
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
		if len(arr) > maxTerms {
			return nil, tooManyTerms(len(arr))
		}
		// A set: a long list costs one lookup per value, not a scan.
		want := make(map[any]struct{}, len(arr))
		for _, a := range arr {
			w, err := convertAt(zero, a, b.now, false)
			if err != nil {
				return nil, err
			}
			want[w] = struct{}{}
		}
		return anyValue(f, func(dv any) bool { _, ok := want[dv]; return ok })
	case "range":
		if o, err = options(t, x, "", "gt", "gte", "lt", "lte", "relation"); err == nil && o["relation"] != nil {
			err = invalid("range query with relation is not supported for API Key query")
		}
		return compileRange(f, zero, o, b.now, err)
	case "match":
		if o, err = options(t, x, "query", "query"); err == nil {
			o["value"] = o["query"]
		}
	case "term":
		o, err = options(t, x, "value", "value", "case_insensitive")
	default: // prefix, wildcard
		if o, err = options(t, x, "value", "value", "wildcard", "case_insensitive", "rewrite"); err == nil && t == "prefix" && o["wildcard"] != nil {
			err = invalid("[prefix] query does not support [wildcard]")
		} else if _, isKeyword := zero.(string); err == nil && !isKeyword {
			err = invalid("Field [%s] does not support [%s] queries", f, t)
		}
	}
	if err != nil {
		return nil, err
	}
	want, err := convertAt(zero, cmp.Or(o["value"], o["wildcard"]), b.now, false)
	if err != nil {
		return nil, err
	}
	s, isKeyword := want.(string)
	if !isKeyword {
		return anyValue(f, func(dv any) bool { return dv == want })
	}
	ci, _ := o["case_insensitive"].(bool)
	if t == "wildcard" {
		p, err := compileWildcard(s, ci, b)
		if err != nil {
			return nil, err
		}
		return anyValue(f, func(dv any) bool { return p.match(dv.(string)) })
	}
	fold := func(s string) string { return s }
	if ci {
		fold = strings.ToLower
	}
	s = fold(s)
	return anyValue(f, func(dv any) bool {
		d := fold(dv.(string))
		return d == s || t == "prefix" && strings.HasPrefix(d, s)
	})
}

func compileRange(f string, zero any, o map[string]any, now int64, err error) (matcher, error) {
	bounds := map[string]any{}
	for _, op := range []string{"gt", "gte", "lt", "lte"} {
		if err == nil && o[op] != nil { // null is an open end in Elasticsearch
			bounds[op], err = convertAt(zero, o[op], now, op == "gt" || op == "lte")
		}
	}
	if err != nil {
		return nil, err
	}
	return anyValue(f, func(dv any) bool {
		for op, b := range bounds {
			c := compareValues(dv, b)
			if op == "gt" && c <= 0 || op == "gte" && c < 0 || op == "lt" && c >= 0 || op == "lte" && c > 0 {
				return false
			}
		}
		return true
	})
}

// compileSQS is a deliberately small simple_query_string: whitespace
// separated terms, a trailing * making a prefix, no other operators.
// Field names that are not allowed match nothing rather than fail, as in ES.
func compileSQS(body any, b *budget) (matcher, error) {
	o, err := options("simple_query_string", body, "", "query", "fields", "default_operator", "lenient", "analyze_wildcard")
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
	// Each term is a clause on each field, as Elasticsearch expands it.
	terms := strings.Fields(text)
	if len(terms) > maxClauses || len(names) > maxClauses {
		return nil, b.clause(maxClauses + 1)
	}
	if err := b.clause(len(terms) * len(names)); err != nil {
		return nil, err
	}
	var patterns []*pattern
	for _, x := range names {
		s, isStr := x.(string)
		if !isStr {
			return nil, invalid("[simple_query_string] [fields] must be an array of strings")
		}
		s, _, _ = strings.Cut(s, "^") // a per-field boost does not change matching
		p, err := compileWildcard(strings.ReplaceAll(s, "?", `\?`), false, b)
		if err != nil {
			return nil, err
		}
		patterns = append(patterns, p)
	}
	return func(v *view) bool {
		// Patterns are resolved per doc, since metadata keys differ per doc.
		var fields []string
		for f := range fieldGetters {
			fields = append(fields, f)
		}
		fields = append(fields, "metadata")
		for _, l := range metadataLeaves(v) {
			fields = append(fields, "metadata."+l[0])
		}
		fields = slices.DeleteFunc(fields, func(f string) bool {
			return !slices.ContainsFunc(patterns, func(p *pattern) bool { return p.match(f) })
		})
		for _, term := range terms {
			if hit := sqsTerm(v, fields, term); hit != and {
				return hit // the first hit decides OR, the first miss AND
			}
		}
		return and && len(terms) > 0
	}, nil
}
