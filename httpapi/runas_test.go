package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/tokenstore/tokenstore/fsm"
	"github.com/tokenstore/tokenstore/httpapi"
	"github.com/tokenstore/tokenstore/testcluster"
)

// runAsDo sends a request with the run-as header to node i.
func runAsDo(t *testing.T, c *testcluster.Cluster, i int, method, path, auth, runAs string, body any) testcluster.Response {
	t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, err := http.NewRequest(method, c.URL(i)+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("es-security-runas-user", runAs)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	return testcluster.Response{Status: resp.StatusCode, Body: out.Bytes()}
}

func reasonOf(r testcluster.Response) string {
	e, _ := r.JSON()["error"].(map[string]any)
	s, _ := e["reason"].(string)
	return s
}

// Issue 14, item 9: es-security-runas-user, round-robin over three nodes.
func TestRunAs(t *testing.T) {
	c := testcluster.New(t, 3)
	putRole(t, c, "ra_runner", map[string]any{"cluster": []string{"manage_own_api_key"}, "run_as": []string{"ra_alice", "ra_off", "ra_ghost"}})
	putRole(t, c, "ra_reader", map[string]any{"cluster": []string{"read_security", "manage_own_api_key"}})
	runner := putUser(t, c, "ra_runner", "runner-password", "ra_runner")
	putUser(t, c, "ra_alice", "alice-password", "ra_reader")
	putUser(t, c, "ra_bob", "bob-password", "ra_reader")
	putUser(t, c, "ra_off", "off-password", "ra_reader")
	if r := c.Do(0, http.MethodPut, "/_security/user/ra_off/_disable", testcluster.Elastic, nil); r.Status != 200 {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}

	t.Run("authenticate as the run-as user", func(t *testing.T) { runAsAuthenticates(t, c, runner) })
	t.Run("refused with Elasticsearch's 403", func(t *testing.T) { runAsRefusals(t, c, runner) })
	t.Run("authorized by the run-as user's roles", func(t *testing.T) { runAsAuthorizesByTheTarget(t, c, runner) })
	t.Run("writes are the run-as user's, on every node", func(t *testing.T) { runAsWritesAreTheTargets(t, c, runner) })
	t.Run("the leader checks the run-as of a forwarded write again", func(t *testing.T) { runAsForwardedIsCheckedAgain(t, c, runner) })
	t.Run("API keys by their own and limited_by descriptors", func(t *testing.T) { runAsAPIKeys(t, c, runner) })
}

// runAsAuthenticates: authenticate as the run-as user.
func runAsAuthenticates(t *testing.T, c *testcluster.Cluster, runner string) {
	for i := range 3 {
		r := runAsDo(t, c, i, http.MethodGet, "/_security/_authenticate", runner, "ra_alice", nil)
		m := r.JSON()
		ar, _ := m["authentication_realm"].(map[string]any)
		lr, _ := m["lookup_realm"].(map[string]any)
		if r.Status != 200 || m["username"] != "ra_alice" || ar["name"] != "default_native" || lr["name"] != "default_native" ||
			m["authentication_type"] != "realm" {
			t.Fatalf("node %d: %d %s", i, r.Status, r.Body)
		}
	}
	// The official client, with the header on the request: elastic
	// authenticates in the reserved realm and alice is looked up.
	es, err := elasticsearch.NewTypedClient(elasticsearch.Config{Addresses: []string{c.URL(1)}, Username: "elastic", Password: testcluster.ElasticPassword})
	if err != nil {
		t.Fatal(err)
	}
	who, err := es.Security.Authenticate().Header("es-security-runas-user", "ra_alice").Do(context.Background())
	if err != nil || who.Username != "ra_alice" || who.AuthenticationRealm.Name != "reserved" || who.LookupRealm.Name != "default_native" ||
		len(who.Roles) != 1 || who.Roles[0] != "ra_reader" {
		t.Fatalf("typed Authenticate: %+v %v", who, err)
	}
}

// runAsRefusals: refused with Elasticsearch's 403.
func runAsRefusals(t *testing.T, c *testcluster.Cluster, runner string) {
	for i, target := range []string{"ra_bob", "ra_ghost", "ra_off", ""} {
		r := runAsDo(t, c, i%3, http.MethodGet, "/_security/_authenticate", runner, target, nil)
		want := "action [cluster:admin/xpack/security/user/authenticate] is unauthorized for user [ra_runner] with effective roles [ra_runner], because user [ra_runner] is unauthorized to run as [" + target + "]"
		if r.Status != 403 || reasonOf(r) != want {
			t.Errorf("run as %q: %d %s", target, r.Status, r.Body)
		}
	}
	// The refusal names the transport action Elasticsearch's REST handler
	// sends, not the path.
	for i, rt := range []struct{ method, path, action string }{
		{http.MethodPost, "/_security/_query/role", "cluster:admin/xpack/security/role/query"},
		{http.MethodGet, "/_security/_query/user", "cluster:admin/xpack/security/user/query"},
		{http.MethodGet, "/_security/user/_privileges", "cluster:admin/xpack/security/user/list_privileges"},
		{http.MethodPost, "/_security/role/ra_reader/_clear_cache", "cluster:admin/xpack/security/roles/cache/clear"},
		{http.MethodPost, "/_security/api_key/raNoSuchKey/_clear_cache", "cluster:admin/xpack/security/cache/clear"},
		{http.MethodPost, "/_security/api_key/_bulk_update", "cluster:admin/xpack/security/api_key/bulk_update"},
		{http.MethodPost, "/_security/profile/_activate", "cluster:admin/xpack/security/profile/activate"},
		{http.MethodPost, "/_security/cross_cluster/api_key", "cluster:admin/xpack/security/cross_cluster/api_key/create"},
		{http.MethodGet, "/_cat/nodes", "cluster:monitor/state"},
	} {
		r := runAsDo(t, c, i%3, rt.method, rt.path, runner, "ra_bob", nil)
		want := "action [" + rt.action + "] is unauthorized for user [ra_runner] with effective roles [ra_runner], because user [ra_runner] is unauthorized to run as [ra_bob]"
		if r.Status != 403 || reasonOf(r) != want {
			t.Errorf("%s %s: %d %s", rt.method, rt.path, r.Status, r.Body)
		}
	}
	// Get token is two actions, by the grant in its body: a refresh_token
	// grant is RefreshTokenAction, the others CreateTokenAction.
	for i, grant := range []struct {
		body   map[string]any
		action string
	}{
		{map[string]any{"grant_type": "refresh_token", "refresh_token": "raNoSuchToken"}, "token/refresh"},
		{map[string]any{"grant_type": "client_credentials"}, "token/create"},
		{map[string]any{"grant_type": "password", "username": "ra_bob", "password": "x"}, "token/create"},
	} {
		r := runAsDo(t, c, i%3, http.MethodPost, "/_security/oauth2/token", runner, "ra_bob", grant.body)
		want := "action [cluster:admin/xpack/security/" + grant.action + "] is unauthorized for user [ra_runner] with effective roles [ra_runner], because user [ra_runner] is unauthorized to run as [ra_bob]"
		if r.Status != 403 || reasonOf(r) != want {
			t.Errorf("get token with %v: %d %s", grant.body, r.Status, r.Body)
		}
	}
}

// Every route the router holds names the action its requests perform, for
// a run-as refusal (and the audit log); and every row of that table is a
// route's. Walked, not listed: a new route is in the test at once.
func TestEveryRouteNamesItsAction(t *testing.T) {
	c := testcluster.New(t, 1)
	routes := c.Node(0).Routes()
	if len(routes) < 50 {
		t.Fatalf("the router lists %d routes", len(routes))
	}
	used := map[string]bool{}
	for _, rt := range routes {
		// Node-to-node endpoints: a peer carries a run-as in the
		// credential it passes on, never in the header. Forward-auth is
		// not authenticated through the API's routes.
		if strings.HasPrefix(rt.Path, "/_tokenstore/internal") || rt.Path == "forward_auth" {
			continue
		}
		if len(rt.Methods) == 0 {
			t.Errorf("route %s takes any method", rt.Path)
		}
		for _, m := range rt.Methods {
			action, ok := httpapi.RouteAction(m, rt.Path)
			if !ok || !strings.HasPrefix(action, "cluster:") {
				t.Errorf("%s %s names no action (%q)", m, rt.Path, action)
			}
			used[m+" "+rt.Path], used[rt.Path] = true, true
		}
	}
	for _, k := range httpapi.RouteActionKeys() {
		if !used[k] {
			t.Errorf("the action table's row %q is no route's", k)
		}
	}
}

// runAsAuthorizesByTheTarget: authorized by the run-as user's roles.
func runAsAuthorizesByTheTarget(t *testing.T, c *testcluster.Cluster, runner string) {
	if r := c.Do(1, http.MethodGet, "/_security/user/ra_bob", runner, nil); r.Status != 403 {
		t.Fatalf("runner itself lists users: %d", r.Status)
	}
	if r := runAsDo(t, c, 2, http.MethodGet, "/_security/user/ra_bob", runner, "ra_alice", nil); r.Status != 200 {
		t.Fatalf("as alice: %d %s", r.Status, r.Body)
	}
	r := runAsDo(t, c, 0, http.MethodPut, "/_security/role/ra_new", testcluster.Elastic, "ra_alice", map[string]any{"cluster": []string{"all"}})
	want := "action [cluster:admin/xpack/security/role/put] is unauthorized for user [elastic] run as [ra_alice] with effective roles [ra_reader], this action is granted by the cluster privileges [manage_security,all]"
	if r.Status != 403 || reasonOf(r) != want {
		t.Fatalf("superuser as alice puts a role: %d %s", r.Status, r.Body)
	}
	if r := c.Do(0, http.MethodGet, "/_security/role/ra_new", testcluster.Elastic, nil); r.Status != 404 {
		t.Fatalf("the refused role exists: %d", r.Status)
	}
	// The get token body, read for the run-as action, is still the
	// handler's: a refresh by alice is refused by her roles, not as empty.
	r = runAsDo(t, c, 1, http.MethodPost, "/_security/oauth2/token", testcluster.Elastic, "ra_alice",
		map[string]any{"grant_type": "refresh_token", "refresh_token": "raNoSuchToken"})
	want = "action [cluster:admin/xpack/security/token/refresh] is unauthorized for user [elastic] run as [ra_alice] with effective roles [ra_reader], this action is granted by the cluster privileges [manage_saml,manage_token,manage_security,all]"
	if r.Status != 403 || reasonOf(r) != want {
		t.Fatalf("superuser as alice refreshes a token: %d %s", r.Status, r.Body)
	}
}

// runAsWritesAreTheTargets: writes are the run-as user's, on every node.
func runAsWritesAreTheTargets(t *testing.T, c *testcluster.Cluster, runner string) {
	for i := range 3 {
		r := runAsDo(t, c, i, http.MethodPost, "/_security/api_key", runner, "ra_alice", map[string]any{"name": "ra-key"})
		id, _ := r.JSON()["id"].(string)
		if r.Status != 200 || id == "" {
			t.Fatalf("node %d create: %d %s", i, r.Status, r.Body)
		}
		got := c.Do((i+1)%3, http.MethodGet, "/_security/api_key?id="+id, testcluster.Elastic, nil)
		keys, _ := got.JSON()["api_keys"].([]any)
		if len(keys) != 1 || keys[0].(map[string]any)["username"] != "ra_alice" {
			t.Fatalf("node %d: key owner: %s", i, got.Body)
		}
	}
}

// runAsForwardedIsCheckedAgain: the leader checks the run-as of a forwarded write again.
func runAsForwardedIsCheckedAgain(t *testing.T, c *testcluster.Cluster, runner string) {
	reader := map[string]fsm.RoleDescriptor{"ra_reader": {Cluster: []string{"read_security", "manage_own_api_key"},
		Indices: []fsm.IndicesPrivileges{}, Applications: []fsm.ApplicationPrivileges{}, RunAs: []string{}}}
	key := func(owner string) fsm.APIKeyCreatedV1 {
		return fsm.APIKeyCreatedV1{Key: fsm.APIKey{ID: fmt.Sprintf("raforged%012d", len(owner)), Name: "k", Type: "rest",
			Hash:     "{SSHA256}AAAAAAAAAAA=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
			Creation: time.Now().UnixMilli(), RoleDescriptors: map[string]fsm.RoleDescriptor{}, LimitedBy: reader, Creator: fsm.Creator{Principal: owner, Realm: "default_native", RealmType: "native"}}}
	}
	for _, tc := range []struct {
		cred, owner string
		ok          bool
	}{
		{runner + "\trun-as:ra_bob", "ra_bob", false}, // not granted to run as bob
		{runner + "\trun-as:ra_off", "ra_off", false}, // disabled
		{runner, "ra_alice", false},                   // no run-as: the runner is not alice
	} {
		if r := forge(t, c, tc.cred, "", key(tc.owner)); r.Status == 200 {
			t.Errorf("forged for %s accepted: %s", tc.owner, r.Body)
		}
	}
	// The same credential, run as a user it may run as, is taken: the
	// refusals above are the run-as check's.
	if r := forge(t, c, runner+"\trun-as:ra_alice", "", key("ra_alice")); r.Status != 200 {
		t.Errorf("forged for alice, allowed: %d %s", r.Status, r.Body)
	}
	if r := c.Do(0, http.MethodGet, "/_security/api_key?id=raforged000000000006", testcluster.Elastic, nil); r.Status != 404 {
		t.Errorf("a refused forged key exists: %d %s", r.Status, r.Body)
	}
}

// runAsAPIKeys: API keys by their own and limited_by descriptors.
func runAsAPIKeys(t *testing.T, c *testcluster.Cluster, runner string) {
	mk := func(body map[string]any) string {
		r := c.Do(0, http.MethodPost, "/_security/api_key", runner, body)
		enc, _ := r.JSON()["encoded"].(string)
		if r.Status != 200 || enc == "" {
			t.Fatalf("create key: %d %s", r.Status, r.Body)
		}
		return "ApiKey " + enc
	}
	inherits := mk(map[string]any{"name": "ra-inherits"})
	r := runAsDo(t, c, 1, http.MethodGet, "/_security/_authenticate", inherits, "ra_alice", nil)
	m := r.JSON()
	ak, _ := m["api_key"].(map[string]any)
	if r.Status != 200 || m["username"] != "ra_alice" || m["authentication_type"] != "api_key" || ak["name"] != "ra-inherits" {
		t.Fatalf("key as alice: %d %s", r.Status, r.Body)
	}
	narrow := mk(map[string]any{"name": "ra-narrow", "role_descriptors": map[string]any{"r": map[string]any{"cluster": []string{"manage_own_api_key"}}}})
	r = runAsDo(t, c, 2, http.MethodGet, "/_security/_authenticate", narrow, "ra_alice", nil)
	if r.Status != 403 || !bytes.Contains(r.Body, []byte("is unauthorized to run as [ra_alice]")) || !bytes.Contains(r.Body, []byte("API key id [")) {
		t.Fatalf("key without run_as: %d %s", r.Status, r.Body)
	}
}
