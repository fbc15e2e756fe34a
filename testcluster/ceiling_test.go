package testcluster

import (
	"maps"
	"net/http"
	"slices"
	"testing"
)

// The ceiling answers the API as a node does: the same statuses and
// shapes for the requests the benchmarks send, and what it writes is there
// to read.
func TestCeilingAnswersAsANode(t *testing.T) {
	c := New(t, 1)
	ceiling := NewCeiling(t)
	ask := func(base, method, path, auth string, body any) Response {
		t.Helper()
		r, err := Do(base, method, path, auth, body)
		if err != nil {
			t.Fatalf("%s %s %s: %v", base, method, path, err)
		}
		return r
	}
	both := func(method, path string, auth func(base string) string, body any) (node, ceil Response) {
		t.Helper()
		node = ask(c.URL(0), method, path, auth(c.URL(0)), body)
		ceil = ask(ceiling, method, path, auth(ceiling), body)
		if node.Status != ceil.Status || !slices.Equal(slices.Sorted(maps.Keys(node.JSON())), slices.Sorted(maps.Keys(ceil.JSON()))) {
			t.Fatalf("%s %s: node %d %s, ceiling %d %s", method, path, node.Status, node.Body, ceil.Status, ceil.Body)
		}
		return node, ceil
	}
	elastic := func(string) string { return Elastic }
	node, _ := both(http.MethodPut, "/_security/user/jack", elastic, map[string]any{"password": "jack-password", "roles": []string{"superuser"}})
	if node.Status != http.StatusOK {
		t.Fatalf("put user: %d %s", node.Status, node.Body)
	}
	keys := map[string]string{}
	for _, base := range []string{c.URL(0), ceiling} {
		r := ask(base, http.MethodPost, "/_security/api_key", Elastic, `{"name":"k"}`)
		keys[base] = "ApiKey " + r.JSON()["encoded"].(string)
	}
	if node, _ = both(http.MethodGet, "/_security/_authenticate", func(b string) string { return keys[b] }, nil); node.Status != http.StatusOK {
		t.Fatalf("authenticate with the key: %d %s", node.Status, node.Body)
	}
	grant := `{"grant_type":"password","username":"jack","password":"jack-password"}`
	if node, _ = both(http.MethodPost, "/_security/oauth2/token", elastic, grant); node.Status != http.StatusOK {
		t.Fatalf("password grant: %d %s", node.Status, node.Body)
	}
	if node, _ = both(http.MethodGet, "/_security/_authenticate", func(string) string { return Basic("jack", "wrong-password") }, nil); node.Status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d, want 401", node.Status)
	}
	if node, _ = both(http.MethodGet, "/_security/api_key?name=k", elastic, nil); node.Status != http.StatusOK {
		t.Fatalf("get keys: %d %s", node.Status, node.Body)
	}
	if _, ceil := both(http.MethodGet, "/_security/api_key?name=k", elastic, nil); len(ceil.JSON()["api_keys"].([]any)) != 1 {
		t.Fatalf("the ceiling's keys: %s, want the one it made", ceil.Body)
	}
}
