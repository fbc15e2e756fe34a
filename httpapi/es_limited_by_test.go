package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/clusterprivilege"

	"github.com/tokenstore/tokenstore/testcluster"
)

// Issue 14 item 6: who may see limited_by. Elasticsearch's
// ManageOwnApiKeyClusterPrivilege lets a user with manage_own_api_key ask
// for it on its own keys, but never an API key ("An API key requires
// manage_api_key privilege or higher to view any limited-by role
// descriptors", even its own: the spec's §6), while manage_api_key, a
// plain action privilege, shows it to a user and to a key alike, for
// every key.

const limitedByPassword = "limited-by-passw0rd"

// limitedByClient is a typed client on node i with an Authorization
// header of the test's choosing.
func limitedByClient(t *testing.T, c *testcluster.Cluster, i int, auth string) *elasticsearch.TypedClient {
	t.Helper()
	h := http.Header{}
	h.Set("Authorization", auth)
	es, err := elasticsearch.NewTypedClient(elasticsearch.Config{Addresses: []string{c.URL(i)}, Header: h})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// wantLimitedBy fails unless every REST key listed carries limited_by as
// a list of one map holding exactly the role names in want[owner].
func wantLimitedBy(t *testing.T, keys []types.ApiKey, want map[string][]string) {
	t.Helper()
	for _, k := range keys {
		if len(k.LimitedBy) != 1 {
			t.Fatalf("key %s of %s: limited_by %+v, want a list of one map", k.Name, k.Username, k.LimitedBy)
		}
		var names []string
		for name := range k.LimitedBy[0] {
			names = append(names, name)
		}
		slices.Sort(names)
		if !slices.Equal(names, want[k.Username]) {
			t.Fatalf("key %s of %s: limited_by roles %v, want %v", k.Name, k.Username, names, want[k.Username])
		}
	}
}

func TestWhoMaySeeLimitedBy(t *testing.T) {
	c := testcluster.New(t, 3)
	putRole(t, c, "lb_own", map[string]any{"cluster": []string{"manage_own_api_key"},
		"indices": []any{map[string]any{"names": []string{"lb-*"}, "privileges": []string{"read"}}}})
	putRole(t, c, "lb_keys", map[string]any{"cluster": []string{"manage_api_key"}})
	owner := putUser(t, c, "lb_owner", limitedByPassword, "lb_own")
	other := putUser(t, c, "lb_other", limitedByPassword, "lb_own")
	admin := putUser(t, c, "lb_admin", limitedByPassword, "lb_keys")
	ownKeys := []createdKey{createKey(t, c, 0, owner, map[string]any{"name": "lb-owner-1"}), createKey(t, c, 1, owner, map[string]any{"name": "lb-owner-2"})}
	otherKey := createKey(t, c, 2, other, map[string]any{"name": "lb-other"})
	adminKey := createKey(t, c, 0, admin, map[string]any{"name": "lb-admin"})
	// A key of the admin narrowed to manage_own_api_key is held to it.
	narrowKey := createKey(t, c, 1, admin, map[string]any{"name": "lb-admin-narrow",
		"role_descriptors": map[string]any{"narrow": map[string]any{"cluster": []string{"manage_own_api_key"}}}})
	owners := map[string][]string{"lb_owner": {"lb_own"}, "lb_other": {"lb_own"}, "lb_admin": {"lb_keys"}}
	ctx := context.Background()

	for i := range c.Len() {
		// The owner with manage_own_api_key: its own keys, with limited_by.
		res, err := limitedByClient(t, c, i, owner).Security.QueryApiKeys().WithLimitedBy(true).Do(ctx)
		if err != nil || res.Total != len(ownKeys) || len(res.ApiKeys) != len(ownKeys) {
			t.Fatalf("node %d: the owner's query with limited_by: %+v %v", i, res, err)
		}
		wantLimitedBy(t, res.ApiKeys, owners)
		if lb := res.ApiKeys[0].LimitedBy[0]["lb_own"]; !slices.Equal(lb.Cluster, []clusterprivilege.ClusterPrivilege{clusterprivilege.Manageownapikey}) ||
			len(lb.Indices) != 1 || !slices.Equal(lb.Indices[0].Names, []string{"lb-*"}) {
			t.Fatalf("node %d: the owner's snapshot %+v", i, lb)
		}
		plain, err := limitedByClient(t, c, i, owner).Security.QueryApiKeys().Do(ctx)
		if err != nil || plain.Total != len(ownKeys) || plain.ApiKeys[0].LimitedBy != nil {
			t.Fatalf("node %d: without with_limited_by: %+v %v", i, plain, err)
		}

		// Its key, with the same privilege, may not, on query or get.
		for _, k := range []createdKey{ownKeys[0], narrowKey} {
			_, err = limitedByClient(t, c, i, keyAuth(k)).Security.QueryApiKeys().WithLimitedBy(true).Do(ctx)
			wantKeyRefused(t, err, "api_key/query", k)
			_, err = limitedByClient(t, c, i, keyAuth(k)).Security.GetApiKey().Id(k.ID).WithLimitedBy(true).Do(ctx)
			wantKeyRefused(t, err, "api_key/get", k)
		}

		// A key with manage_api_key sees every key's limited_by.
		all, err := limitedByClient(t, c, i, keyAuth(adminKey)).Security.QueryApiKeys().WithLimitedBy(true).Do(ctx)
		if err != nil || all.Total != 5 || len(all.ApiKeys) != 5 {
			t.Fatalf("node %d: manage_api_key key's query with limited_by: %+v %v", i, all, err)
		}
		wantLimitedBy(t, all.ApiKeys, owners)
		got, err := limitedByClient(t, c, i, keyAuth(adminKey)).Security.GetApiKey().Id(otherKey.ID).WithLimitedBy(true).Do(ctx)
		if err != nil || len(got.ApiKeys) != 1 {
			t.Fatalf("node %d: manage_api_key key's get of another user's key: %+v %v", i, got, err)
		}
		wantLimitedBy(t, got.ApiKeys, owners)
	}
	// On the wire limited_by is a list of one map, as the spec's example.
	r := c.Do(2, http.MethodPost, "/_security/_query/api_key?with_limited_by=true", owner, `{"query":{"term":{"name":"lb-owner-1"}}}`)
	var raw struct {
		APIKeys []struct {
			LimitedBy json.RawMessage `json:"limited_by"`
		} `json:"api_keys"`
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &raw) != nil || len(raw.APIKeys) != 1 || !strings.HasPrefix(string(raw.APIKeys[0].LimitedBy), `[{"lb_own":{`) {
		t.Fatalf("limited_by on the wire: %d %s", r.Status, r.Body)
	}
}

// wantKeyRefused fails unless err is the 403 Elasticsearch gives an API
// key for action, naming the key and its owner, and not offering
// manage_own_api_key (which does not grant it to a key).
func wantKeyRefused(t *testing.T, err error, action string, k createdKey) {
	t.Helper()
	esError(t, err, 403, "action [cluster:admin/xpack/security/"+action+"] is unauthorized for API key id ["+k.ID+"] of user [")
	var ee *types.ElasticsearchError
	if !errors.As(err, &ee) || !strings.Contains(*ee.ErrorCause.Reason, "manage_api_key") || strings.Contains(*ee.ErrorCause.Reason, "manage_own_api_key") {
		t.Fatalf("%s: %v", action, err)
	}
}
