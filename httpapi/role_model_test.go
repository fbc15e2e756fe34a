package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/indexprivilege"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/remoteclusterprivilege"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/testcluster"
)

func typedClient(t *testing.T, c *testcluster.Cluster, i int) *elasticsearch.TypedClient {
	t.Helper()
	es, err := elasticsearch.NewTypedClient(elasticsearch.Config{Addresses: []string{c.URL(i)}, Username: "elastic", Password: testcluster.ElasticPassword})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// errorOf is an error answer's type, reason and caused_by type.
func errorOf(r testcluster.Response) (typ, reason, cause string) {
	e, _ := r.JSON()["error"].(map[string]any)
	cb, _ := e["caused_by"].(map[string]any)
	typ, _ = e["type"].(string)
	reason, _ = e["reason"].(string)
	cause, _ = cb["type"].(string)
	return typ, reason, cause
}

// Issue 14, item 4: the role model of 8.17, round-robin over three nodes.
func TestRoleModel817(t *testing.T) {
	c := testcluster.New(t, 3)

	t.Run("description, remote_indices and remote_cluster round-trip", func(t *testing.T) { roleRemoteFieldsRoundTrip(t, c) })
	t.Run("builtin privileges are 8.17's", func(t *testing.T) { builtinPrivilegesAre817(t, c) })
	t.Run("bad bodies are 400 and change nothing", func(t *testing.T) { badRoleBodiesChangeNothing(t, c) })
	t.Run("API keys carry remote_cluster in role_descriptors and limited_by", func(t *testing.T) { apiKeysCarryRemoteCluster(t, c) })
}

// roleRemoteFieldsRoundTrip: description, remote_indices and remote_cluster round-trip.
func roleRemoteFieldsRoundTrip(t *testing.T, c *testcluster.Cluster) {
	put, err := typedClient(t, c, 0).Security.PutRole("rm_remote").Description("reads remote logs").
		Indices(types.IndicesPrivileges{Names: []string{"logs-*"}, Privileges: []indexprivilege.IndexPrivilege{indexprivilege.Read},
			Query: map[string]any{"term": map[string]any{"team": "a"}}}).
		RemoteIndices(types.RemoteIndicesPrivileges{Clusters: []string{"eu-*"}, Names: []string{"logs-*"}, Privileges: []indexprivilege.IndexPrivilege{indexprivilege.Read}}).
		RemoteCluster(types.RemoteClusterPrivileges{Clusters: []string{"eu-*"}, Privileges: []remoteclusterprivilege.RemoteClusterPrivilege{remoteclusterprivilege.Monitorenrich}}).
		Do(context.Background())
	if err != nil || !put.Role.Created {
		t.Fatalf("PutRole: %+v %v", put, err)
	}
	got, err := typedClient(t, c, 1).Security.GetRole().Name("rm_remote").Do(context.Background())
	r := got["rm_remote"]
	if err != nil || r.Description == nil || *r.Description != "reads remote logs" || len(r.RemoteCluster) != 1 ||
		r.RemoteCluster[0].Privileges[0].String() != "monitor_enrich" || len(r.RemoteIndices) != 1 || r.RemoteIndices[0].Clusters[0] != "eu-*" {
		t.Fatalf("GetRole on another node: %+v %v", r, err)
	}
}

// builtinPrivilegesAre817: builtin privileges are 8.17's.
func builtinPrivilegesAre817(t *testing.T, c *testcluster.Cluster) {
	b, err := typedClient(t, c, 2).Security.GetBuiltinPrivileges().Do(context.Background())
	if err != nil || len(b.Cluster) != 62 || len(b.Index) != 23 || len(b.RemoteCluster) != 2 ||
		b.RemoteCluster[0].String() != "monitor_enrich" || b.RemoteCluster[1].String() != "monitor_stats" {
		t.Fatalf("builtin: %d cluster, %d index, %v, %v", len(b.Cluster), len(b.Index), b.RemoteCluster, err)
	}
}

// badRoleBodiesChangeNothing: bad bodies are 400 and change nothing.
func badRoleBodiesChangeNothing(t *testing.T, c *testcluster.Cluster) {
	for i, tc := range []struct {
		name                string
		body                string
		typ, reason, caused string
	}{
		{"terms lookup", `{"indices":[{"names":["a"],"privileges":["read"],"query":{"terms":{"u":{"index":"users","id":"1","path":"p"}}}}]}`,
			"parse_exception", "failed to parse field 'query' for indices [a] at index privilege [0] of role descriptor", "illegal_argument_exception"},
		{"has_child", `{"indices":[{"names":["x","y"],"privileges":["read"]},{"names":["b"],"privileges":["read"],"query":"{\"has_child\":{\"type\":\"c\",\"query\":{\"match_all\":{}}}}"}]}`,
			"parse_exception", "failed to parse field 'query' for indices [b] at index privilege [1] of role descriptor", "illegal_argument_exception"},
		{"not a query", `{"indices":[{"names":["a"],"privileges":["read"],"query":{"not_a_query":{}}}]}`,
			"parse_exception", "failed to parse field 'query' for indices [a] at index privilege [0] of role descriptor", "parsing_exception"},
		{"remote_cluster privilege", `{"remote_cluster":[{"clusters":["*"],"privileges":["monitor_enrich","manage"]}]}`,
			"illegal_argument_exception", "Invalid remote_cluster permissions found. Please remove the following: [manage] Only [monitor_enrich, monitor_stats] are allowed", ""},
		{"remote_indices without clusters", `{"remote_indices":[{"names":["a"],"privileges":["read"]}]}`,
			"action_request_validation_exception", "Validation Failed: 1: remote index privileges must refer to at least one cluster alias or cluster alias pattern;", ""},
	} {
		r := c.Do(i%3, http.MethodPut, "/_security/role/rm_bad", testcluster.Elastic, tc.body)
		typ, reason, caused := errorOf(r)
		if r.Status != 400 || typ != tc.typ || reason != tc.reason || caused != tc.caused {
			t.Errorf("%s: %d %s", tc.name, r.Status, r.Body)
		}
	}
	if r := c.Do(1, http.MethodGet, "/_security/role/rm_bad", testcluster.Elastic, nil); r.Status != 404 {
		t.Errorf("a refused role exists: %d %s", r.Status, r.Body)
	}
}

// apiKeysCarryRemoteCluster: API keys carry remote_cluster in role_descriptors and limited_by.
func apiKeysCarryRemoteCluster(t *testing.T, c *testcluster.Cluster) {
	putRole(t, c, "rm_owner", map[string]any{"cluster": []string{"manage_own_api_key"},
		"remote_cluster": []any{map[string]any{"clusters": []string{"eu-*"}, "privileges": []string{"monitor_stats"}}}})
	owner := putUser(t, c, "rm_owner", "owner-password", "rm_owner")
	r := c.Do(1, http.MethodPost, "/_security/api_key", owner, map[string]any{"name": "rm-key", "role_descriptors": map[string]any{
		"r": map[string]any{"remote_cluster": []any{map[string]any{"clusters": []string{"eu-1"}, "privileges": []string{"monitor_enrich"}}}}}})
	id, _ := r.JSON()["id"].(string)
	enc, _ := r.JSON()["encoded"].(string)
	if r.Status != 200 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	// The owner sees its key's limited_by (manage_own_api_key), on any node.
	got := c.Do(2, http.MethodGet, "/_security/api_key?owner=true&with_limited_by=true&id="+id, owner, nil)
	if got.Status != 200 || !strings.Contains(string(got.Body), `"remote_cluster":[{"privileges":["monitor_enrich"],"clusters":["eu-1"]}]`) ||
		!strings.Contains(string(got.Body), `"remote_cluster":[{"privileges":["monitor_stats"],"clusters":["eu-*"]}]`) {
		t.Fatalf("get with limited_by as the owner: %d %s", got.Status, got.Body)
	}
	// The key itself may not: that needs manage_api_key.
	for _, path := range []string{"/_security/api_key?with_limited_by=true&id=" + id, "/_security/_query/api_key?with_limited_by=true"} {
		r := c.Do(0, http.MethodGet, path, "ApiKey "+enc, nil)
		if _, reason, _ := errorOf(r); r.Status != 403 || !strings.HasPrefix(reason, "action [cluster:admin/xpack/security/api_key/") ||
			!strings.Contains(reason, "is unauthorized for API key id ["+id+"] of user [rm_owner]") {
			t.Errorf("%s as the key: %d %s", path, r.Status, r.Body)
		}
	}
}

// Issue 14, item 5: API key names and password hashes as Elasticsearch.
func TestRulesOf817(t *testing.T) {
	c := testcluster.New(t, 3)
	t.Run("API key names", func(t *testing.T) {
		for i, tc := range []struct{ name, msg string }{
			{"\x00lead", "Validation Failed: 1: api key name may not begin or end with whitespace;"},
			{"trail\x1f", "Validation Failed: 1: api key name may not begin or end with whitespace;"},
			{"_under", "Validation Failed: 1: api key name may not begin with an underscore;"},
			{strings.Repeat("n", 257), "Validation Failed: 1: api key name may not be more than 256 characters long;"},
		} {
			r := c.Do(i%3, http.MethodPost, "/_security/api_key", testcluster.Elastic, map[string]any{"name": tc.name})
			if typ, reason, _ := errorOf(r); r.Status != 400 || typ != "action_request_validation_exception" || reason != tc.msg {
				t.Errorf("%q: %d %s", tc.name, r.Status, r.Body)
			}
		}
		keys := c.Do(1, http.MethodGet, "/_security/api_key", testcluster.Elastic, nil).JSON()["api_keys"].([]any)
		if len(keys) != 0 {
			t.Errorf("refused keys were created: %v", keys)
		}
	})

	t.Run("password_hash of every Elasticsearch password hasher", func(t *testing.T) {
		// testcluster hashes with bcrypt4; these are other algorithms.
		pbkdf2, _ := authn.NewHasher("pbkdf2_1000")
		stretch, _ := authn.NewHasher("pbkdf2_stretch_1000")
		for i, h := range []authn.Hasher{pbkdf2, stretch} {
			hash, err := h.Hash([]byte("hashed-password"))
			if err != nil {
				t.Fatal(err)
			}
			name := "rm_hash" + string(rune('a'+i))
			put, err := typedClient(t, c, i%3).Security.PutUser(name).PasswordHash(hash).Roles("viewer").Do(context.Background())
			if err != nil || !put.Created {
				t.Fatalf("%s: %+v %v", h.Name(), put, err)
			}
			if r := c.Do((i+1)%3, http.MethodGet, "/_security/_authenticate", testcluster.Basic(name, "hashed-password"), nil); r.Status != 200 {
				t.Errorf("%s: login on another node: %d %s", h.Name(), r.Status, r.Body)
			}
		}
		r := c.Do(2, http.MethodPut, "/_security/user/rm_ssha", testcluster.Elastic, map[string]any{"roles": []string{},
			"password_hash": "{SSHA256}AAAAAAAAAAA=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="})
		typ, reason, _ := errorOf(r)
		if r.Status != 400 || typ != "illegal_argument_exception" || !strings.HasSuffix(reason,
			"The supported password hash algorithms are [bcrypt, bcrypt4, bcrypt5, bcrypt6, bcrypt7, bcrypt8, bcrypt9, bcrypt10, bcrypt11, bcrypt12, bcrypt13, bcrypt14, pbkdf2, pbkdf2_1000, pbkdf2_10000, pbkdf2_50000, pbkdf2_100000, pbkdf2_500000, pbkdf2_1000000, pbkdf2_stretch, pbkdf2_stretch_1000, pbkdf2_stretch_10000, pbkdf2_stretch_50000, pbkdf2_stretch_100000, pbkdf2_stretch_500000, pbkdf2_stretch_1000000]") {
			t.Errorf("ssha256: %d %s", r.Status, r.Body)
		}
		if r := c.Do(0, http.MethodGet, "/_security/user/rm_ssha", testcluster.Elastic, nil); r.Status != 404 {
			t.Errorf("refused user exists: %d", r.Status)
		}
	})
}
