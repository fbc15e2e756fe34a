package apikeyquery

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
)

type sortKey struct {
	field              string
	zero               any // the field's kind, as for convert
	desc, missingFirst bool
}

func parseSort(raw json.RawMessage) ([]sortKey, error) {
	v, err := decode(raw, "sort")
	items, isList := v.([]any)
	if !isList && v != nil {
		items = []any{v}
	}
	if len(items) > maxSort {
		return nil, invalid("[sort] has %d keys, more than the limit of [%d]", len(items), maxSort)
	}
	var keys []sortKey
	for _, it := range items {
		var k sortKey
		var spec any = "asc"
		if s, isStr := it.(string); isStr {
			k.field = s
		} else if k.field, spec, err = onlyKey(it, "sort"); err != nil {
			return nil, err
		}
		if k.zero = int64(0); k.field != "_doc" { // _doc sorts by input position
			if k.zero, err = kindOf(k.field); err != nil {
				return nil, err
			}
		}
		o, err := options("sort", spec, "order", "order", "missing")
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

// sortValue picks the least value ascending and the greatest descending,
// Elasticsearch's default mode for multi-valued (metadata) fields.
func sortValue(v *view, k sortKey) any {
	var best any
	for _, x := range values(v, k.field) {
		if c := compareValues(x, best); best == nil || c != 0 && (c < 0) != k.desc {
			best = x
		}
	}
	return best
}

func compareKeys(a, b []any, keys []sortKey) int {
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
			if c = compareValues(a[i], b[i]); k.desc {
				c = -c
			}
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// compareValues orders two values of one kind; query values are always
// converted to the field's kind first. Booleans order false before true.
func compareValues(a, b any) int {
	if x, isInt := a.(int64); isInt {
		y, _ := b.(int64)
		return cmp.Compare(x, y)
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}
