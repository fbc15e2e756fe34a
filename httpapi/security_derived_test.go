package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/tokenstore/tokenstore/testcluster"
)

// limitedByOf is a key's limited_by as get API key shows it to elastic.
func limitedByOf(t *testing.T, c *testcluster.Cluster, id string) []any {
	t.Helper()
	r := c.Do(0, http.MethodGet, "/_security/api_key?with_limited_by=true&id="+id, testcluster.Elastic, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("get key %s: %d %s", id, r.Status, r.Body)
	}
	keys := r.JSON()["api_keys"].([]any)
	return keys[0].(map[string]any)["limited_by"].([]any)
}

// Issue 12, finding 1: an API key restricted to manage_token and
// grant_api_key took a client_credentials token, then granted itself a key
// with cluster:all that was limited by its owner's whole superuser role.
// What a key derives, through any path and on any node, is limited by the
// key: as in Elasticsearch, an API key's user has no roles of its own.
func TestAPIKeyCannotDeriveItsOwnersPrivileges(t *testing.T) {
	c := testcluster.New(t, 3)
	restricted := createKey(t, c, 0, testcluster.Elastic, map[string]any{"name": "restricted",
		"role_descriptors": map[string]any{"r": map[string]any{"cluster": []string{"manage_token", "grant_api_key", "manage_own_api_key"}}}})
	leader := c.Leader()
	for _, node := range []int{leader, c.Followers()[0]} {
		tok := c.Do(node, http.MethodPost, "/_security/oauth2/token", keyAuth(restricted), map[string]string{"grant_type": "client_credentials"})
		if tok.Status != http.StatusOK {
			t.Fatalf("client_credentials as the key on node %d: %d %s", node, tok.Status, tok.Body)
		}
		access := tok.JSON()["access_token"].(string)
		// The token is the key: no more than the key may do.
		if r := c.Do(node, http.MethodGet, "/_security/user", "Bearer "+access, nil); r.Status != http.StatusForbidden {
			t.Errorf("node %d: the key's token reads users: %d %s", node, r.Status, r.Body)
		}
		grant := c.Do(node, http.MethodPost, "/_security/api_key/grant", keyAuth(restricted), map[string]any{
			"grant_type": "access_token", "access_token": access,
			"api_key": map[string]any{"name": "x", "role_descriptors": map[string]any{"x": map[string]any{"cluster": []string{"all"}}}}})
		if grant.Status == http.StatusOK {
			id := grant.JSON()["id"].(string)
			if lb := limitedByOf(t, c, id); len(lb) != 1 || len(lb[0].(map[string]any)) != 0 {
				t.Errorf("node %d: the granted key is limited by %v, want nothing", node, lb)
			}
			granted := createdKey{ID: id, Encoded: grant.JSON()["encoded"].(string)}
			if r := c.Do(node, http.MethodGet, "/_security/user", keyAuth(granted), nil); r.Status != http.StatusForbidden {
				t.Errorf("node %d: the granted key reads users: %d %s", node, r.Status, r.Body)
			}
		} else if grant.Status != http.StatusBadRequest && grant.Status != http.StatusForbidden {
			t.Errorf("node %d: grant through the key's token: %d %s", node, grant.Status, grant.Body)
		}
		// A derived key made with the token is limited by nothing either.
		derived := createKey(t, c, node, "Bearer "+access, map[string]any{"name": "d", "role_descriptors": map[string]any{"x": map[string]any{}}})
		if lb := limitedByOf(t, c, derived.ID); len(lb) != 1 || len(lb[0].(map[string]any)) != 0 {
			t.Errorf("node %d: a derived key is limited by %v, want nothing", node, lb)
		}
		// Updates (single and bulk) by the key or its token are refused.
		for _, auth := range []string{keyAuth(restricted), "Bearer " + access} {
			if r := c.Do(node, http.MethodPut, "/_security/api_key/"+derived.ID, auth, map[string]any{}); r.Status != http.StatusBadRequest {
				t.Errorf("node %d: update as the key: %d %s", node, r.Status, r.Body)
			}
			if r := c.Do(node, http.MethodPost, "/_security/api_key/_bulk_update", auth, map[string]any{"ids": []string{derived.ID}}); r.Status != http.StatusBadRequest {
				t.Errorf("node %d: bulk update as the key: %d %s", node, r.Status, r.Body)
			}
		}
		// Running as someone else through the key's token is refused.
		runAs := c.Do(node, http.MethodPost, "/_security/api_key/grant", keyAuth(restricted), map[string]any{
			"grant_type": "access_token", "access_token": access, "run_as": "elastic", "api_key": map[string]any{"name": "y"}})
		if runAs.Status != http.StatusForbidden {
			t.Errorf("node %d: grant running as elastic through the key's token: %d %s", node, runAs.Status, runAs.Body)
		}
	}
}
