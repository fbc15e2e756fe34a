package apikeyquery

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

var userSchema = Schema{Fields: []SchemaField{{Name: "username"}, {Name: "roles"}, {Name: "enabled", Bool: true},
	{Name: "full_name", NoSort: true}, {Name: "email", NoSort: true}}}

var roleSchema = Schema{Metadata: true, Fields: []SchemaField{{Name: "name"}, {Name: "description"},
	{Name: "applications.application"}, {Name: "applications.resources"}, {Name: "applications.privileges"}}}

func users() []Record {
	u := func(name, full string, enabled bool, roles ...string) Record {
		rs := make([]any, len(roles))
		for i, r := range roles {
			rs[i] = r
		}
		return Record{ID: name, Values: map[string][]any{"username": {name}, "roles": rs, "enabled": {enabled}, "full_name": {full}}}
	}
	return []Record{u("bob", "Bob B", true, "admin", "viewer"), u("alice", "Alice A", false, "viewer"), u("carol", "Carol C", true)}
}

func roles() []Record {
	return []Record{
		{ID: "r1", Values: map[string][]any{"name": {"r1"}, "description": {"first role"}, "applications.application": {"kibana"}},
			Metadata: map[string]any{"team": "a", "_private": "x"}},
		{ID: "r2", Values: map[string][]any{"name": {"r2"}}, Metadata: map[string]any{"team": "b", "description": "r1"}},
	}
}

func TestRecordQueries(t *testing.T) {
	for _, tc := range []struct {
		name   string
		schema Schema
		recs   []Record
		body   string
		want   []string // ids in order
		total  int
		sort   string // JSON of the sort values, when sorted
	}{
		{"all users", userSchema, users(), `{}`, []string{"bob", "alice", "carol"}, 3, ""},
		{"term on a multi-valued field", userSchema, users(), `{"query":{"term":{"roles":"viewer"}}}`, []string{"bob", "alice"}, 2, ""},
		{"boolean field", userSchema, users(), `{"query":{"term":{"enabled":false}}}`, []string{"alice"}, 1, ""},
		{"sorted, paged", userSchema, users(), `{"sort":["username"],"from":1,"size":1}`, []string{"bob"}, 3, `[["bob"]]`},
		{"sort on a boolean", userSchema, users(), `{"sort":[{"enabled":"asc"},"username"],"size":1}`, []string{"alice"}, 3, `[[false,"alice"]]`},
		{"search_after", userSchema, users(), `{"sort":["username"],"search_after":["bob"]}`, []string{"carol"}, 3, `[["carol"]]`},
		{"prefix in bool", userSchema, users(), `{"query":{"bool":{"must":[{"prefix":{"full_name":"Car"}}],"must_not":{"ids":{"values":["bob"]}}}}}`, []string{"carol"}, 1, ""},
		{"exists", userSchema, users(), `{"query":{"bool":{"must_not":{"exists":{"field":"roles"}}}}}`, []string{"carol"}, 1, ""},
		{"simple_query_string on all fields", userSchema, users(), `{"query":{"simple_query_string":{"query":"admin"}}}`, []string{"bob"}, 1, ""},
		{"simple_query_string on a field it may not see", userSchema, users(), `{"query":{"simple_query_string":{"query":"bob","fields":["password"]}}}`, nil, 0, ""},
		{"role metadata", roleSchema, roles(), `{"query":{"term":{"metadata.team":"b"}}}`, []string{"r2"}, 1, ""},
		{"role fields are not metadata", roleSchema, roles(), `{"query":{"term":{"metadata.description":"first role"}}}`, nil, 0, ""},
		{"role description", roleSchema, roles(), `{"query":{"match":{"description":"first role"}}}`, []string{"r1"}, 1, ""},
		{"applications", roleSchema, roles(), `{"query":{"wildcard":{"applications.application":"kib*"}}}`, []string{"r1"}, 1, ""},
		{"metadata pattern in sqs", roleSchema, roles(), `{"query":{"simple_query_string":{"query":"r1","fields":["metadata.*"]}}}`, []string{"r2"}, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var req Request
			if err := json.Unmarshal([]byte(tc.body), &req); err != nil {
				t.Fatal(err)
			}
			q, err := CompileRecords(tc.schema, req)
			if err != nil {
				t.Fatal(err)
			}
			total, page, sv := q.Run(tc.recs)
			var got []string
			for _, i := range page {
				got = append(got, tc.recs[i].ID)
			}
			if total != tc.total || !slices.Equal(got, tc.want) {
				t.Fatalf("got %d %v, want %d %v", total, got, tc.total, tc.want)
			}
			if js, _ := json.Marshal(sv); tc.sort != "" && string(js) != tc.sort {
				t.Fatalf("sort values %s, want %s", js, tc.sort)
			}
		})
	}
}

func TestRecordQueryErrors(t *testing.T) {
	for _, tc := range []struct {
		schema     Schema
		body, want string
	}{
		{userSchema, `{"query":{"term":{"password":"x"}}}`, "Field [password] is not allowed for querying or aggregation"},
		{userSchema, `{"query":{"term":{"metadata.x":"x"}}}`, "Field [metadata.x] is not allowed"},
		{userSchema, `{"query":{"term":{"user*":"x"}}}`, "Field name pattern [user*] is not allowed"},
		{userSchema, `{"sort":["full_name"]}`, "sorting is not supported for field [full_name]"},
		{userSchema, `{"query":{"fuzzy":{"username":"x"}}}`, "Query type [fuzzy] is not supported in this context"},
		{userSchema, `{"query":{"bool":{"must":[{"exists":{"field":"realm_name"}}]}}}`, "Field [realm_name] is not allowed"},
		{roleSchema, `{"query":{"term":{"run_as":"x"}}}`, "Field [run_as] is not allowed"},
		{roleSchema, `{"size":-1}`, "[size] parameter cannot be negative"},
	} {
		var req Request
		json.Unmarshal([]byte(tc.body), &req)
		_, err := CompileRecords(tc.schema, req)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.body, err, tc.want)
		}
	}
}
