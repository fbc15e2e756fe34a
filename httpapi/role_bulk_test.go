package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tokenstore/tokenstore/testcluster"
)

func putRoles(t *testing.T, c *testcluster.Cluster, names ...string) {
	t.Helper()
	for _, name := range names {
		if r := c.Do(0, http.MethodPut, "/_security/role/"+name, testcluster.Elastic, `{"cluster":["monitor"]}`); r.Status != http.StatusOK {
			t.Fatalf("put role %s: %d %s", name, r.Status, r.Body)
		}
	}
}

func names(v any) []string {
	var out []string
	for _, n := range v.([]any) {
		out = append(out, n.(string))
	}
	return out
}

// Bulk delete (Elasticsearch 8.15): one event deletes every valid name,
// missing ones are listed, reserved and invalid ones are errors, and the
// roles are gone on every node once it answers.
func TestBulkDeleteRoles(t *testing.T) {
	c := testcluster.New(t, 3)
	putRoles(t, c, "bulk_a", "bulk_b", "bulk_keep")
	r := c.Do(c.Followers()[0], http.MethodDelete, "/_security/role", testcluster.Elastic,
		`{"names":["bulk_a","bulk_missing","superuser","bulk_b","bulk_a"," bad"]}`)
	if r.Status != http.StatusOK {
		t.Fatalf("bulk delete: %d %s", r.Status, r.Body)
	}
	m := r.JSON()
	if got := names(m["deleted"]); !slices.Equal(got, []string{"bulk_a", "bulk_b"}) {
		t.Errorf("deleted: got %v", got)
	}
	if got := names(m["not_found"]); !slices.Equal(got, []string{"bulk_missing"}) {
		t.Errorf("not_found: got %v", got)
	}
	errs, _ := m["errors"].(map[string]any)
	details, _ := errs["details"].(map[string]any)
	if errs["count"] != float64(2) || details["superuser"] == nil || details[" bad"] == nil {
		t.Errorf("errors: got %v", m["errors"])
	}
	for i := 0; i < c.Len(); i++ {
		for name, want := range map[string]int{"bulk_a": 404, "bulk_b": 404, "bulk_keep": 200} {
			if r := c.Do(i, http.MethodGet, "/_security/role/"+name, testcluster.Elastic, nil); r.Status != want {
				t.Errorf("node %d: role %s answers %d after the bulk delete, want %d", i, name, r.Status, want)
			}
		}
	}
	tooMany := `{"names":["r` + strings.Repeat(`","r`, 1000) + `"]}`
	for _, body := range []string{`{"names":[]}`, ``, `{"names":"bulk_keep"}`, tooMany} {
		if r := c.Do(0, http.MethodDelete, "/_security/role", testcluster.Elastic, body); r.Status != http.StatusBadRequest {
			t.Errorf("bulk delete with %q: got %d %s, want 400", body, r.Status, r.Body)
		}
	}
}

// Rolling upgrades in one process: a member that registered no event
// versions (a build before they were registered, taken to apply the v0.1.0
// baseline) holds back the bulk delete's new event version with a 400
// naming the event and the member; once it is gone the event is written.
func TestNewEventVersionWaitsForEveryMember(t *testing.T) {
	c := testcluster.New(t, 3)
	putRoles(t, c, "gate_a", "gate_b")
	join := `{"id":"old-build","raft_addr":"127.0.0.1:1","http_addr":"127.0.0.1:2"}`
	if r := c.Do(c.Leader(), http.MethodPost, "/_tokenstore/internal/join", testcluster.Elastic, join); r.Status != http.StatusOK {
		t.Fatalf("join a member without versions: %d %s", r.Status, r.Body)
	}
	for i := 0; i < c.Len(); i++ {
		r := c.Do(i, http.MethodDelete, "/_security/role", testcluster.Elastic, `{"names":["gate_a","gate_b"]}`)
		reason := fmt.Sprint(r.JSON()["error"])
		if r.Status != http.StatusBadRequest || !strings.Contains(reason, "RoleDeleted version 2") || !strings.Contains(reason, "[old-build]") {
			t.Errorf("node %d: bulk delete with an old member: got %d %s, want 400 naming the event and old-build", i, r.Status, r.Body)
		}
	}
	// What the old member applies keeps working, and nothing was deleted.
	if r := c.Do(0, http.MethodDelete, "/_security/role/gate_b", testcluster.Elastic, nil); r.Status != http.StatusOK {
		t.Errorf("delete one role with an old member: %d %s", r.Status, r.Body)
	}
	if r := c.Do(0, http.MethodGet, "/_security/role/gate_a", testcluster.Elastic, nil); r.Status != http.StatusOK {
		t.Fatalf("a refused bulk delete deleted gate_a: %d", r.Status)
	}
	if r := c.Do(c.Leader(), http.MethodPost, "/_cluster/voting_config_exclusions?node_names=old-build", testcluster.Elastic, nil); r.Status != http.StatusOK {
		t.Fatalf("remove the old member: %d %s", r.Status, r.Body)
	}
	r := c.Do(0, http.MethodDelete, "/_security/role", testcluster.Elastic, `{"names":["gate_a"]}`)
	if r.Status != http.StatusOK || !slices.Equal(names(r.JSON()["deleted"]), []string{"gate_a"}) {
		t.Errorf("bulk delete once every member applies it: %d %s", r.Status, r.Body)
	}
	// Now that the state holds it, a build without it may not join: it
	// would halt as soon as it caught up.
	join = `{"id":"late-old-build","raft_addr":"127.0.0.1:3","http_addr":"127.0.0.1:4"}`
	r = c.Do(c.Leader(), http.MethodPost, "/_tokenstore/internal/join", testcluster.Elastic, join)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "RoleDeleted version 2") {
		t.Errorf("join of a build without RoleDeleted version 2 after it was written: %d %s, want 400 naming it", r.Status, r.Body)
	}
}
