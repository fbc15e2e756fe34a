package authz

import (
	"encoding/json"
	"testing"

	"github.com/tokenstore/tokenstore/fsm"
)

func TestRoleQueryValidation(t *testing.T) {
	cases := []struct {
		query   string
		refused string // the cause's type, "" when accepted
	}{
		{`{"match_all":{}}`, ""},
		{`"{\"term\":{\"owner\":\"joe\"}}"`, ""}, // a string holding the query
		{`{"template":{"source":{"term":{"owner":"{{_user.username}}"}}}}`, ""},
		{`{"bool":{"filter":[{"term":{"a":1}}],"must_not":{"terms":{"b":[1,2]}}}}`, ""},
		{`{"terms":{"owner":{"index":"users","id":"1","path":"x"}}}`, "illegal_argument_exception"},
		{`{"bool":{"should":[{"has_child":{"type":"c","query":{"match_all":{}}}}]}}`, "illegal_argument_exception"},
		{`{"constant_score":{"filter":{"has_parent":{"parent_type":"p","query":{"match_all":{}}}}}}`, "illegal_argument_exception"},
		{`{"function_score":{"query":{"percolate":{"field":"q","document":{}}}}}`, "illegal_argument_exception"},
		{`{"geo_shape":{"loc":{"indexed_shape":{"index":"shapes","id":"1"}}}}`, "illegal_argument_exception"},
		{`{"boosting":{"positive":{"match_all":{}},"negative":{"terms":{"x":{"index":"i","id":"1","path":"p"}}}}}`, "illegal_argument_exception"},
		{`{"not_a_query":{}}`, "parsing_exception"},
		{`{}`, "parsing_exception"},
		{`[1,2]`, "parsing_exception"},
		{`"not json"`, "parsing_exception"},
		{`{"match_all":{},"term":{"a":1}}`, "parsing_exception"},
		{`{"term":3}`, "parsing_exception"},
	}
	for _, c := range cases {
		d := fsm.RoleDescriptor{Indices: []fsm.IndicesPrivileges{{Names: []string{"i1", "i2"}, Privileges: []string{"read"}, Query: json.RawMessage(c.query)}}}
		err := ValidateRoleDescriptor(d)
		if c.refused == "" {
			if err != nil {
				t.Errorf("%s: refused: %v", c.query, err)
			}
			continue
		}
		e, ok := err.(*Error)
		if !ok || e.Type != "parse_exception" || e.Cause == nil || e.Cause.Type != c.refused ||
			e.Reason != "failed to parse field 'query' for indices [i1,i2] at index privilege [0] of role descriptor" {
			t.Errorf("%s: got %#v", c.query, err)
		}
	}
}
