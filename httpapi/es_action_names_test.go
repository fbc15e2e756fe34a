package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/tokenstore/tokenstore/testcluster"
)

// A 403 names Elasticsearch 8.17's own transport action and lists the
// privileges granting it in ClusterPrivilegeResolver's order (by how many
// privileges each implies, then by name), on every node of three: bulk
// update is api_key/bulk_update (BulkUpdateApiKeyAction), a refresh_token
// grant token/refresh (RefreshTokenAction), and get API key lists
// read_security before manage_api_key, as query API keys does.

const anPassword = "act10n-names-passw0rd"

// denied is Elasticsearch's 403 reason for a user with one role of its
// own name.
func denied(action, user, granting string) string {
	return fmt.Sprintf("action [cluster:admin/xpack/security/%s] is unauthorized for user [%s] with effective roles [%s], "+
		"this action is granted by the cluster privileges [%s]", action, user, user, granting)
}

func wantReason(t *testing.T, what string, r testcluster.Response, status int, reason string) {
	t.Helper()
	if r.Status != status || reasonOf(r) != reason {
		t.Fatalf("%s: %d %s\nwant %d %q", what, r.Status, r.Body, status, reason)
	}
}

func TestForbiddenNamesElasticsearchActions(t *testing.T) {
	c := testcluster.New(t, 3)
	putRole(t, c, "an_mon", map[string]any{"cluster": []string{"monitor"}})
	putRole(t, c, "an_own", map[string]any{"cluster": []string{"manage_own_api_key"}})
	mon := putUser(t, c, "an_mon", anPassword, "an_mon")
	own := putUser(t, c, "an_own", anPassword, "an_own")
	ownKeys := "manage_own_api_key,manage_api_key,manage_security,all"
	for i := range c.Len() {
		wantReason(t, fmt.Sprintf("node %d: bulk update", i), c.Do(i, http.MethodPost, "/_security/api_key/_bulk_update", mon,
			map[string]any{"ids": []string{"anNoSuchKey"}}), 403, denied("api_key/bulk_update", "an_mon", ownKeys))
		wantReason(t, fmt.Sprintf("node %d: update", i), c.Do(i, http.MethodPut, "/_security/api_key/anNoSuchKey", mon,
			map[string]any{}), 403, denied("api_key/update", "an_mon", ownKeys))
		wantReason(t, fmt.Sprintf("node %d: refresh", i), c.Do(i, http.MethodPost, "/_security/oauth2/token", mon,
			map[string]any{"grant_type": "refresh_token", "refresh_token": "anNoSuchToken"}), 403,
			denied("token/refresh", "an_mon", "manage_saml,manage_token,manage_security,all"))
		wantReason(t, fmt.Sprintf("node %d: client_credentials grant", i), c.Do(i, http.MethodPost, "/_security/oauth2/token", mon,
			map[string]any{"grant_type": "client_credentials"}), 403, denied("token/create", "an_mon", "manage_token,manage_security,all"))
		// Every key, asked by an owner of its own only.
		wantReason(t, fmt.Sprintf("node %d: get every key", i), c.Do(i, http.MethodGet, "/_security/api_key", own, nil), 403,
			denied("api_key/get", "an_own", "read_security,manage_api_key,manage_security,all"))
	}
	// An owner's key asks for limited_by: refused on get and query alike.
	k := createKey(t, c, 1, own, map[string]any{"name": "an-k"})
	for i := range c.Len() {
		for _, rq := range []struct{ method, path, action string }{
			{http.MethodGet, "/_security/api_key?with_limited_by=true&id=" + k.ID, "api_key/get"},
			{http.MethodPost, "/_security/_query/api_key?with_limited_by=true", "api_key/query"},
		} {
			want := fmt.Sprintf("action [cluster:admin/xpack/security/%s] is unauthorized for API key id [%s] of user [an_own], "+
				"this action is granted by the cluster privileges [read_security,manage_api_key,manage_security,all]", rq.action, k.ID)
			wantReason(t, fmt.Sprintf("node %d: %s %s", i, rq.method, rq.path), c.Do(i, rq.method, rq.path, keyAuth(k), nil), 403, want)
		}
	}
	t.Run("a role naming one update action", func(t *testing.T) { oneUpdateAction(t, c) })
	t.Run("a role naming bulk delete only", func(t *testing.T) { bulkDeleteOnly(t, c) })
}

// bulkDeleteOnly: a role naming role/bulk_delete alone bulk-deletes
// through every node (the leader checks the event, role delete's, as
// either action), and is refused a single delete.
func bulkDeleteOnly(t *testing.T, c *testcluster.Cluster) {
	putRole(t, c, "an_bulk_delete", map[string]any{"cluster": []string{"cluster:admin/xpack/security/role/bulk_delete"}})
	bd := putUser(t, c, "an_bulk_delete", anPassword, "an_bulk_delete")
	for i := range c.Len() {
		name := fmt.Sprintf("an_doomed_%d", i)
		putRole(t, c, name, map[string]any{"cluster": []string{"monitor"}})
		wantReason(t, fmt.Sprintf("node %d: single delete by a role naming bulk_delete", i), c.Do(i, http.MethodDelete, "/_security/role/"+name, bd, nil),
			403, denied("role/delete", "an_bulk_delete", "manage_security,all"))
		r := c.Do(i, http.MethodDelete, "/_security/role", bd, map[string]any{"names": []string{name}})
		if r.Status != 200 || fmt.Sprint(r.JSON()["deleted"]) != fmt.Sprint([]string{name}) {
			t.Fatalf("node %d: bulk delete by a role naming bulk_delete: %d %s", i, r.Status, r.Body)
		}
		for j := range c.Len() {
			if got := c.Do(j, http.MethodGet, "/_security/role/"+name, testcluster.Elastic, nil); got.Status != 404 {
				t.Fatalf("node %d after the bulk delete through node %d: %d %s", j, i, got.Status, got.Body)
			}
		}
	}
}

// oneUpdateAction: update and bulk update are two actions, as in
// Elasticsearch, so a role naming one allows that one only; both write
// the same event, which the leader allows a forwarded bulk update.
func oneUpdateAction(t *testing.T, c *testcluster.Cluster) {
	create := "cluster:admin/xpack/security/api_key/create"
	putRole(t, c, "an_bulk", map[string]any{"cluster": []string{create, "cluster:admin/xpack/security/api_key/bulk_update"}})
	putRole(t, c, "an_single", map[string]any{"cluster": []string{create, "cluster:admin/xpack/security/api_key/update"}})
	bulk := putUser(t, c, "an_bulk", anPassword, "an_bulk")
	single := putUser(t, c, "an_single", anPassword, "an_single")
	bk, sk := createKey(t, c, 0, bulk, map[string]any{"name": "an-bulk"}), createKey(t, c, 2, single, map[string]any{"name": "an-single"})
	granting := "manage_own_api_key,manage_api_key,manage_security,all"
	for i := range c.Len() {
		md := map[string]any{"node": i}
		r := c.Do(i, http.MethodPost, "/_security/api_key/_bulk_update", bulk, map[string]any{"ids": []string{bk.ID}, "metadata": md})
		if r.Status != 200 || fmt.Sprint(r.JSON()["updated"]) != fmt.Sprint([]string{bk.ID}) {
			t.Fatalf("node %d: bulk update by a role naming bulk_update: %d %s", i, r.Status, r.Body)
		}
		if r := c.Do(i, http.MethodPut, "/_security/api_key/"+sk.ID, single, map[string]any{"metadata": md}); r.Status != 200 || r.JSON()["updated"] != true {
			t.Fatalf("node %d: update by a role naming update: %d %s", i, r.Status, r.Body)
		}
		wantReason(t, fmt.Sprintf("node %d: update by a role naming bulk_update", i), c.Do(i, http.MethodPut, "/_security/api_key/"+bk.ID, bulk,
			map[string]any{"metadata": md}), 403, denied("api_key/update", "an_bulk", granting))
		wantReason(t, fmt.Sprintf("node %d: bulk update by a role naming update", i), c.Do(i, http.MethodPost, "/_security/api_key/_bulk_update", single,
			map[string]any{"ids": []string{sk.ID}, "metadata": md}), 403, denied("api_key/bulk_update", "an_single", granting))
		// The writes reached every node.
		for j := range c.Len() {
			for _, id := range []string{bk.ID, sk.ID} {
				got := c.Do(j, http.MethodGet, "/_security/api_key?id="+id, testcluster.Elastic, nil)
				keys, _ := got.JSON()["api_keys"].([]any)
				if len(keys) != 1 || fmt.Sprint(keys[0].(map[string]any)["metadata"]) != fmt.Sprint(md) {
					t.Fatalf("node %d after the updates through node %d: %s", j, i, got.Body)
				}
			}
		}
	}
}
