package authn

import (
	"context"
	"encoding/json"

	"github.com/tokenstore/tokenstore/authn/apikeyquery"
)

const (
	actionRoleQuery = secPrefix + "role/query"
	actionUserQuery = secPrefix + "user/query"
)

// RecordQueryRequest is the body of query roles and query users: the
// query API keys subset.
type RecordQueryRequest = apikeyquery.Request

// The fields Elasticsearch lets each query see (its FieldNameTranslators).
var (
	roleQuerySchema = apikeyquery.Schema{Metadata: true, Fields: []apikeyquery.SchemaField{
		{Name: "name"}, {Name: "description"}, {Name: "applications.application"},
		{Name: "applications.resources"}, {Name: "applications.privileges"}}}
	userQuerySchema = apikeyquery.Schema{Fields: []apikeyquery.SchemaField{
		{Name: "username"}, {Name: "roles"}, {Name: "enabled", Bool: true},
		{Name: "full_name", NoSort: true}, {Name: "email", NoSort: true}}}
)

// QueryRoles runs a query over the stored roles (the built-in ones are
// not in Elasticsearch's security index either).
func (s *Service) QueryRoles(ctx context.Context, c Caller, req RecordQueryRequest) (int, []NamedRole, [][]any, error) {
	if err := s.Authorize(c, actionRoleQuery); err != nil {
		return 0, nil, nil, err
	}
	q, err := apikeyquery.CompileRecords(roleQuerySchema, req)
	if err != nil {
		return 0, nil, nil, queryError(err)
	}
	s.freshRead(ctx)
	roles := s.st.Roles()
	recs := make([]apikeyquery.Record, len(roles))
	for i, r := range roles {
		d := r.Descriptor
		v := map[string][]any{"name": {r.Name}}
		if d.Description != nil {
			v["description"] = []any{*d.Description}
		}
		for _, a := range d.Applications {
			v["applications.application"] = append(v["applications.application"], a.Application)
			v["applications.resources"] = appendStrings(v["applications.resources"], a.Resources)
			v["applications.privileges"] = appendStrings(v["applications.privileges"], a.Privileges)
		}
		recs[i] = apikeyquery.Record{ID: r.Name, Values: v, Metadata: metadataOf(d.Metadata)}
	}
	total, page, sortValues := q.Run(recs)
	out := make([]NamedRole, len(page))
	for i, j := range page {
		out[i] = NamedRole{roles[j].Name, roles[j].Descriptor}
	}
	return total, out, sortValues, nil
}

// QueryUsers runs a query over the native users.
func (s *Service) QueryUsers(ctx context.Context, c Caller, req RecordQueryRequest) (int, []UserView, [][]any, error) {
	if err := s.Authorize(c, actionUserQuery); err != nil {
		return 0, nil, nil, err
	}
	q, err := apikeyquery.CompileRecords(userQuerySchema, req)
	if err != nil {
		return 0, nil, nil, queryError(err)
	}
	s.freshRead(ctx)
	users := s.st.Users()
	recs := make([]apikeyquery.Record, len(users))
	for i, u := range users {
		v := map[string][]any{"username": {u.Username}, "roles": appendStrings(nil, u.Roles), "enabled": {u.Enabled}}
		if u.FullName != nil {
			v["full_name"] = []any{*u.FullName}
		}
		if u.Email != nil {
			v["email"] = []any{*u.Email}
		}
		recs[i] = apikeyquery.Record{ID: u.Username, Values: v}
	}
	total, page, sortValues := q.Run(recs)
	out := make([]UserView, len(page))
	for i, j := range page {
		out[i] = nativeView(users[j])
	}
	return total, out, sortValues, nil
}

func appendStrings(to []any, s []string) []any {
	for _, x := range s {
		to = append(to, x)
	}
	return to
}

// metadataOf decodes stored metadata for a query.
func metadataOf(raw json.RawMessage) map[string]any {
	var md map[string]any
	json.Unmarshal(raw, &md)
	return md
}
