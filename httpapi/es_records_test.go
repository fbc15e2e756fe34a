package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/queryrole"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/queryuser"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/sortorder"

	"github.com/tokenstore/tokenstore/testcluster"
)

// Issue 14 items 4 and 5 at the cluster level, through the official
// client round-robin over three nodes: bulk delete roles (and who may),
// and paging query roles and query users with from, size, sort and
// search_after.

const recordsPassword = "rec0rds-passw0rd"

// typedClients makes one typed client per node for a user.
func typedClients(t *testing.T, c *testcluster.Cluster, user, password string) []*elasticsearch.TypedClient {
	t.Helper()
	var out []*elasticsearch.TypedClient
	for i := range c.Len() {
		es, err := elasticsearch.NewTypedClient(elasticsearch.Config{Addresses: []string{c.URL(i)}, Username: user, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, es)
	}
	return out
}

// roleStatus is GET /_security/role/{name}'s status on every node.
func roleStatus(t *testing.T, c *testcluster.Cluster, name string) []int {
	t.Helper()
	var out []int
	for i := range c.Len() {
		out = append(out, c.Do(i, http.MethodGet, "/_security/role/"+name, testcluster.Elastic, nil).Status)
	}
	return out
}

func TestBulkDeleteRolesThroughTheOfficialClient(t *testing.T) {
	c := testcluster.New(t, 3)
	putRoles(t, c, "bd_a", "bd_b", "bd_c", "bd_keep")
	// manage and read_security, but not manage_security.
	putRole(t, c, "bd_low", map[string]any{"cluster": []string{"manage", "read_security"}})
	putUser(t, c, "bd_low", recordsPassword, "bd_low")
	admin := typedClients(t, c, "elastic", testcluster.ElasticPassword)
	low := typedClients(t, c, "bd_low", recordsPassword)
	ctx := context.Background()

	for i := range c.Len() {
		_, err := low[i].Security.BulkDeleteRole().Names("bd_c", "bd_keep").Do(ctx)
		esError(t, err, 403, "action [cluster:admin/xpack/security/role/bulk_delete] is unauthorized for user [bd_low] with effective roles [bd_low], "+
			"this action is granted by the cluster privileges [manage_security,all]")
	}
	res, err := admin[1].Security.BulkDeleteRole().Names("bd_a", "bd_missing", "bd_b").Do(ctx)
	if err != nil || !slices.Equal(res.Deleted, []string{"bd_a", "bd_b"}) || !slices.Equal(res.NotFound, []string{"bd_missing"}) || res.Errors != nil {
		t.Fatalf("BulkDeleteRole: %+v %v", res, err)
	}
	res, err = admin[2].Security.BulkDeleteRole().Names("superuser", "bd_a").Do(ctx)
	if err != nil || res.Deleted != nil || !slices.Equal(res.NotFound, []string{"bd_a"}) || res.Errors == nil || res.Errors.Count != 1 ||
		res.Errors.Details["superuser"].Reason == nil || !strings.Contains(*res.Errors.Details["superuser"].Reason, "role [superuser] is reserved") {
		t.Fatalf("BulkDeleteRole of a reserved role: %+v %v", res, err)
	}
	for name, want := range map[string]int{"bd_a": 404, "bd_b": 404, "bd_c": 200, "bd_keep": 200} {
		if got := roleStatus(t, c, name); slices.ContainsFunc(got, func(s int) bool { return s != want }) {
			t.Fatalf("role %s answers %v on the nodes, want %d on each", name, got, want)
		}
	}

	// Bad bodies: a 400 in Elasticsearch's shape, and nothing deleted.
	before := stateFingerprint(t, c)
	tooMany := `{"names":["r` + strings.Repeat(`","r`, 1000) + `"]}`
	for n, body := range []string{``, `{}`, `{"names":[]}`, `{"names":"bd_c"}`, `{"names":[1]}`, `{"names":["bd_c"],"unknown":1}`,
		`{"names":["bd_c"]`, `[]`, tooMany} {
		r := sweepSend(t, c.URL(n%c.Len()), http.MethodDelete, "/_security/role", testcluster.Elastic, []byte(body), nil)
		if r.status != http.StatusBadRequest {
			t.Fatalf("bulk delete with %.80q: %d %.300s, want 400", body, r.status, r.body)
		}
		checkESError(t, r, http.StatusBadRequest)
	}
	if !bytes.Equal(before, stateFingerprint(t, c)) {
		t.Fatal("a refused bulk delete changed the state")
	}
	if got := roleStatus(t, c, "bd_c"); slices.ContainsFunc(got, func(s int) bool { return s != 200 }) {
		t.Fatalf("bd_c after the refused bulk deletes: %v", got)
	}
}

// pagingRecords makes 12 roles pg_r00..pg_r11 and 12 users
// pg_u00..pg_u11, a third of the users disabled.
func pagingRecords(t *testing.T, c *testcluster.Cluster) {
	for n := range 12 {
		putRole(t, c, fmt.Sprintf("pg_r%02d", n), map[string]any{"cluster": []string{"monitor"}, "description": "paging"})
		if r := c.Do(n%c.Len(), http.MethodPut, fmt.Sprintf("/_security/user/pg_u%02d", n), testcluster.Elastic,
			map[string]any{"password": recordsPassword, "roles": []string{fmt.Sprintf("pg_r%02d", n%3)}, "enabled": n%3 != 1}); r.Status != 200 {
			t.Fatalf("put user: %d %s", r.Status, r.Body)
		}
	}
}

// listedRoles and listedUsers are what the pages must add up to: the
// get APIs' listings on one node, narrowed to the test's names.
func listedRoles(t *testing.T, c *testcluster.Cluster, node int) []string {
	var out []string
	for name := range c.Do(node, http.MethodGet, "/_security/role", testcluster.Elastic, nil).JSON() {
		if strings.HasPrefix(name, "pg_r") {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// listedUsers are sorted by enabled (false first), then username.
func listedUsers(t *testing.T, c *testcluster.Cluster, node int) []string {
	var out []string
	enabled := map[string]bool{}
	for name, u := range c.Do(node, http.MethodGet, "/_security/user", testcluster.Elastic, nil).JSON() {
		if strings.HasPrefix(name, "pg_u") {
			out = append(out, name)
			enabled[name] = u.(map[string]any)["enabled"].(bool)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if enabled[a] != enabled[b] {
			if enabled[a] {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	return out
}

func TestQueryRolesAndUsersPageAcrossTheCluster(t *testing.T) {
	c := testcluster.New(t, 3)
	pagingRecords(t, c)
	es := typedClients(t, c, "elastic", testcluster.ElasticPassword)
	roles, users := listedRoles(t, c, 0), listedUsers(t, c, 1)
	if len(roles) != 12 || len(users) != 12 {
		t.Fatalf("listed %d roles and %d users, want 12 each", len(roles), len(users))
	}
	n := 0
	next := func() *elasticsearch.TypedClient { n++; return es[n%len(es)] }
	t.Run("roles by from and size", func(t *testing.T) { pageRolesByFrom(t, next, roles) })
	t.Run("roles by search_after", func(t *testing.T) { pageRolesBySearchAfter(t, next, roles) })
	t.Run("users by from and size", func(t *testing.T) { pageUsersByFrom(t, next, users) })
	t.Run("users by search_after on two keys", func(t *testing.T) { pageUsersBySearchAfter(t, next, users) })
	t.Run("window limits", func(t *testing.T) {
		for _, path := range []string{"/_security/_query/role", "/_security/_query/user"} {
			r := sweepSend(t, c.URL(n%3), http.MethodPost, path, testcluster.Elastic, []byte(`{"from":9995,"size":10}`), nil)
			ccWantReason(t, r, 400, "Result window is too large")
			r = sweepSend(t, c.URL((n+1)%3), http.MethodPost, path, testcluster.Elastic, []byte(`{"from":-1}`), nil)
			ccWantReason(t, r, 400, "[from] parameter cannot be negative")
		}
	})
}

func rolePrefix() *types.RoleQueryContainer {
	return &types.RoleQueryContainer{Prefix: map[string]types.PrefixQuery{"name": {Value: "pg_r"}}}
}

func byField(field string, order sortorder.SortOrder) types.SortCombinations {
	return types.SortOptions{SortOptions: map[string]types.FieldSort{field: {Order: &order}}}
}

// pageRolesByFrom reads the roles five at a time by from, sorted by name,
// and once past the end.
func pageRolesByFrom(t *testing.T, next func() *elasticsearch.TypedClient, want []string) {
	var got []string
	size := 5
	for from := 0; from <= len(want); from += size {
		res, err := next().Security.QueryRole().Request(&queryrole.Request{Query: rolePrefix(), From: &from, Size: &size,
			Sort: []types.SortCombinations{byField("name", sortorder.Asc)}}).Do(context.Background())
		if err != nil || res.Total != len(want) || res.Count != len(res.Roles) || res.Count != min(size, max(len(want)-from, 0)) {
			t.Fatalf("from %d: %+v %v", from, res, err)
		}
		for _, r := range res.Roles {
			if len(r.Sort_) != 1 || r.Sort_[0] != r.Name {
				t.Fatalf("role %s sorted by %v", r.Name, r.Sort_)
			}
			got = append(got, r.Name)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages by from %v, listing %v", got, want)
	}
}

// pageRolesBySearchAfter reads them backwards, each page after the last
// role's _sort.
func pageRolesBySearchAfter(t *testing.T, next func() *elasticsearch.TypedClient, want []string) {
	var got []string
	var after []types.FieldValue
	size := 5
	for page := 0; page <= len(want)/size+1; page++ {
		res, err := next().Security.QueryRole().Request(&queryrole.Request{Query: rolePrefix(), Size: &size, SearchAfter: after,
			Sort: []types.SortCombinations{byField("name", sortorder.Desc)}}).Do(context.Background())
		if err != nil || res.Total != len(want) {
			t.Fatalf("page %d: %+v %v", page, res, err)
		}
		if len(res.Roles) == 0 {
			break
		}
		for _, r := range res.Roles {
			got = append(got, r.Name)
		}
		after = res.Roles[len(res.Roles)-1].Sort_
	}
	reversed := slices.Clone(want)
	slices.Reverse(reversed)
	if !slices.Equal(got, reversed) {
		t.Fatalf("pages by search_after %v, listing reversed %v", got, reversed)
	}
}

func userPrefix() *types.UserQueryContainer {
	return &types.UserQueryContainer{Prefix: map[string]types.PrefixQuery{"username": {Value: "pg_u"}}}
}

var byEnabledThenName = []types.SortCombinations{byField("enabled", sortorder.Asc), byField("username", sortorder.Asc)}

func pageUsersByFrom(t *testing.T, next func() *elasticsearch.TypedClient, want []string) {
	var got []string
	size := 5
	for from := 0; from <= len(want); from += size {
		res, err := next().Security.QueryUser().Request(&queryuser.Request{Query: userPrefix(), From: &from, Size: &size,
			Sort: byEnabledThenName}).Do(context.Background())
		if err != nil || res.Total != len(want) || res.Count != len(res.Users) || res.Count != min(size, max(len(want)-from, 0)) {
			t.Fatalf("from %d: %+v %v", from, res, err)
		}
		for _, u := range res.Users {
			if len(u.Sort_) != 2 || u.Sort_[1] != u.Username {
				t.Fatalf("user %s sorted by %v", u.Username, u.Sort_)
			}
			got = append(got, u.Username)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages by from %v, listing %v", got, want)
	}
}

// pageUsersBySearchAfter pages on (enabled, username): search_after
// carries both of the last user's _sort values.
func pageUsersBySearchAfter(t *testing.T, next func() *elasticsearch.TypedClient, want []string) {
	var got []string
	var after []types.FieldValue
	size := 5
	for page := 0; page <= len(want)/size+1; page++ {
		res, err := next().Security.QueryUser().Request(&queryuser.Request{Query: userPrefix(), Size: &size, SearchAfter: after,
			Sort: byEnabledThenName}).Do(context.Background())
		if err != nil || res.Total != len(want) {
			t.Fatalf("page %d: %+v %v", page, res, err)
		}
		if len(res.Users) == 0 {
			break
		}
		for _, u := range res.Users {
			got = append(got, u.Username)
		}
		after = res.Users[len(res.Users)-1].Sort_
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages by search_after %v, listing %v", got, want)
	}
}
