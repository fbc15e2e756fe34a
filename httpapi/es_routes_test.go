package httpapi_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	elasticsearch "github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/bulkputrole"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/clusterprivilege"

	"github.com/tokenstore/tokenstore/testcluster"
)

// Issue 14, item 1: the routes that were missing or swallowed, through the
// official Go client (typed API) where it has the call, round-robin over
// one three-node cluster shared by the whole file.

const routesPassword = "r0utes-passw0rd"

// routeClients are typed clients, one per node, as elastic and as a user
// with only the monitor privilege.
type routeClients struct {
	c            *testcluster.Cluster
	admin, plain []*elasticsearch.TypedClient
	next         int
}

// pick returns the next node's clients, round-robin.
func (rc *routeClients) pick() (admin, plain *elasticsearch.TypedClient, node int) {
	i := rc.next % len(rc.admin)
	rc.next++
	return rc.admin[i], rc.plain[i], i
}

func newRouteClients(t *testing.T) *routeClients {
	// The native realm caches verified passwords, as Elasticsearch's does
	// by default (20m), so that a realm cache clear has something to drop.
	c := testcluster.New(t, 3, testcluster.Options{Settings: map[string]string{
		"xpack.security.authc.realms.native.default_native.cache.ttl": "20m"}})
	for _, w := range []struct{ path, body string }{
		{"/_security/role/rt_priv", `{"cluster":["monitor"],"indices":[{"names":["logs-*"],"privileges":["read"],` +
			`"field_security":{"grant":["title"]},"query":{"match":{"title":"foo"}}}],` +
			`"applications":[{"application":"rtapp","privileges":["read"],"resources":["*"]}],"run_as":["bob"],"description":"for routes"}`},
		{"/_security/user/rt_plain", `{"password":"` + routesPassword + `","roles":["rt_priv"],"full_name":"Plain User","email":"plain@example.com"}`},
		{"/_security/user/rt_other", `{"password":"` + routesPassword + `","roles":["viewer"],"enabled":false}`},
	} {
		if r := c.Do(0, "PUT", w.path, testcluster.Elastic, w.body); r.Status != 200 {
			t.Fatalf("PUT %s: %d %s", w.path, r.Status, r.Body)
		}
	}
	rc := &routeClients{c: c}
	for i := range 3 {
		for _, who := range []struct {
			user, pw string
			to       *[]*elasticsearch.TypedClient
		}{{"elastic", testcluster.ElasticPassword, &rc.admin}, {"rt_plain", routesPassword, &rc.plain}} {
			es, err := elasticsearch.NewTypedClient(elasticsearch.Config{Addresses: []string{c.URL(i)}, Username: who.user, Password: who.pw})
			if err != nil {
				t.Fatal(err)
			}
			*who.to = append(*who.to, es)
		}
	}
	return rc
}

// esError fails unless err is Elasticsearch's error with status and a
// reason containing reason.
func esError(t *testing.T, err error, status int, reason string) {
	t.Helper()
	var ee *types.ElasticsearchError
	if !errors.As(err, &ee) || ee.Status != status || ee.ErrorCause.Reason == nil || !strings.Contains(*ee.ErrorCause.Reason, reason) {
		t.Fatalf("got %v, want %d with %q", err, status, reason)
	}
}

func TestMissingRoutes(t *testing.T) {
	rc := newRouteClients(t)
	for _, sub := range []struct {
		name string
		run  func(*testing.T, *routeClients)
	}{
		{"get user privileges", routeGetUserPrivileges},
		{"cache clears answer for every node", routeCacheClearsAnswerForEveryNode},
		{"realm cache clear reaches every node", routeRealmCacheClearReachesEveryNode},
		{"bulk put roles", routeBulkPutRoles},
		{"query roles", routeQueryRoles},
		{"query users", routeQueryUsers},
		{"error_trace and filter_path on errors", routeConventionsOnErrors},
		{"cache clear with a node down", routeCacheClearWithANodeDown}, // last: stops a node
	} {
		t.Run(sub.name, func(t *testing.T) { sub.run(t, rc) })
	}
}

func routeGetUserPrivileges(t *testing.T, rc *routeClients) {
	ctx := context.Background()
	_, plain, _ := rc.pick()
	p, err := plain.Security.GetUserPrivileges().Do(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Cluster, []string{"monitor"}) || !slices.Equal(p.RunAs, []string{"bob"}) || len(p.Indices) != 1 ||
		!slices.Equal(p.Indices[0].Names, []string{"logs-*"}) || len(p.Applications) != 1 || p.Applications[0].Application != "rtapp" {
		t.Fatalf("privileges %+v", p)
	}
	if fs := p.Indices[0].FieldSecurity; len(fs) != 1 || !slices.Equal(fs[0].Grant, []string{"title"}) || len(p.Indices[0].Query) != 1 {
		t.Fatalf("document and field security %+v", p.Indices[0])
	}
	admin, _, _ := rc.pick()
	if p, err := admin.Security.GetUserPrivileges().Do(ctx); err != nil || !slices.Equal(p.Cluster, []string{"all"}) {
		t.Fatalf("elastic's privileges %+v, %v", p, err)
	}
	// Not the user named "_privileges": that route no longer takes it.
	key, err := admin.Security.CreateApiKey().Name("rt-key").
		RoleDescriptors(map[string]types.RoleDescriptor{"r": {Cluster: []clusterprivilege.ClusterPrivilege{clusterprivilege.Monitor}}}).Do(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := rc.c.Do(rc.next%3, "GET", "/_security/user/_privileges", "ApiKey "+key.Encoded, nil)
	checkESError(t, sweepResp{r.Status, r.Header, r.Body}, 400)
	if !strings.Contains(string(r.Body), "Cannot retrieve privileges for API keys with assigned role descriptors") {
		t.Fatalf("%s", r.Body)
	}
}

func routeCacheClearsAnswerForEveryNode(t *testing.T, rc *routeClients) {
	ctx := context.Background()
	for _, clear := range []func(*elasticsearch.TypedClient) (types.NodeStatistics, map[string]types.ClusterNode, error){
		func(es *elasticsearch.TypedClient) (types.NodeStatistics, map[string]types.ClusterNode, error) {
			r, err := es.Security.ClearCachedRealms("default_native").Usernames("rt_plain").Do(ctx)
			if err != nil {
				return types.NodeStatistics{}, nil, err
			}
			return r.NodeStats, r.Nodes, nil
		},
		func(es *elasticsearch.TypedClient) (types.NodeStatistics, map[string]types.ClusterNode, error) {
			r, err := es.Security.ClearCachedRealms("_all").Do(ctx)
			if err != nil {
				return types.NodeStatistics{}, nil, err
			}
			return r.NodeStats, r.Nodes, nil
		},
		func(es *elasticsearch.TypedClient) (types.NodeStatistics, map[string]types.ClusterNode, error) {
			r, err := es.Security.ClearCachedRoles("rt_priv").Do(ctx)
			if err != nil {
				return types.NodeStatistics{}, nil, err
			}
			return r.NodeStats, r.Nodes, nil
		},
		func(es *elasticsearch.TypedClient) (types.NodeStatistics, map[string]types.ClusterNode, error) {
			r, err := es.Security.ClearCachedPrivileges("rtapp").Do(ctx)
			if err != nil {
				return types.NodeStatistics{}, nil, err
			}
			return r.NodeStats, r.Nodes, nil
		},
	} {
		admin, plain, _ := rc.pick()
		stats, nodes, err := clear(admin)
		if err != nil || stats.Total != 3 || stats.Successful != 3 || stats.Failed != 0 || len(nodes) != 3 {
			t.Fatalf("%+v %v %v", stats, nodes, err)
		}
		for i := range 3 {
			if _, ok := nodes[rc.c.ID(i)]; !ok {
				t.Fatalf("node %s missing from %v", rc.c.ID(i), nodes)
			}
		}
		_, _, err = clear(plain)
		esError(t, err, 403, "is unauthorized for user [rt_plain] with effective roles [rt_priv]")
	}
	admin, _, _ := rc.pick()
	_, err := admin.Security.ClearCachedRealms("ldap1").Do(ctx)
	esError(t, err, 400, "could not find active realm [ldap1]")
}

// routeRealmCacheClearReachesEveryNode counts each node's password hash
// verifications: a cached user costs none, and after a clear through one
// node the user costs one again on every node.
func routeRealmCacheClearReachesEveryNode(t *testing.T, rc *routeClients) {
	user := testcluster.Basic("cached_user", routesPassword)
	if r := rc.c.Do(0, "PUT", "/_security/user/cached_user", testcluster.Elastic,
		`{"password":"`+routesPassword+`","roles":["viewer"]}`); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	verifications := func(i int) float64 {
		r := rc.c.Do(i, "GET", "/_tokenstore/stats", testcluster.Elastic, nil)
		return r.JSON()["authentication"].(map[string]any)["hash_verifications"].(float64)
	}
	authenticate := func() {
		for i := range 3 {
			if r := rc.c.Do(i, "GET", "/_security/_authenticate", user, nil); r.Status != 200 {
				t.Fatalf("node %d: %d %s", i, r.Status, r.Body)
			}
		}
	}
	authenticate() // fills every node's cache
	before := []float64{verifications(0), verifications(1), verifications(2)}
	authenticate()
	for i := range 3 {
		if v := verifications(i); v != before[i] {
			t.Fatalf("node %d verified a cached password: %v -> %v", i, before[i], v)
		}
	}
	admin, _, _ := rc.pick()
	if _, err := admin.Security.ClearCachedRealms("default_native").Usernames("cached_user").Do(context.Background()); err != nil {
		t.Fatal(err)
	}
	authenticate()
	for i := range 3 {
		if v := verifications(i); v != before[i]+1 {
			t.Fatalf("node %d after the clear: %v verifications, want %v", i, v, before[i]+1)
		}
	}
}

func routeBulkPutRoles(t *testing.T, rc *routeClients) {
	ctx := context.Background()
	admin, plain, _ := rc.pick()
	monitor := types.RoleDescriptor{Cluster: []clusterprivilege.ClusterPrivilege{clusterprivilege.Monitor}}
	manage := types.RoleDescriptor{Cluster: []clusterprivilege.ClusterPrivilege{clusterprivilege.Manage}}
	res, err := admin.Security.BulkPutRole().Roles(map[string]types.RoleDescriptor{"rt_b1": monitor, "rt_b2": monitor}).Do(ctx)
	if err != nil || len(res.Created) != 2 || res.Updated != nil || res.Noop != nil || res.Errors != nil {
		t.Fatalf("%+v %v", res, err)
	}
	admin, _, node := rc.pick()
	res, err = admin.Security.BulkPutRole().Request(&bulkputrole.Request{Roles: map[string]types.RoleDescriptor{
		"rt_b1": monitor, "rt_b2": manage, "superuser": monitor}}).Do(ctx)
	if err != nil || !slices.Equal(res.Noop, []string{"rt_b1"}) || !slices.Equal(res.Updated, []string{"rt_b2"}) || res.Created != nil ||
		res.Errors == nil || res.Errors.Count != 1 || res.Errors.Details["superuser"].Type != "action_request_validation_exception" {
		t.Fatalf("%+v %v", res, err)
	}
	got := rc.c.Do((node+1)%3, "GET", "/_security/role/rt_b2", testcluster.Elastic, nil)
	if !strings.Contains(string(got.Body), `"cluster":["manage"]`) {
		t.Fatalf("rt_b2 on another node: %s", got.Body)
	}
	_, err = plain.Security.BulkPutRole().Roles(map[string]types.RoleDescriptor{"rt_b3": monitor}).Do(ctx)
	esError(t, err, 403, "action [cluster:admin/xpack/security/role/bulk_put] is unauthorized for user [rt_plain]")
	// A body that does not parse writes nothing, not even its valid roles.
	for _, body := range []string{`{"roles":{"rt_b4":{"cluster":["monitor"]},"rt_b5":{"clusters":[]}}}`, `{"roles":[]}`, `{"roles":{}}`, `{}`} {
		r := rc.c.Do(rc.next%3, "POST", "/_security/role", testcluster.Elastic, body)
		checkESError(t, sweepResp{r.Status, r.Header, r.Body}, 400)
	}
	for i := range 3 {
		if r := rc.c.Do(i, "GET", "/_security/role/rt_b4", testcluster.Elastic, nil); r.Status != 404 {
			t.Fatalf("a refused bulk wrote rt_b4 on node %d: %d %s", i, r.Status, r.Body)
		}
	}
}

func routeQueryRoles(t *testing.T, rc *routeClients) {
	ctx := context.Background()
	admin, plain, _ := rc.pick()
	res, err := admin.Security.QueryRole().Raw(strings.NewReader(
		`{"query":{"bool":{"should":[{"prefix":{"name":"rt_b"}},{"match":{"description":"for routes"}}]}},"sort":[{"name":"desc"}],"size":2}`)).Do(ctx)
	if err != nil || res.Total != 3 || res.Count != 2 || res.Roles[0].Name != "rt_priv" || res.Roles[1].Name != "rt_b2" ||
		len(res.Roles[0].Sort_) != 1 || res.Roles[0].Sort_[0] != "rt_priv" {
		t.Fatalf("%+v %v", res, err)
	}
	res, err = admin.Security.QueryRole().Raw(strings.NewReader(
		`{"query":{"term":{"applications.application":"rtapp"}},"sort":["name"],"search_after":["rt_a"]}`)).Do(ctx)
	if err != nil || res.Total != 1 || res.Roles[0].Name != "rt_priv" || res.Roles[0].Description == nil {
		t.Fatalf("%+v %v", res, err)
	}
	_, err = admin.Security.QueryRole().Raw(strings.NewReader(`{"query":{"term":{"run_as":"bob"}}}`)).Do(ctx)
	esError(t, err, 400, "Field [run_as] is not allowed for querying or aggregation")
	_, err = plain.Security.QueryRole().Do(ctx)
	esError(t, err, 403, "action [cluster:admin/xpack/security/role/query] is unauthorized for user [rt_plain]")
}

func routeQueryUsers(t *testing.T, rc *routeClients) {
	ctx := context.Background()
	admin, plain, _ := rc.pick()
	res, err := admin.Security.QueryUser().WithProfileUid(true).Raw(strings.NewReader(
		`{"query":{"prefix":{"username":"rt_"}},"sort":["username"]}`)).Do(ctx)
	if err != nil || res.Total != 2 || res.Users[0].Username != "rt_other" || res.Users[1].Username != "rt_plain" ||
		res.Users[1].FullName == nil || *res.Users[1].FullName != "Plain User" || res.Users[1].Sort_[0] != "rt_plain" {
		t.Fatalf("%+v %v", res, err)
	}
	res, err = admin.Security.QueryUser().Raw(strings.NewReader(`{"query":{"bool":{"filter":[{"term":{"enabled":false}}]}}}`)).Do(ctx)
	if err != nil || res.Total != 1 || res.Users[0].Username != "rt_other" || res.Users[0].Enabled {
		t.Fatalf("%+v %v", res, err)
	}
	_, err = admin.Security.QueryUser().Raw(strings.NewReader(`{"sort":["email"]}`)).Do(ctx)
	esError(t, err, 400, "sorting is not supported for field [email]")
	_, err = admin.Security.QueryUser().Raw(strings.NewReader(`{"query":{"term":{"password":"x"}}}`)).Do(ctx)
	esError(t, err, 400, "Field [password] is not allowed for querying or aggregation")
	_, err = plain.Security.QueryUser().Do(ctx)
	esError(t, err, 403, "action [cluster:admin/xpack/security/user/query] is unauthorized for user [rt_plain]")
}

func routeConventionsOnErrors(t *testing.T, rc *routeClients) {
	r := rc.c.Do(rc.next%3, "GET", "/_security/user/_privileges?filter_path=error.type,status", "", nil)
	if r.Status != 401 || string(r.Body) != `{"error":{"type":"security_exception"},"status":401}` {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	r = rc.c.Do(rc.next%3, "POST", "/_security/_query/user?error_trace=true&filter_path=error.stack_trace", testcluster.Elastic, `{"size":-1}`)
	if r.Status != 400 || !strings.Contains(string(r.Body), `"stack_trace":"ElasticsearchException[illegal_argument_exception: [size] parameter cannot be negative`) {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	r = rc.c.Do(rc.next%3, "POST", "/_security/_query/user?filter_path=error.stack_trace", testcluster.Elastic, `{"size":-1}`)
	if r.Status != 400 || string(r.Body) != `{}` {
		t.Fatalf("stack trace without error_trace: %d %s", r.Status, r.Body)
	}
}

// routeCacheClearWithANodeDown runs last: it stops a node. A member that
// does not answer is a failure of the envelope, not of the call.
func routeCacheClearWithANodeDown(t *testing.T, rc *routeClients) {
	ctx := context.Background()
	rc.c.Stop(2)
	r, err := rc.admin[0].Security.ClearCachedRealms("_all").Do(ctx)
	if err != nil || r.NodeStats.Total != 3 || r.NodeStats.Successful != 2 || r.NodeStats.Failed != 1 ||
		len(r.NodeStats.Failures) != 1 || r.NodeStats.Failures[0].Type != "failed_node_exception" || len(r.Nodes) != 2 {
		t.Fatalf("%+v %v", r, err)
	}
	if _, ok := r.Nodes[rc.c.ID(2)]; ok {
		t.Fatalf("the stopped node is listed as cleared: %v", r.Nodes)
	}
}
