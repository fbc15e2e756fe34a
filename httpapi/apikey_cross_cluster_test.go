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
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/createcrossclusterapikey"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/updatecrossclusterapikey"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/apikeytype"

	"github.com/tokenstore/tokenstore/fsm"
	"github.com/tokenstore/tokenstore/httpapi"
	"github.com/tokenstore/tokenstore/testcluster"
)

const ccPassword = "cc-passw0rd-long"

// crossClusterCluster is three TLS nodes with an admin (manage_security)
// and a manage_api_key user, and typed clients on each node for the admin.
func crossClusterCluster(t *testing.T) (*testcluster.Cluster, []*elasticsearch.TypedClient, map[string]string) {
	c := testcluster.New(t, 3, testcluster.Options{TLS: true,
		Settings: map[string]string{"tokenstore.authc.throttle.enabled": "false"}})
	putRole(t, c, "cc_admin", map[string]any{"cluster": []string{"manage_security"}})
	putRole(t, c, "cc_keys", map[string]any{"cluster": []string{"manage_api_key"}})
	who := map[string]string{
		"admin": putUser(t, c, "cc_admin", ccPassword, "cc_admin"),
		"keys":  putUser(t, c, "cc_keys", ccPassword, "cc_keys"),
	}
	caPEM, _, err := testcluster.TestCA().PEM()
	if err != nil {
		t.Fatal(err)
	}
	var clients []*elasticsearch.TypedClient
	for i := 0; i < c.Len(); i++ {
		es, err := elasticsearch.NewTypedClient(elasticsearch.Config{Addresses: []string{c.URL(i)}, Username: "cc_admin",
			Password: ccPassword, CACert: caPEM})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, es)
	}
	return c, clients, who
}

func ccSend(t *testing.T, c *testcluster.Cluster, i int, method, path, auth, body string) sweepResp {
	t.Helper()
	return sweepSend(t, c.URL(i%c.Len()), method, path, auth, []byte(body), nil)
}

func ccWantReason(t *testing.T, r sweepResp, status int, reason string) {
	t.Helper()
	checkESError(t, r, status)
	if !strings.Contains(string(r.body), reason) {
		t.Fatalf("got %.400s, want a reason containing %q", r.body, reason)
	}
}

// Issue 14 item 2: created through the official client on one node, the
// key is listed as cross_cluster with its generated descriptor and access
// on every node at once, and its credential is refused on every route of
// every node.
func TestCrossClusterAPIKeyEverywhere(t *testing.T) {
	c, es, who := crossClusterCluster(t)
	ctx := context.Background()
	yes := true
	created, err := es[0].Security.CreateCrossClusterApiKey().Request(&createcrossclusterapikey.Request{
		Name: "my-cc-key", Expiration: "1d", Metadata: types.Metadata{"tag": json.RawMessage(`"dev"`)},
		Access: types.Access{
			Search:      []types.SearchAccess{{Names: []string{"logs*"}}},
			Replication: []types.ReplicationAccess{{Names: []string{"archive"}, AllowRestrictedIndices: &yes}},
		}}).Do(ctx)
	if err != nil || created.Id == "" || created.Expiration == nil {
		t.Fatalf("CreateCrossClusterApiKey: %+v, %v", created, err)
	}
	wantRD := `{"cross_cluster":{"applications":[],"cluster":["cross_cluster_search","monitor_enrich","cross_cluster_replication"],` +
		`"indices":[{"allow_restricted_indices":false,"names":["logs*"],"privileges":["read","read_cross_cluster","view_index_metadata"]},` +
		`{"allow_restricted_indices":true,"names":["archive"],"privileges":["cross_cluster_replication","cross_cluster_replication_internal"]}],` +
		`"metadata":{},"run_as":[],"transient_metadata":{"enabled":true}}}`
	wantAccess := `{"replication":[{"allow_restricted_indices":true,"names":["archive"]}],"search":[{"allow_restricted_indices":false,"names":["logs*"]}]}`
	for i := 0; i < c.Len(); i++ {
		r := ccSend(t, c, i, "GET", "/_security/api_key?with_limited_by=true&id="+created.Id, who["admin"], "")
		var got struct {
			APIKeys []map[string]json.RawMessage `json:"api_keys"`
		}
		if r.status != 200 || json.Unmarshal(r.body, &got) != nil || len(got.APIKeys) != 1 {
			t.Fatalf("node %d: get: %d %s", i, r.status, r.body)
		}
		k := got.APIKeys[0]
		if string(k["type"]) != `"cross_cluster"` || ccCanon(t, k["role_descriptors"]) != wantRD || ccCanon(t, k["access"]) != wantAccess || k["limited_by"] != nil {
			t.Fatalf("node %d: got %s", i, r.body)
		}
		q := ccSend(t, c, i, "POST", "/_security/_query/api_key", who["keys"], `{"query":{"term":{"type":"cross_cluster"}}}`)
		if q.status != 200 || !bytes.Contains(q.body, []byte(`"total":1}`)) || !bytes.Contains(q.body, []byte(created.Id)) {
			t.Fatalf("node %d: query by type: %d %s", i, q.status, q.body)
		}
	}
	typed, err := es[1].Security.GetApiKey().Id(created.Id).Do(ctx)
	if err != nil || len(typed.ApiKeys) != 1 || typed.ApiKeys[0].Type != apikeytype.Crosscluster || typed.ApiKeys[0].Access == nil ||
		len(typed.ApiKeys[0].Access.Search) != 1 || len(typed.ApiKeys[0].Access.Replication) != 1 {
		t.Fatalf("typed GetApiKey: %+v, %v", typed, err)
	}
	rest := createKey(t, c, 2, who["admin"], map[string]any{"name": "rest-key"})
	if r := ccSend(t, c, 2, "GET", "/_security/api_key?id="+rest.ID, who["admin"], ""); !bytes.Contains(r.body, []byte(`"type":"rest"`)) {
		t.Fatalf("a REST key's type: %s", r.body)
	}

	// Refused on every REST route of every node, walked from each node's
	// own router (a route added there is in this loop at once), with
	// Elasticsearch's reason.
	auth := "ApiKey " + created.Encoded
	reason := fmt.Sprintf("authentication expected API key type of [rest], but API key [%s] has type [cross_cluster]", created.Id)
	for i := 0; i < c.Len(); i++ {
		reqs := restRequests(t, c.Node(i).Routes())
		for _, rq := range reqs {
			r := sweepSend(t, c.URL(i), rq.method, rq.path, auth, []byte(rq.body), nil)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("node %d %s %s: a cross-cluster key got %d %.200s", i, rq.method, rq.path, r.status, r.body)
			}
			// HEAD has no body; forward auth answers in a proxy's terms.
			if rq.method != http.MethodHead && rq.path != "/_tokenstore/forward_auth" {
				ccWantReason(t, r, 401, reason)
			}
		}
	}
}

// restRequest is one request to a route of the REST API.
type restRequest struct{ method, path, body string }

// restRequests turns a node's router listing into one request per route
// and method, path variables filled (pathValues): every REST endpoint,
// the node-to-node ones (which need a node certificate) left out.
func restRequests(t *testing.T, routes []httpapi.Route) []restRequest {
	t.Helper()
	var out []restRequest
	for _, rt := range routes {
		if strings.HasPrefix(rt.Path, "/_tokenstore/internal") {
			continue
		}
		path := pathVar.ReplaceAllStringFunc(rt.Path, func(v string) string { return pathValues[v[1:len(v)-1]] })
		methods := rt.Methods
		if rt.Path == "forward_auth" { // matched by a function, any method
			path, methods = "/_tokenstore/forward_auth", []string{http.MethodGet, http.MethodPost}
		}
		if !strings.HasPrefix(path, "/") || strings.Contains(path, "{") || strings.Contains(path, "//") || len(methods) == 0 {
			t.Fatalf("route %q %v: this walk cannot send it", rt.Path, rt.Methods)
		}
		for _, m := range methods {
			body := "{}"
			if m == http.MethodGet || m == http.MethodHead || m == http.MethodDelete {
				body = ""
			}
			out = append(out, restRequest{m, path, body})
		}
	}
	if len(out) < 80 {
		t.Fatalf("the router lists %d REST requests", len(out))
	}
	return out
}

// ccCanon re-encodes JSON with sorted keys.
func ccCanon(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "(" + string(raw) + ")"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Updates, privileges and bad bodies, requests round-robin over the nodes.
func TestCrossClusterAPIKeyRules(t *testing.T) {
	c, es, who := crossClusterCluster(t)
	body := `{"name":"cc","access":{"search":[{"names":["metrics"],"query":{"term":{"tag":42}}}]}}`
	n := 0
	next := func() int { n++; return n % c.Len() }

	// Wrong privilege: 403 with Elasticsearch's message; an API key: 400.
	ccWantReason(t, ccSend(t, c, next(), "POST", "/_security/cross_cluster/api_key", who["keys"], body), 403,
		"action [cluster:admin/xpack/security/cross_cluster/api_key/create] is unauthorized for user [cc_keys] with effective roles [cc_keys], this action is granted by the cluster privileges [manage_security,all]")
	adminKey := createKey(t, c, next(), who["admin"], map[string]any{"name": "admin-key"})
	ccWantReason(t, ccSend(t, c, next(), "POST", "/_security/cross_cluster/api_key", keyAuth(adminKey), body), 400,
		"authentication via API key not supported: An API key cannot be used to create a cross-cluster API key")

	// Bad bodies: 400 and nothing changed.
	before := stateFingerprint(t, c)
	for bad, reason := range map[string]string{
		`{"name":"cc"}`:                                                                     "Required [access]",
		`{"name":"cc","access":{}}`:                                                         "must specify non-empty access for either [search] or [replication]",
		`{"name":"cc","access":{"search":[]}}`:                                              "must specify non-empty access for either [search] or [replication]",
		`{"access":{"search":[{"names":["a"]}]}}`:                                           "Required [name]",
		`{"name":"cc","access":{"search":[{"names":[]}]}}`:                                  "missing required [names] field",
		`{"name":"cc","access":{"search":[{"names":["a"],"privileges":["read"]}]}}`:         "unknown field",
		`{"name":"cc","access":{"replication":[{"names":["a"],"query":{"term":{"t":1}}}]}}`: "replication does not support document or field level security",
		`{"name":"cc","access":{"search":[{"names":["a"],"field_security":{"grant":["*"]}}],"replication":[{"names":["b"]}]}}`: "search does not support document or field level security if replication is assigned",
		`{"name":" cc","access":{"search":[{"names":["a"]}]}}`:                                                                 "api key name may not begin or end with whitespace",
	} {
		ccWantReason(t, ccSend(t, c, next(), "POST", "/_security/cross_cluster/api_key", who["admin"], bad), 400, reason)
	}
	if !bytes.Equal(before, stateFingerprint(t, c)) {
		t.Fatal("a refused create changed the state")
	}

	checkCrossClusterUpdates(t, c, es, who, body, next)
}

// checkCrossClusterUpdates: update through the official client, a no-op,
// the refused updates (nothing changed) and invalidation by privilege.
func checkCrossClusterUpdates(t *testing.T, c *testcluster.Cluster, es []*elasticsearch.TypedClient, who map[string]string, body string, next func() int) {
	ctx := context.Background()
	r := ccSend(t, c, next(), "POST", "/_security/cross_cluster/api_key", who["admin"], body)
	var created struct{ ID string }
	if r.status != 200 || json.Unmarshal(r.body, &created) != nil {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	id := created.ID
	up, err := es[next()].Security.UpdateCrossClusterApiKey(id).Request(&updatecrossclusterapikey.Request{
		Access:   types.Access{Replication: []types.ReplicationAccess{{Names: []string{"archive"}}}},
		Metadata: types.Metadata{"tag": json.RawMessage(`"prod"`)}}).Do(ctx)
	if err != nil || !up.Updated {
		t.Fatalf("UpdateCrossClusterApiKey: %+v, %v", up, err)
	}
	for i := 0; i < c.Len(); i++ {
		g := ccSend(t, c, i, "GET", "/_security/api_key?id="+id, who["admin"], "")
		if !bytes.Contains(g.body, []byte(`"cluster":["cross_cluster_replication"]`)) || !bytes.Contains(g.body, []byte(`"access":{"replication":[{"names":["archive"],"allow_restricted_indices":false}]}`)) ||
			!bytes.Contains(g.body, []byte(`"metadata":{"tag":"prod"}`)) {
			t.Fatalf("node %d after update: %s", i, g.body)
		}
	}
	noop := ccSend(t, c, next(), "PUT", "/_security/cross_cluster/api_key/"+id, who["admin"], `{"access":{"replication":[{"names":["archive"]}]},"metadata":{"tag":"prod"}}`)
	if noop.status != 200 || string(noop.body) != `{"updated":false}` {
		t.Fatalf("no-op update: %d %s", noop.status, noop.body)
	}

	rest := createKey(t, c, next(), who["admin"], map[string]any{"name": "rest"})
	before := stateFingerprint(t, c)
	for _, tc := range []struct{ path, auth, body, reason string }{
		{"/_security/cross_cluster/api_key/" + id, who["admin"], ``, "request body is required"},
		{"/_security/cross_cluster/api_key/" + id, who["admin"], `{}`, "must update either [access] or [metadata] for cross-cluster API keys"},
		{"/_security/cross_cluster/api_key/" + id, who["admin"], `{"access":{}}`, "must specify non-empty access for either [search] or [replication]"},
		{"/_security/api_key/" + id, who["admin"], `{"metadata":{}}`, "cannot update API key of type [cross_cluster] while expected type is [rest]"},
		{"/_security/cross_cluster/api_key/" + rest.ID, who["admin"], `{"metadata":{}}`, "cannot update API key of type [rest] while expected type is [cross_cluster]"},
	} {
		ccWantReason(t, ccSend(t, c, next(), "PUT", tc.path, tc.auth, tc.body), 400, tc.reason)
	}
	ccWantReason(t, ccSend(t, c, next(), "PUT", "/_security/cross_cluster/api_key/"+id, who["keys"], `{"metadata":{}}`), 403,
		"action [cluster:admin/xpack/security/cross_cluster/api_key/update] is unauthorized")
	if !bytes.Equal(before, stateFingerprint(t, c)) {
		t.Fatal("a refused update changed the state")
	}

	// manage_api_key invalidates REST keys but not cross-cluster ones.
	inv := ccSend(t, c, next(), "DELETE", "/_security/api_key", who["keys"], fmt.Sprintf(`{"ids":[%q,%q]}`, id, rest.ID))
	want := fmt.Sprintf(`{"invalidated_api_keys":[%q],"previously_invalidated_api_keys":[],"error_count":1,"error_details":[{"type":"security_exception","reason":"Cannot invalidate cross-cluster API key [%s]. This requires [manage_security] cluster privilege or higher"}]}`, rest.ID, id)
	if inv.status != 200 || string(inv.body) != want {
		t.Fatalf("invalidate as manage_api_key: %d %s\nwant %s", inv.status, inv.body, want)
	}
	inv = ccSend(t, c, next(), "DELETE", "/_security/api_key", who["admin"], fmt.Sprintf(`{"ids":[%q]}`, id))
	if inv.status != 200 || !bytes.Contains(inv.body, []byte(`"invalidated_api_keys":["`+id+`"]`)) {
		t.Fatalf("invalidate as manage_security: %d %s", inv.status, inv.body)
	}
}

// A forwarded cross-cluster key or update is held on the leader to what
// the public API writes: manage_security, version 2, the generated
// descriptor, no limited_by; its owner who lost manage_security can
// neither update nor invalidate it.
func TestForwardedCrossClusterContentIsValidated(t *testing.T) {
	c := testcluster.New(t, 1)
	putRole(t, c, "ccf_admin", map[string]any{"cluster": []string{"manage_security"}})
	putRole(t, c, "ccf_own", map[string]any{"cluster": []string{"manage_own_api_key"}})
	admin := putUser(t, c, "ccf_admin", ccPassword, "ccf_admin")
	bob := putUser(t, c, "ccf_bob", ccPassword, "ccf_own")
	st := c.Node(0).Cluster().State()
	seq := 0
	key := func(principal string, mutate func(*fsm.APIKey)) fsm.APIKey {
		seq++
		k := fsm.APIKey{ID: fmt.Sprintf("forgedccky%010d", seq), Name: "cc", Type: "cross_cluster",
			Hash: "{SSHA256}AAAAAAAAAAA=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", Creation: time.Now().UnixMilli(),
			RoleDescriptors: map[string]fsm.RoleDescriptor{"cross_cluster": {Cluster: []string{"cross_cluster_replication"}, RunAs: []string{},
				Indices: []fsm.IndicesPrivileges{{Names: []string{"a"}, Privileges: []string{"cross_cluster_replication", "cross_cluster_replication_internal"}}}}},
			LimitedBy: map[string]fsm.RoleDescriptor{}, Creator: fsm.Creator{Principal: principal, Realm: "default_native", RealmType: "native"}}
		mutate(&k)
		return k
	}
	good := key("ccf_admin", func(*fsm.APIKey) {})
	if r := forge(t, c, admin, "", fsm.APIKeyCreatedV2{Key: good}); r.Status != http.StatusOK {
		t.Fatalf("a key as the API writes it was refused: %d %s", r.Status, r.Body)
	}
	for what, ev := range map[string]fsm.Payload{
		"by manage_own_api_key":  fsm.APIKeyCreatedV2{Key: key("ccf_bob", func(*fsm.APIKey) {})},
		"as version 1":           fsm.APIKeyCreatedV1{Key: key("ccf_admin", func(*fsm.APIKey) {})},
		"of type rest as v2":     fsm.APIKeyCreatedV2{Key: key("ccf_admin", func(k *fsm.APIKey) { k.Type = "rest" })},
		"with cluster all":       fsm.APIKeyCreatedV2{Key: key("ccf_admin", func(k *fsm.APIKey) { k.RoleDescriptors["cross_cluster"] = fsm.RoleDescriptor{Cluster: []string{"all"}} })},
		"with a limited_by":      fsm.APIKeyCreatedV2{Key: key("ccf_admin", func(k *fsm.APIKey) { k.LimitedBy = map[string]fsm.RoleDescriptor{"r": {Cluster: []string{"all"}}} })},
		"with a DLS replication": fsm.APIKeyCreatedV2{Key: key("ccf_admin", func(k *fsm.APIKey) { k.RoleDescriptors["cross_cluster"].Indices[0].Query = json.RawMessage(`{}`) })},
	} {
		if r := forge(t, c, admin, "", ev); r.Status != http.StatusForbidden && what != "by manage_own_api_key" {
			t.Errorf("key %s: %d %s", what, r.Status, r.Body)
		}
		if r := forge(t, c, bob, "", ev); r.Status != http.StatusForbidden {
			t.Errorf("key %s as bob: %d %s", what, r.Status, r.Body)
		}
	}
	if n := len(st.APIKeys(func(k *fsm.APIKey) bool { return k.Type == "cross_cluster" })); n != 1 {
		t.Fatalf("%d cross-cluster keys in the state, want the one good one", n)
	}
	md := json.RawMessage(`{"x":1}`)
	asRest := fsm.APIKeyUpdatedV2{IDs: []string{good.ID}, Metadata: &md, Owner: "ccf_admin", OwnerRealm: "default_native",
		LimitedBy: map[string]fsm.RoleDescriptor{"ccf_admin": {Cluster: []string{"manage_security"}}}}
	if r := forge(t, c, admin, "", asRest); r.Status != http.StatusForbidden {
		t.Errorf("an update with a limited_by: %d %s", r.Status, r.Body)
	}
	putRole(t, c, "ccf_admin", map[string]any{"cluster": []string{"manage_own_api_key"}})
	asRest.LimitedBy = map[string]fsm.RoleDescriptor{}
	for what, ev := range map[string]fsm.Payload{"update": asRest, "invalidation": fsm.APIKeysInvalidatedV1{IDs: []string{good.ID}, Time: time.Now().UnixMilli()}} {
		if r := forge(t, c, admin, "", ev); r.Status != http.StatusForbidden {
			t.Errorf("%s by the owner without manage_security: %d %s", what, r.Status, r.Body)
		}
	}
	if k, _ := st.APIKey(good.ID); k.Invalidated || len(k.Metadata) > 0 {
		t.Errorf("a refused write reached the key: %+v", k)
	}
}
