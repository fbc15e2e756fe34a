package apikeyquery

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

type matcher func(*view) bool

// view carries a doc through matching so metadata is flattened once.
type view struct {
	doc  *Doc
	idx  int
	meta [][2]string // dotted key, value
	flat bool
}

// anyValue matches docs where any value of field f satisfies pred, which is
// how Elasticsearch treats multi-valued (metadata) fields.
func anyValue(f string, pred func(any) bool) (matcher, error) {
	if _, err := kindOf(f); err != nil {
		return nil, err
	}
	return func(v *view) bool { return slices.ContainsFunc(values(v, f), pred) }, nil
}

func sqsTerm(v *view, fields []string, term string) bool {
	prefix, isPrefix := strings.CutSuffix(term, "*")
	for _, f := range fields {
		zero, _ := kindOf(f)
		_, isKeyword := zero.(string)
		want, err := convert(zero, term)
		if err != nil || isPrefix && !isKeyword {
			continue // lenient: the term cannot be of this field's kind
		}
		if slices.ContainsFunc(values(v, f), func(dv any) bool {
			return dv == want || isPrefix && strings.HasPrefix(dv.(string), prefix)
		}) {
			return true
		}
	}
	return false
}

// values returns a field's values: string (keyword), int64 (date, _doc)
// or bool.
func values(v *view, f string) []any {
	if f == "_doc" {
		return []any{int64(v.idx)}
	}
	if get := fieldGetters[f]; get != nil {
		if x := get(v.doc); x != "" && x != int64(0) {
			return []any{x}
		}
		return nil
	}
	key, sub := strings.CutPrefix(f, "metadata.")
	var out []any
	for _, l := range metadataLeaves(v) {
		if !sub || l[0] == key {
			out = append(out, l[1])
		}
	}
	return out
}

// metadataLeaves flattens metadata like Elasticsearch's flattened field type: each
// leaf, including array elements, is a keyword under its dotted path.
func metadataLeaves(v *view) [][2]string {
	if !v.flat {
		v.flat, v.meta = true, flatten("", v.doc.Metadata, nil)
	}
	return v.meta
}

func flatten(prefix string, x any, out [][2]string) [][2]string {
	switch x := x.(type) {
	case map[string]any:
		for k, c := range x {
			if prefix != "" {
				k = prefix + "." + k
			}
			out = flatten(k, c, out)
		}
	case []any:
		for _, c := range x {
			out = flatten(prefix, c, out)
		}
	case nil:
	default:
		if prefix != "" {
			out = append(out, [2]string{prefix, scalarString(x)})
		}
	}
	return out
}

// scalarString renders numbers one way on both sides, so that metadata
// 42 matches a query 42, 42.0 or "42".
func scalarString(x any) string {
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

// convert turns a query or search_after value into the kind of zero.
func convert(zero any, x any) (any, error) {
	switch x.(type) {
	case string, bool, json.Number, float64, int, int64:
	default:
		return nil, invalid("[%v] is not a valid value for a query or search_after", x)
	}
	s := scalarString(x)
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
	if f, err := strconv.ParseFloat(s, 64); err == nil && math.Abs(f) < 9e18 {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
		return int64(f), nil
	}
	return parseDate(s)
}

// convertAt is convert for a query's values, where a date may also be date
// math counted from now (epoch ms); roundUp is for the bounds gt and lte.
func convertAt(zero, x any, now int64, roundUp bool) (any, error) {
	if s, isStr := x.(string); isStr && isDateMath(s) {
		if _, isDate := zero.(int64); isDate {
			return dateMath(s, now, roundUp)
		}
	}
	return convert(zero, x)
}
