package apikeyquery

import (
	"encoding/json"
	"slices"
	"strings"
)

// Queries over other records than API keys (query roles, query users):
// the same query subset, paging, sort and search_after, over the fields a
// Schema names. A record is run as a Doc whose metadata holds the
// record's fields under "f" and its own metadata under "m"; the request's
// field names are translated to those paths before compiling, so every
// clause is checked and run by the one engine.

// Schema is what a record query may use.
type Schema struct {
	Fields []SchemaField
	// Metadata allows "metadata" and "metadata.<path>".
	Metadata bool
}

// SchemaField is one queryable field: a keyword unless Bool.
type SchemaField struct {
	Name   string
	Bool   bool
	NoSort bool // Elasticsearch's mapping keeps no doc values for it
}

// Record is one record as a record query sees it: its id (for the ids
// query), each field's values (strings, or bools for a Bool field) and
// its metadata.
type Record struct {
	ID       string
	Values   map[string][]any
	Metadata map[string]any
}

// RecordQuery is a compiled record query; Run may be called concurrently.
type RecordQuery struct {
	q      *Query
	schema Schema
	sorted []string // the request's sort fields, in order
}

const (
	fieldsKey   = "f"
	metadataKey = "m"
)

// CompileRecords validates and compiles a request over s; errors are *Error.
func CompileRecords(s Schema, req Request) (*RecordQuery, error) {
	rq := &RecordQuery{schema: s}
	v, err := decode(req.Query, "query")
	if err != nil {
		return nil, err
	}
	if v != nil {
		if v, err = s.rewrite(v, 0); err != nil {
			return nil, err
		}
		if req.Query, err = json.Marshal(v); err != nil {
			return nil, invalid("failed to parse [query]")
		}
	}
	sv, err := decode(req.Sort, "sort")
	if err != nil {
		return nil, err
	}
	if sv != nil {
		if sv, rq.sorted, err = s.rewriteSort(sv); err != nil {
			return nil, err
		}
		req.Sort, _ = json.Marshal(sv)
	}
	q, err := Compile(req)
	if err != nil {
		if e, ok := err.(*Error); ok {
			e.Reason = strings.ReplaceAll(e.Reason, "for API Key query", "in this context")
		}
		return nil, err
	}
	rq.q = q
	return rq, nil
}

// Run filters, sorts and pages records, whose ids must differ; page holds
// indexes into recs.
func (rq *RecordQuery) Run(recs []Record) (total int, page []int, sortValues [][]any) {
	docs := make([]Doc, len(recs))
	index := make(map[string]int, len(recs))
	for i, r := range recs {
		fields := make(map[string]any, len(r.Values))
		for k, vs := range r.Values {
			fields[k] = vs
		}
		docs[i] = Doc{ID: r.ID, Metadata: map[string]any{fieldsKey: fields, metadataKey: r.Metadata}}
		index[r.ID] = i
	}
	total, hits, sortValues := rq.q.Run(docs)
	page = make([]int, len(hits))
	for i, d := range hits {
		page[i] = index[d.ID]
	}
	for _, sv := range sortValues {
		for j, f := range rq.sorted {
			if s, isStr := sv[j].(string); isStr && rq.schema.field(f).Bool {
				sv[j] = s == "true"
			}
		}
	}
	return total, page, sortValues
}

func (s Schema) field(name string) SchemaField {
	for _, f := range s.Fields {
		if f.Name == name {
			return f
		}
	}
	return SchemaField{}
}

// translate maps a request's field name to its path in the Doc.
func (s Schema) translate(f string) (string, error) {
	if strings.Contains(f, "*") || strings.Contains(f, "?") {
		return "", invalid("Field name pattern [%s] is not allowed for querying or aggregation", f)
	}
	if s.field(f).Name != "" {
		return "metadata." + fieldsKey + "." + f, nil
	}
	if s.Metadata && f == "metadata" {
		return "metadata", nil
	}
	if rest, ok := strings.CutPrefix(f, "metadata."); ok && s.Metadata && rest != "" {
		return "metadata." + metadataKey + "." + rest, nil
	}
	return "", invalid("Field [%s] is not allowed for querying or aggregation", f)
}

// rewrite translates the field names of a query; what it does not know it
// leaves for Compile to refuse.
func (s Schema) rewrite(v any, depth int) (any, error) {
	o, ok := v.(map[string]any)
	if !ok || len(o) != 1 || depth > maxDepth {
		return v, nil
	}
	for t, body := range o {
		b, isObj := body.(map[string]any)
		if !isObj {
			return v, nil
		}
		switch t {
		case "bool":
			for _, clause := range []string{"must", "filter", "should", "must_not"} {
				var err error
				switch c := b[clause].(type) {
				case []any:
					for i := range c {
						if c[i], err = s.rewrite(c[i], depth+1); err != nil {
							return nil, err
						}
					}
				case map[string]any:
					if b[clause], err = s.rewrite(c, depth+1); err != nil {
						return nil, err
					}
				}
			}
		case "exists":
			if f, isStr := b["field"].(string); isStr {
				tf, err := s.translate(f)
				if err != nil {
					return nil, err
				}
				b["field"] = tf
			}
		case "term", "terms", "match", "prefix", "wildcard", "range":
			out := make(map[string]any, len(b))
			for k, x := range b {
				if k == "boost" || k == "_name" {
					out[k] = x
					continue
				}
				tf, err := s.translate(k)
				if err != nil {
					return nil, err
				}
				out[tf] = x
			}
			o[t] = out
		case "simple_query_string":
			fields, err := s.sqsFields(b["fields"])
			if err != nil {
				return nil, err
			}
			if len(fields) == 0 {
				// Only fields the query may not see: it matches nothing.
				return map[string]any{"bool": map[string]any{"must_not": map[string]any{"match_all": map[string]any{}}}}, nil
			}
			b["fields"] = fields
		}
	}
	return v, nil
}

// sqsFields expands simple_query_string's field names and patterns to
// paths; names it may not see are dropped, as Elasticsearch drops them.
func (s Schema) sqsFields(x any) ([]any, error) {
	names, isArr := x.([]any)
	if x == nil {
		names = []any{"*"}
	} else if !isArr {
		return nil, invalid("[simple_query_string] [fields] must be an array of strings")
	}
	var out []any
	for _, n := range names {
		str, isStr := n.(string)
		if !isStr {
			return nil, invalid("[simple_query_string] [fields] must be an array of strings")
		}
		name, boost, hasBoost := strings.Cut(str, "^")
		suffix := ""
		if hasBoost {
			suffix = "^" + boost
		}
		p, err := compileWildcard(strings.ReplaceAll(name, "?", `\?`), false, &budget{})
		if err != nil {
			return nil, err
		}
		for _, f := range s.Fields {
			if p.match(f.Name) {
				out = append(out, "metadata."+fieldsKey+"."+f.Name+suffix)
			}
		}
		if !s.Metadata {
			continue
		}
		if rest, ok := strings.CutPrefix(name, "metadata."); ok && rest != "" {
			out = append(out, "metadata."+metadataKey+"."+rest+suffix)
		} else if p.match("metadata") || p.match("metadata.") {
			out = append(out, "metadata."+metadataKey+".*"+suffix)
		}
	}
	return slices.Compact(out), nil
}

// rewriteSort translates sort field names and refuses those Elasticsearch
// cannot sort on; it returns the fields in order.
func (s Schema) rewriteSort(v any) (any, []string, error) {
	items, isList := v.([]any)
	if !isList {
		items = []any{v}
	}
	var fields []string
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = it
		var name string
		var spec any
		switch x := it.(type) {
		case string:
			name = x
		case map[string]any:
			if len(x) != 1 {
				return nil, nil, invalid("[sort] malformed, expected an object with exactly one key")
			}
			for k, sp := range x {
				name, spec = k, sp
			}
		default:
			return nil, nil, invalid("[sort] malformed, expected a field name or an object")
		}
		fields = append(fields, name)
		if name == "_doc" {
			continue
		}
		if f := s.field(name); f.Name != "" && f.NoSort {
			return nil, nil, invalid("sorting is not supported for field [%s]", name)
		}
		tf, err := s.translate(name)
		if err != nil {
			return nil, nil, err
		}
		if spec == nil {
			out[i] = tf
		} else {
			out[i] = map[string]any{tf: spec}
		}
	}
	return out, fields, nil
}
