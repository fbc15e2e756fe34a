package httpapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/fsm"
	"github.com/tokenstore/tokenstore/testcluster"
)

// lastUsedSettings records uses every second: the shortest interval.
var lastUsedSettings = testcluster.Options{Settings: map[string]string{"xpack.security.authc.api_key.last_used.interval": "1s"}}

// lastUsed is get API key's last_used for the key on node i, 0 when the
// answer has none.
func lastUsed(t *testing.T, c *testcluster.Cluster, i int, id string) int64 {
	t.Helper()
	r := c.Do(i, http.MethodGet, "/_security/api_key?id="+id, testcluster.Elastic, nil)
	var out struct {
		APIKeys []map[string]any `json:"api_keys"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &out) != nil || len(out.APIKeys) != 1 {
		t.Fatalf("get api key %s on node %d: %d %s", id, i, r.Status, r.Body)
	}
	v, ok := out.APIKeys[0]["last_used"].(float64)
	if ok && v <= 0 {
		t.Fatalf("key %s: last_used %v is not an epoch ms", id, out.APIKeys[0]["last_used"])
	}
	return int64(v)
}

// queryNames runs query API keys on node i and returns the names found, in
// the answer's order.
func queryNames(t *testing.T, c *testcluster.Cluster, i int, body string) []string {
	t.Helper()
	r := c.Do(i, http.MethodPost, "/_security/_query/api_key", testcluster.Elastic, body)
	var out struct {
		APIKeys []struct {
			Name string `json:"name"`
		} `json:"api_keys"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &out) != nil {
		t.Fatalf("query %s on node %d: %d %s", body, i, r.Status, r.Body)
	}
	names := []string{}
	for _, k := range out.APIKeys {
		names = append(names, k.Name)
	}
	return names
}

// Issue 15, acceptance 3: a key used on node 2 shows last_used on nodes 0
// and 1 (recorded once a second here); a range query on it tells the keys
// used lately from those used long ago and never; it survives a snapshot,
// a restart of every node and a backup restored elsewhere.
func TestLastUsedReachesEveryNode(t *testing.T) {
	c := testcluster.New(t, 3, lastUsedSettings)
	keys := map[string]createdKey{}
	for _, name := range []string{"busy", "old", "idle-1", "idle-2"} {
		keys[name] = createKey(t, c, 0, testcluster.Elastic, map[string]any{"name": name})
	}
	// "old" was last used a hundred days ago, as node 1's clock has it.
	c.SkewClock(1, -100*24*time.Hour)
	if status, body := keyWorks(c, 1, keys["old"]); status != http.StatusOK {
		t.Fatalf("old key on node 1: %d %s", status, body)
	}
	c.SkewClock(1, 0)
	before := time.Now().UnixMilli()
	for range 3 {
		if status, body := keyWorks(c, 2, keys["busy"]); status != http.StatusOK {
			t.Fatalf("busy key on node 2: %d %s", status, body)
		}
	}
	after := time.Now().UnixMilli()
	c.Eventually(30*time.Second, "last_used on nodes 0 and 1", func() bool {
		return lastUsed(t, c, 0, keys["busy"].ID) > 0 && lastUsed(t, c, 1, keys["busy"].ID) > 0 && lastUsed(t, c, 0, keys["old"].ID) > 0
	})
	if got := lastUsed(t, c, 1, keys["busy"].ID); got < before || got > after {
		t.Errorf("busy: last_used %d, want the time of its use, in [%d, %d]", got, before, after)
	}
	ninetyDays := (90 * 24 * time.Hour).Milliseconds()
	if got := lastUsed(t, c, 0, keys["old"].ID); got > before-ninetyDays {
		t.Errorf("old: last_used %d, want more than ninety days before %d", got, before)
	}
	for _, name := range []string{"idle-1", "idle-2"} {
		for i := range 3 {
			if got := lastUsed(t, c, i, keys[name].ID); got != 0 {
				t.Errorf("%s never used, but node %d shows last_used %d", name, i, got)
			}
		}
	}
	checkLastUsedQueries(t, c)

	// A snapshot on every node, then every node killed and restarted.
	want := map[string]int64{"busy": lastUsed(t, c, 0, keys["busy"].ID), "old": lastUsed(t, c, 0, keys["old"].ID)}
	for i := range 3 {
		if err := c.Node(i).Cluster().Snapshot(); err != nil {
			t.Logf("snapshot on node %d: %v", i, err)
		}
		c.Kill(i)
	}
	for i := range 3 {
		c.Restart(i)
	}
	c.WaitForLeader(10 * time.Second)
	for i := range 3 {
		c.Eventually(10*time.Second, "last_used after the restart", func() bool {
			r, err := testcluster.Do(c.URL(i), http.MethodGet, "/_security/api_key?id="+keys["old"].ID, testcluster.Elastic, nil)
			return err == nil && r.Status == http.StatusOK
		})
		for name, at := range want {
			if got := lastUsed(t, c, i, keys[name].ID); got != at {
				t.Errorf("after restart, node %d: %s last_used %d, want %d", i, name, got, at)
			}
		}
	}

	// A backup restored into another cluster keeps it too.
	r := c.Do(0, http.MethodGet, "/_tokenstore/backup", testcluster.Elastic, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("backup: %d", r.Status)
	}
	dst := testcluster.New(t, 1)
	if rr := dst.Do(0, http.MethodPost, "/_tokenstore/backup/_restore", testcluster.Elastic, r.Body); rr.Status != http.StatusOK {
		t.Fatalf("restore: %d %s", rr.Status, rr.Body)
	}
	for name, at := range want {
		if got := lastUsed(t, dst, 0, keys[name].ID); got != at {
			t.Errorf("restored elsewhere: %s last_used %d, want %d", name, got, at)
		}
	}
}

// checkLastUsedQueries filters and sorts on last_used on every node.
func checkLastUsedQueries(t *testing.T, c *testcluster.Cluster) {
	t.Helper()
	for i := range 3 {
		for _, tc := range []struct {
			body string
			want []string
		}{
			{`{"query":{"range":{"last_used":{"lt":"now-90d"}}}}`, []string{"old"}},
			{`{"query":{"range":{"last_used":{"gte":"now-1h"}}}}`, []string{"busy"}},
			// Unused for ninety days: used before then, or never.
			{`{"query":{"bool":{"should":[{"range":{"last_used":{"lt":"now-90d"}}},{"bool":{"must_not":{"exists":{"field":"last_used"}}}}]}},"sort":["name"]}`,
				[]string{"idle-1", "idle-2", "old"}},
			{`{"sort":[{"last_used":{"order":"desc"}},"name"]}`, []string{"busy", "old", "idle-1", "idle-2"}},
		} {
			got := queryNames(t, c, i, tc.body)
			if !slices.Contains([]int{1, 2}, len(tc.want)) {
				slices.Sort(got)
				slices.Sort(tc.want)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("node %d, %s: got %v, want %v", i, tc.body, got, tc.want)
			}
		}
	}
}

// Only the leader writes uses, from what the members report: neither a
// user with every privilege nor an API key can forward a use of their own
// making, and the report is for nodes only.
func TestLastUsedCannotBeForged(t *testing.T) {
	c := testcluster.New(t, 1, lastUsedSettings)
	victim := createKey(t, c, 0, testcluster.Elastic, map[string]any{"name": "victim"})
	attacker := createKey(t, c, 0, testcluster.Elastic, map[string]any{"name": "attacker",
		"role_descriptors": map[string]any{"r": map[string]any{"cluster": []string{"manage_own_api_key", "monitor"}}}})
	forged := fsm.APIKeysUsedV1{IDs: []string{victim.ID}, At: []int64{time.Now().UnixMilli()}}
	for who, auth := range map[string]string{"elastic": testcluster.Elastic, "an api key": keyAuth(attacker)} {
		if r := forge(t, c, auth, "", forged); r.Status != http.StatusForbidden {
			t.Errorf("%s forwarded a use: %d %s", who, r.Status, r.Body)
		}
	}
	if r := c.Do(0, http.MethodGet, "/_tokenstore/internal/api_key_usage", keyAuth(attacker), nil); r.Status != http.StatusForbidden {
		t.Errorf("an api key read the usage report: %d %s", r.Status, r.Body)
	}
	// The attacker's own uses are recorded: a round has passed since the
	// forgeries, and the victim's key still shows none.
	c.Eventually(30*time.Second, "the attacker's own use recorded", func() bool { return lastUsed(t, c, 0, attacker.ID) > 0 })
	if got := lastUsed(t, c, 0, victim.ID); got != 0 {
		t.Errorf("the victim key shows last_used %d, never having been used", got)
	}
}

// With transport TLS the leader asks the members with its node
// certificate and no credential; a caller without one is refused, whatever
// its credential.
func TestLastUsedOverTLS(t *testing.T) {
	opts := lastUsedSettings
	opts.TLS = true
	c := testcluster.New(t, 3, opts)
	k := createKey(t, c, 0, testcluster.Elastic, map[string]any{"name": "tls"})
	f := c.Followers()[0]
	if status, body := keyWorks(c, f, k); status != http.StatusOK {
		t.Fatalf("key on node %d: %d %s", f, status, body)
	}
	c.Eventually(30*time.Second, "last_used on every node", func() bool {
		for i := range 3 {
			if lastUsed(t, c, i, k.ID) == 0 {
				return false
			}
		}
		return true
	})
	if r := c.Do(f, http.MethodGet, "/_tokenstore/internal/api_key_usage", testcluster.Elastic, nil); r.Status != http.StatusForbidden {
		t.Errorf("the usage report without a node certificate: %d %s", r.Status, r.Body)
	}
}
