package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tokenstore/tokenstore/testcluster"
)

// Issue 12, finding 6: a bulk update wrote one Raft entry per id, repeated
// ids and no-ops included (one id 1000 times with 50 KB of metadata: 1000
// entries, 50 MB of log on every node). Now ids count once, no-ops are not
// written, and a request is one entry, of bounded size.
func TestBulkUpdateIsOneBoundedLogEntry(t *testing.T) {
	c := testcluster.New(t, 3)
	putRole(t, c, "own_keys", map[string]any{"cluster": []string{"manage_own_api_key"}})
	bob := putUser(t, c, "bob", "bob-password", "own_keys")
	a := createKey(t, c, 0, bob, map[string]any{"name": "a"})
	b := createKey(t, c, 0, bob, map[string]any{"name": "b"})
	leader := c.Leader()
	node := c.Followers()[0]
	applied := func() uint64 { return c.Server(leader).Node().State().AppliedIndex() }

	ids := []string{b.ID}
	for range 1000 {
		ids = append(ids, a.ID)
	}
	ids = append(ids, "missing", b.ID)
	body := map[string]any{"ids": ids, "metadata": map[string]string{"blob": strings.Repeat("x", 50<<10)}}
	before := applied()
	r := c.Do(node, http.MethodPost, "/_security/api_key/_bulk_update", bob, body)
	if r.Status != http.StatusOK {
		t.Fatalf("bulk update: %d %s", r.Status, r.Body)
	}
	if n := applied() - before; n > 2 { // one entry, and room for one background write
		t.Errorf("bulk update of 2 distinct keys wrote %d log entries", n)
	}
	m := r.JSON()
	if got := fmt.Sprint(m["updated"]); got != fmt.Sprint([]string{b.ID, a.ID}) {
		t.Errorf("updated = %s, want [%s %s] in request order, once each", got, b.ID, a.ID)
	}
	if errs, _ := m["errors"].(map[string]any); errs == nil || errs["count"] != float64(1) {
		t.Errorf("errors = %v, want the missing id once", m["errors"])
	}
	// The same request again changes nothing and writes nothing.
	before = applied()
	r = c.Do(node, http.MethodPost, "/_security/api_key/_bulk_update", bob, body)
	if n := applied() - before; r.Status != http.StatusOK || n > 1 {
		t.Errorf("repeated bulk update: %d, %d log entries", r.Status, n)
	}
	if got := r.JSON()["noops"]; fmt.Sprint(got) != fmt.Sprint([]string{b.ID, a.ID}) || len(r.JSON()["updated"].([]any)) != 0 {
		t.Errorf("repeated bulk update: %s, want both as noops", r.Body)
	}
	// Both keys carry the metadata on every node.
	for i := range 3 {
		for _, id := range []string{a.ID, b.ID} {
			if k, ok := c.Server(i).Node().State().APIKey(id); !ok || len(k.Metadata) < 50<<10 {
				t.Errorf("node %d: key %s lacks the update", i, id)
			}
		}
	}

	// Bounds: distinct ids per request, and metadata bytes, both 400s.
	many := make([]string, 1001)
	for i := range many {
		many[i] = fmt.Sprintf("id-%d", i)
	}
	before = applied()
	for what, body := range map[string]map[string]any{
		"1001 distinct ids":    {"ids": many},
		"65 KB of metadata":    {"ids": []string{a.ID}, "metadata": map[string]string{"blob": strings.Repeat("x", 65<<10)}},
		"an empty list of ids": {"ids": []string{}},
	} {
		r := c.Do(node, http.MethodPost, "/_security/api_key/_bulk_update", bob, body)
		if r.Status != http.StatusBadRequest || !slices.Contains([]string{"action_request_validation_exception"}, errorType(r)) {
			t.Errorf("bulk update with %s: %d %s", what, r.Status, r.Body)
		}
	}
	if r := c.Do(node, http.MethodPut, "/_security/api_key/"+a.ID, bob, map[string]any{"metadata": map[string]string{"blob": strings.Repeat("x", 65<<10)}}); r.Status != http.StatusBadRequest {
		t.Errorf("update with 65 KB of metadata: %d %s", r.Status, r.Body)
	}
	if n := applied() - before; n > 1 {
		t.Errorf("refused updates wrote %d log entries", n)
	}
}

// errorType is the type of an Elasticsearch error body.
func errorType(r testcluster.Response) string {
	e, _ := r.JSON()["error"].(map[string]any)
	typ, _ := e["type"].(string)
	return typ
}
