package console

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// pageSize is the rows of one API keys page; the query API pages on the
// server.
const pageSize = 20

// keyFilter is the API keys page's search box, filters, sort and page, as
// they stand in the page's URL (which never holds a secret).
type keyFilter struct {
	Search, Owner, Realm, Type, State                        string
	CreatedAfter, CreatedBefore, ExpiresAfter, ExpiresBefore string
	Sort, Order                                              string
	Page                                                     int
}

var sortable = map[string]bool{"name": true, "creation": true, "expiration": true, "username": true, "realm_name": true, "type": true}

func readKeyFilter(v url.Values) keyFilter {
	f := keyFilter{Search: v.Get("q"), Owner: v.Get("owner"), Realm: v.Get("realm"), Type: v.Get("type"), State: v.Get("state"),
		CreatedAfter: v.Get("created_after"), CreatedBefore: v.Get("created_before"),
		ExpiresAfter: v.Get("expires_after"), ExpiresBefore: v.Get("expires_before"),
		Sort: v.Get("sort"), Order: v.Get("order")}
	if !sortable[f.Sort] {
		f.Sort = "creation"
	}
	if f.Order != "asc" {
		f.Order = "desc"
	}
	f.Page, _ = strconv.Atoi(v.Get("page"))
	f.Page = max(f.Page, 0)
	return f
}

// values is the filter as a query string, with changes applied.
func (f keyFilter) values(change map[string]string) string {
	v := url.Values{}
	for k, x := range map[string]string{"q": f.Search, "owner": f.Owner, "realm": f.Realm, "type": f.Type, "state": f.State,
		"created_after": f.CreatedAfter, "created_before": f.CreatedBefore, "expires_after": f.ExpiresAfter,
		"expires_before": f.ExpiresBefore, "sort": f.Sort, "order": f.Order, "page": strconv.Itoa(f.Page)} {
		if c, ok := change[k]; ok {
			x = c
		}
		if x != "" && x != "0" {
			v.Set(k, x)
		}
	}
	return v.Encode()
}

// SortLink is the query string that sorts by a column, flipping the order
// when it is already the sort.
func (f keyFilter) SortLink(col string) template.URL {
	order := "asc"
	if f.Sort == col && f.Order == "asc" {
		order = "desc"
	}
	return template.URL("?" + f.values(map[string]string{"sort": col, "order": order, "page": "0"}))
}

// Arrow marks the column the list is sorted by.
func (f keyFilter) Arrow(col string) string {
	switch {
	case f.Sort != col:
		return ""
	case f.Order == "asc":
		return " ▲"
	}
	return " ▼"
}

// PageLink is the query string of another page, with its '?': without
// it the browser reads it as a path next to /_console/api-keys.
func (f keyFilter) PageLink(page int) string {
	return "?" + f.values(map[string]string{"page": strconv.Itoa(page)})
}

// body is the query API's request for the filter.
func (f keyFilter) body(now time.Time) (map[string]any, error) {
	var filter []any
	term := func(field, value string) {
		if value != "" {
			filter = append(filter, map[string]any{"term": map[string]any{field: value}})
		}
	}
	if f.Search != "" {
		filter = append(filter, map[string]any{"wildcard": map[string]any{"name": map[string]any{
			"value": "*" + escapeWildcard(f.Search) + "*", "case_insensitive": true}}})
	}
	term("username", f.Owner)
	term("realm_name", f.Realm)
	term("type", f.Type)
	nowMs := now.UnixMilli()
	switch f.State {
	case "active":
		filter = append(filter, notInvalidated, map[string]any{"bool": map[string]any{"should": []any{
			map[string]any{"bool": map[string]any{"must_not": map[string]any{"exists": map[string]any{"field": "expiration"}}}},
			map[string]any{"range": map[string]any{"expiration": map[string]any{"gt": nowMs}}}}}})
	case "expired":
		filter = append(filter, notInvalidated, map[string]any{"range": map[string]any{"expiration": map[string]any{"lte": nowMs}}})
	case "invalidated":
		filter = append(filter, map[string]any{"term": map[string]any{"invalidated": true}})
	}
	for _, r := range []struct{ field, op, date string }{
		{"creation", "gte", f.CreatedAfter}, {"creation", "lt", f.CreatedBefore},
		{"expiration", "gte", f.ExpiresAfter}, {"expiration", "lt", f.ExpiresBefore}} {
		if r.date == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", r.date)
		if err != nil {
			return nil, err
		}
		filter = append(filter, map[string]any{"range": map[string]any{r.field: map[string]any{r.op: t.UnixMilli()}}})
	}
	query := map[string]any{"match_all": map[string]any{}}
	if len(filter) > 0 {
		query = map[string]any{"bool": map[string]any{"filter": filter}}
	}
	return map[string]any{"query": query, "from": f.Page * pageSize, "size": pageSize,
		"sort": []any{map[string]any{f.Sort: map[string]any{"order": f.Order}}}}, nil
}

var notInvalidated = map[string]any{"term": map[string]any{"invalidated": false}}

func escapeWildcard(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`).Replace(s)
}
