package authz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// queryNames are the query types Elasticsearch 8.17 parses (its own and
// the default plugins'): a role's query naming another is not a query.
var queryNames = setOf("match_all", "match_none", "match", "match_phrase", "match_phrase_prefix", "match_bool_prefix",
	"multi_match", "combined_fields", "query_string", "simple_query_string", "term", "terms", "terms_set", "range",
	"exists", "prefix", "wildcard", "regexp", "fuzzy", "ids", "bool", "boosting", "constant_score", "dis_max",
	"function_score", "script_score", "script", "nested", "has_child", "has_parent", "parent_id", "geo_shape",
	"geo_bounding_box", "geo_distance", "geo_polygon", "geo_grid", "shape", "more_like_this", "percolate",
	"distance_feature", "rank_feature", "pinned", "rule", "intervals", "span_term", "span_first", "span_near",
	"span_or", "span_not", "span_containing", "span_within", "span_multi", "field_masking_span",
	"span_field_masking", "wrapper", "knn", "sparse_vector", "text_expansion", "weighted_tokens", "semantic")

// refusedInRoles are the query types DLSRoleQueryValidator refuses outright.
var refusedInRoles = map[string]string{
	"percolate":  "percolate query isn't supported as part of a role query",
	"has_child":  "has_child query isn't supported as part of a role query",
	"has_parent": "has_parent query isn't supported as part of a role query",
}

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// maxQueryDepth bounds the recursion through compound queries.
const maxQueryDepth = 64

// checkRoleQuery validates the query of an indices privilege as
// DLSRoleQueryValidator does: a JSON string is the query's text, a
// template is left for request time, anything else must be one query
// whose compound clauses hold no refused query type.
func checkRoleQuery(raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] == '"' {
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			return malformed("query malformed: %v", err)
		}
		raw = json.RawMessage(strings.TrimSpace(text))
		if !json.Valid(raw) {
			return malformed("query malformed, must start with start_object")
		}
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) == nil && len(top) > 0 {
		if _, ok := top["template"]; ok {
			return nil
		}
	}
	return checkQuery(raw, 0)
}

// checkQuery checks one query clause, {"<type>": body}.
func checkQuery(raw json.RawMessage, depth int) error {
	if depth > maxQueryDepth {
		return malformed("query nested deeper than [%d]", maxQueryDepth)
	}
	var clause map[string]json.RawMessage
	if err := json.Unmarshal(raw, &clause); err != nil || clause == nil {
		return malformed("query malformed, must start with start_object")
	}
	if len(clause) == 0 {
		return malformed("query malformed, empty clause found")
	}
	if len(clause) > 1 {
		return malformed("query malformed, expected a single query type, found [%d]", len(clause))
	}
	for name, body := range clause {
		if !queryNames[name] {
			return malformed("unknown query [%s]", name)
		}
		if msg, ok := refusedInRoles[name]; ok {
			return refused(msg)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil {
			return malformed("[%s] query malformed, no start_object after query name", name)
		}
		if err := checkClauses(name, fields, depth); err != nil {
			return err
		}
	}
	return nil
}

// checkClauses looks inside a query's body: the compound queries
// DLSRoleQueryValidator recurses into, terms lookups and indexed shapes.
func checkClauses(name string, fields map[string]json.RawMessage, depth int) error {
	switch name {
	case "bool":
		for _, occur := range []string{"must", "must_not", "should", "filter"} {
			if err := checkOneOrMany(fields[occur], depth); err != nil {
				return err
			}
		}
	case "constant_score":
		return checkOneOrMany(fields["filter"], depth)
	case "function_score":
		return checkOneOrMany(fields["query"], depth)
	case "boosting":
		for _, k := range []string{"positive", "negative"} {
			if err := checkOneOrMany(fields[k], depth); err != nil {
				return err
			}
		}
	case "terms":
		for field, v := range fields {
			if field != "boost" && field != "_name" && bytes.HasPrefix(bytes.TrimSpace(v), []byte("{")) {
				return refused("terms query with terms lookup isn't supported as part of a role query")
			}
		}
	case "geo_shape":
		for _, v := range fields {
			var spec map[string]json.RawMessage
			if json.Unmarshal(v, &spec) == nil {
				if _, ok := spec["indexed_shape"]; ok {
					return refused("geoshape query referring to indexed shapes isn't supported as part of a role query")
				}
			}
		}
	}
	return nil
}

// checkOneOrMany checks a clause given as one query or a list of them.
func checkOneOrMany(raw json.RawMessage, depth int) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] != '[' {
		return checkQuery(raw, depth+1)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return malformed("query malformed: %v", err)
	}
	for _, q := range list {
		if err := checkQuery(q, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// QueryError is why a role's query was refused: Type is the exception
// Elasticsearch names as the parse_exception's cause.
type QueryError struct{ Type, Reason string }

func (e *QueryError) Error() string { return e.Reason }

func refused(msg string) error { return &QueryError{Type: "illegal_argument_exception", Reason: msg} }

func malformed(format string, a ...any) error {
	return &QueryError{Type: "parsing_exception", Reason: fmt.Sprintf(format, a...)}
}
