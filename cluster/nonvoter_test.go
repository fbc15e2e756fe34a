package cluster_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// createKey creates an API key through node i and returns its id and its
// ApiKey header.
func createKey(t *testing.T, c *testcluster.Cluster, i int, name string) (string, string) {
	t.Helper()
	r := c.Do(i, http.MethodPost, "/_security/api_key", testcluster.Elastic, map[string]any{"name": name})
	if r.Status != http.StatusOK {
		t.Fatalf("create key %s via node %d: got %d %s", name, i, r.Status, r.Body)
	}
	var k struct{ ID, APIKey string }
	if err := json.Unmarshal(r.Body, &struct {
		ID     *string `json:"id"`
		APIKey *string `json:"api_key"`
	}{&k.ID, &k.APIKey}); err != nil {
		t.Fatal(err)
	}
	return k.ID, "ApiKey " + base64.StdEncoding.EncodeToString([]byte(k.ID+":"+k.APIKey))
}

// keyStatus is the status node i answers an authentication with the key.
func keyStatus(c *testcluster.Cluster, i int, auth string) int {
	r, err := testcluster.Do(c.URL(i), http.MethodGet, "/_security/_authenticate", auth, nil)
	if err != nil {
		return 0
	}
	return r.Status
}

func invalidateKey(t *testing.T, c *testcluster.Cluster, i int, id string) {
	t.Helper()
	r := c.Do(i, http.MethodDelete, "/_security/api_key", testcluster.Elastic, map[string]any{"ids": []string{id}})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), id) {
		t.Fatalf("invalidate key %s via node %d: got %d %s", id, i, r.Status, r.Body)
	}
}

// Acceptance 1 with non-voters: a key created through any member, voter or
// not, authenticates on every member at once, and an invalidation
// acknowledged through any member is refused on every member at once.
func TestNonVotersAuthenticateAndRefuseRevokedAtOnce(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{NonVoters: 2})
	ms, err := c.Node(c.Leader()).Cluster().Members()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.Voter == c.NonVoter(i) {
			t.Errorf("member %s: voter %v, want %v", m.ID, m.Voter, !c.NonVoter(i))
		}
	}
	for i := 0; i < c.Len(); i++ {
		id, auth := createKey(t, c, i, fmt.Sprintf("k%d", i))
		for j := 0; j < c.Len(); j++ {
			if got := keyStatus(c, j, auth); got != http.StatusOK {
				t.Fatalf("key created via node %d: node %d answered %d at once, want 200", i, j, got)
			}
		}
		by := (i + 3) % c.Len() // voters revoke what non-voters created and the other way round
		invalidateKey(t, c, by, id)
		for j := 0; j < c.Len(); j++ {
			if got := keyStatus(c, j, auth); got != http.StatusUnauthorized {
				t.Fatalf("key invalidated via node %d: node %d answered %d at once, want 401", by, j, got)
			}
		}
	}
}

// A non-voter cut off from the others keeps its state but cannot learn of
// a revocation: the leader acknowledges the invalidation only once the
// non-voter has surely stopped answering from its state, and after that it
// refuses the key (503) rather than accept it.
func TestRevocationWaitsOutACutOffNonVoter(t *testing.T) {
	t.Parallel() // mostly waiting out a lease
	c := testcluster.New(t, 3, testcluster.Options{NonVoters: 1})
	nv := 3
	id, auth := createKey(t, c, nv, "cut")
	if got := keyStatus(c, nv, auth); got != http.StatusOK {
		t.Fatalf("non-voter: got %d, want 200", got)
	}
	c.Partition(nv)
	defer c.Heal(nv)
	invalidateKey(t, c, c.Leader(), id)
	if got := keyStatus(c, nv, auth); got != http.StatusServiceUnavailable {
		t.Fatalf("cut-off non-voter after the invalidation was acknowledged: got %d, want 503", got)
	}
	c.Heal(nv)
	c.Eventually(15*time.Second, "the healed non-voter refuses the key with 401", func() bool {
		return keyStatus(c, nv, auth) == http.StatusUnauthorized
	})
}

// Acceptance 2: the non-voters do not count toward the quorum (writes go on
// without both), and two voters of three down stop writes while the
// non-voters answer from their state until their read lease runs out, and
// then with 503: never a stale accept of a revoked key.
func TestQuorumIgnoresNonVotersAndLeaseBoundsThem(t *testing.T) {
	t.Parallel() // mostly waiting out leases
	c := testcluster.New(t, 3, testcluster.Options{NonVoters: 2})
	c.Kill(3)
	c.Kill(4)
	leader := c.Leader()
	id, auth := createKey(t, c, leader, "without-non-voters")
	invalidateKey(t, c, (leader+1)%3, id) // waits out the dead non-voters' leases once
	_, auth = createKey(t, c, (leader+2)%3, "after")
	if got := keyStatus(c, (leader+1)%3, auth); got != http.StatusOK {
		t.Fatalf("voter: got %d, want 200", got)
	}

	c.Restart(3)
	c.Restart(4)
	c.WaitForMembers(3, 2, 20*time.Second)
	revokedID, revoked := createKey(t, c, 3, "revoked")
	invalidateKey(t, c, 4, revokedID)
	for _, nv := range []int{3, 4} {
		c.Eventually(10*time.Second, "non-voter fresh", func() bool { return keyStatus(c, nv, auth) == http.StatusOK })
	}
	for _, v := range c.Followers() {
		if v < 3 {
			c.Kill(v)
		}
	}
	if r := c.Do(3, http.MethodPost, "/_security/api_key", testcluster.Elastic, map[string]any{"name": "no-quorum"}); r.Status != http.StatusServiceUnavailable {
		t.Errorf("write with one voter of three: got %d %s, want 503", r.Status, r.Body)
	}
	for _, nv := range []int{3, 4} {
		var sawOK, saw503 bool
		deadline := time.Now().Add(15 * time.Second)
		for !saw503 && time.Now().Before(deadline) {
			switch got := keyStatus(c, nv, auth); got {
			case http.StatusOK:
				if saw503 {
					t.Fatalf("non-voter %d accepted again after refusing with 503", nv)
				}
				sawOK = true
			case http.StatusServiceUnavailable:
				saw503 = true
			default:
				t.Fatalf("non-voter %d without a quorum: got %d, want 200 or 503", nv, got)
			}
			if got := keyStatus(c, nv, revoked); got == http.StatusOK && !saw503 {
				t.Fatalf("non-voter %d accepted a revoked key", nv)
			}
		}
		if !saw503 {
			t.Fatalf("non-voter %d still answers from its state 15s after the quorum was lost", nv)
		}
		if nv == 3 && !sawOK {
			t.Errorf("non-voter %d refused at once: its read lease should have let it answer", nv)
		}
		if got := keyStatus(c, nv, auth); got != http.StatusServiceUnavailable {
			t.Fatalf("non-voter %d after its lease ran out: got %d, want 503", nv, got)
		}
	}
}
