package cluster_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
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
	var k struct {
		ID      string `json:"id"`
		Encoded string `json:"encoded"`
	}
	if err := json.Unmarshal(r.Body, &k); err != nil || k.Encoded == "" {
		t.Fatalf("create key %s: %v: %s", name, err, r.Body)
	}
	return k.ID, "ApiKey " + k.Encoded
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

// Acceptance 2, first half: the non-voters do not count toward the quorum.
// With both dead, creates go on at once, and a revocation is acknowledged
// once their leases have surely run out (as with a dead voter).
func TestWritesGoOnWithoutTheNonVoters(t *testing.T) {
	t.Parallel() // mostly waiting out leases
	c := testcluster.New(t, 3, testcluster.Options{NonVoters: 2})
	c.Kill(3)
	c.Kill(4)
	leader := c.Leader()
	for i := range 3 {
		_, auth := createKey(t, c, i, fmt.Sprintf("without-non-voters-%d", i))
		if got := keyStatus(c, (i+1)%3, auth); got != http.StatusOK {
			t.Fatalf("voter %d: got %d, want 200", (i+1)%3, got)
		}
	}
	id, auth := createKey(t, c, leader, "revoked")
	invalidateKey(t, c, (leader+1)%3, id)
	for i := range 3 {
		if got := keyStatus(c, i, auth); got != http.StatusUnauthorized {
			t.Fatalf("voter %d after the invalidation: got %d, want 401", i, got)
		}
	}
	// The dead members are removed, one through Elasticsearch's path.
	if r := c.Do(leader, http.MethodPost, "/_cluster/voting_config_exclusions?node_names="+c.ID(3), testcluster.Elastic, nil); r.Status != http.StatusOK {
		t.Fatalf("voting exclusion of a dead non-voter: got %d %s", r.Status, r.Body)
	}
	if r := c.Do((leader+1)%3, http.MethodDelete, "/_tokenstore/cluster/"+c.ID(4), testcluster.Elastic, nil); r.Status != http.StatusOK {
		t.Fatalf("remove a dead non-voter: got %d %s", r.Status, r.Body)
	}
	c.WaitForMembers(3, 0, 10*time.Second)
	id, _ = createKey(t, c, leader, "after-removal")
	invalidateKey(t, c, leader, id)
}

// Acceptance 2, second half: two voters of three down stop writes, while
// the non-voters answer from their state until their read lease (3 s after
// their last contact with a leader) runs out, and then with 503: never a
// stale accept of a revoked key. Their last contact is the deposed leader's
// last heartbeat: it goes on leading, and sending them entries, until it
// misses its quorum for LeaderLeaseTimeout (half the heartbeat timeout).
func TestNonVotersAnswerUntilTheirLeaseRunsOut(t *testing.T) {
	t.Parallel() // mostly waiting out leases
	c := testcluster.New(t, 3, testcluster.Options{NonVoters: 2})
	_, auth := createKey(t, c, 0, "valid")
	revokedID, revoked := createKey(t, c, 3, "revoked")
	invalidateKey(t, c, 4, revokedID)
	for _, nv := range []int{3, 4} {
		if got := keyStatus(c, nv, auth); got != http.StatusOK {
			t.Fatalf("non-voter %d: got %d, want 200", nv, got)
		}
	}
	for _, v := range c.Followers() {
		if v < 3 {
			c.Kill(v)
		}
	}
	lost := time.Now()
	var wg sync.WaitGroup
	for _, nv := range []int{3, 4} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tl, err := answersUntilLeaseRunsOut(c, nv, auth, revoked)
			if err == nil {
				err = tl.check(t, c, nv, lost)
			}
			if err != nil {
				t.Errorf("non-voter %d: %v", nv, err)
			}
		}()
	}
	if r := c.Do(3, http.MethodPost, "/_security/api_key", testcluster.Elastic, map[string]any{"name": "no-quorum"}); r.Status != http.StatusServiceUnavailable {
		t.Errorf("write with one voter of three: got %d %s, want 503", r.Status, r.Body)
	}
	wg.Wait()
}

// readLease is cluster.Config.ReadLease's default, which nodes run with.
const readLease = 3 * time.Second

// catchUpBound is how long a node that is not fresh tries to catch up with
// a leader before it answers 503 (authn's ensureFresh).
const catchUpBound = 2 * time.Second

// leaseTimeline is what one non-voter answered after the quorum was lost:
// when the last request it accepted was sent, and when the first it refused
// (503) was sent and answered.
type leaseTimeline struct {
	lastOKSent, first503Sent, first503Answered time.Time
}

// answersUntilLeaseRunsOut authenticates on a non-voter whose cluster lost
// its quorum: valid must be accepted at first (its lease still runs), then
// refused with 503 within 15 s, and stay refused; revoked never accepted.
func answersUntilLeaseRunsOut(c *testcluster.Cluster, nv int, valid, revoked string) (leaseTimeline, error) {
	var tl leaseTimeline
	for deadline := time.Now().Add(15 * time.Second); tl.first503Sent.IsZero(); {
		if time.Now().After(deadline) {
			return tl, fmt.Errorf("still answers from its state 15s after the quorum was lost")
		}
		for _, auth := range []string{valid, revoked} {
			sent := time.Now()
			switch got := keyStatus(c, nv, auth); {
			case got == http.StatusOK && auth == revoked:
				return tl, fmt.Errorf("accepted a revoked key")
			case got == http.StatusOK:
				tl.lastOKSent = sent
			case got == http.StatusServiceUnavailable:
				tl.first503Sent, tl.first503Answered = sent, time.Now()
			case auth == valid:
				return tl, fmt.Errorf("without a quorum: got %d, want 200 or 503", got)
			}
			if !tl.first503Sent.IsZero() {
				break
			}
		}
	}
	if tl.lastOKSent.IsZero() {
		return tl, fmt.Errorf("refused at once: its read lease should have let it answer")
	}
	for _, auth := range []string{valid, revoked} {
		if got := keyStatus(c, nv, auth); got != http.StatusServiceUnavailable {
			return tl, fmt.Errorf("after its lease ran out: got %d, want 503", got)
		}
	}
	return tl, nil
}

// check holds the timeline to the README's rule: the non-voter's last
// contact is the deposed leader's last heartbeat, at most about a heartbeat
// timeout after the quorum was lost; it accepts nothing sent a read lease
// after that contact or later; and it answers 503 once the lease has run out
// and its catch-up found no leader.
func (tl leaseTimeline) check(t *testing.T, c *testcluster.Cluster, nv int, lost time.Time) error {
	st := c.Node(nv).Cluster().RaftStatus()
	if st.LastContact < 0 {
		return fmt.Errorf("never heard from a leader")
	}
	contact := time.Now().Add(-st.LastContact)
	if d := contact.Sub(lost); d > 2*time.Second {
		return fmt.Errorf("heard from a leader %v after the quorum was lost: the deposed leader went on", d)
	}
	if d := tl.lastOKSent.Sub(contact); d >= readLease {
		return fmt.Errorf("accepted a request sent %v after its last contact, beyond its %v lease", d, readLease)
	}
	if d := tl.first503Answered.Sub(contact); d > readLease+catchUpBound+time.Second {
		return fmt.Errorf("first 503 answered %v after its last contact, want within lease %v + catch-up %v", d, readLease, catchUpBound)
	}
	t.Logf("non-voter %d: last contact %v after the quorum was lost; last accept sent %v after it; first 503 sent %v and answered %v after it",
		nv, contact.Sub(lost).Truncate(time.Millisecond), tl.lastOKSent.Sub(contact).Truncate(time.Millisecond),
		tl.first503Sent.Sub(contact).Truncate(time.Millisecond), tl.first503Answered.Sub(contact).Truncate(time.Millisecond))
	return nil
}

// A non-voter removed while it runs gets no more entries but may answer
// from its state until its lease runs out: a revocation acknowledged just
// after the removal waits for that, so the removed node never accepts the
// revoked key afterwards.
func TestRevocationWaitsOutARemovedNonVoter(t *testing.T) {
	t.Parallel() // mostly waiting out a lease
	c := testcluster.New(t, 3, testcluster.Options{NonVoters: 1})
	nv := 3
	id, auth := createKey(t, c, nv, "removed")
	if got := keyStatus(c, nv, auth); got != http.StatusOK {
		t.Fatalf("non-voter: got %d, want 200", got)
	}
	if r := c.Do(c.Leader(), http.MethodDelete, "/_tokenstore/cluster/"+c.ID(nv), testcluster.Elastic, nil); r.Status != http.StatusOK {
		t.Fatalf("remove the non-voter: got %d %s", r.Status, r.Body)
	}
	invalidateKey(t, c, c.Leader(), id)
	if got := keyStatus(c, nv, auth); got == http.StatusOK {
		t.Fatalf("removed non-voter accepted a key whose invalidation was acknowledged")
	}
}

// A leader that demotes itself steps down and goes on as a non-voter: the
// voters elect another, and it keeps its state and authenticates; promoted
// again, it is a voter.
func TestDemotedLeaderGoesOnAsNonVoter(t *testing.T) {
	t.Parallel() // mostly waiting for an election
	c := testcluster.New(t, 3)
	old := c.Leader()
	if r := c.Do(old, http.MethodPost, "/_tokenstore/cluster/"+c.ID(old)+"/_demote", testcluster.Elastic, nil); r.Status != http.StatusOK {
		t.Fatalf("demote the leader: got %d %s", r.Status, r.Body)
	}
	c.WaitForMembers(2, 1, 10*time.Second)
	if c.WaitForLeader(10*time.Second) == old {
		t.Fatal("the demoted node leads")
	}
	_, auth := createKey(t, c, c.Leader(), "after-demotion")
	c.Eventually(10*time.Second, "the demoted leader authenticates", func() bool { return keyStatus(c, old, auth) == http.StatusOK })
	start := time.Now()
	c.Eventually(10*time.Second, "the new leader promotes it once it has heard from it", func() bool {
		r := c.Do(old, http.MethodPost, "/_tokenstore/cluster/"+c.ID(old)+"/_promote", testcluster.Elastic, nil)
		return r.Status == http.StatusOK
	})
	t.Logf("promoted after %v", time.Since(start))
	c.WaitForMembers(3, 0, 10*time.Second)
}
