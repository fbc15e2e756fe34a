package cluster_test

import (
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

func putRoleAndUser(t *testing.T, c *testcluster.Cluster, node int, user, password string) {
	t.Helper()
	r := c.Do(node, http.MethodPut, "/_security/role/"+user+"-role", testcluster.Elastic,
		map[string]any{"cluster": []string{"monitor"}})
	if r.Status != http.StatusOK {
		t.Fatalf("put role via node %d: got %d %s", node, r.Status, r.Body)
	}
	r = c.Do(node, http.MethodPut, "/_security/user/"+user, testcluster.Elastic,
		map[string]any{"password": password, "roles": []string{user + "-role"}})
	if r.Status != http.StatusOK {
		t.Fatalf("put user via node %d: got %d %s", node, r.Status, r.Body)
	}
}

// authenticates checks that user authenticates on node i and has the role
// written with it (the health call needs its monitor privilege).
func authenticates(c *testcluster.Cluster, i int, user, password string) bool {
	r, err := testcluster.Do(c.URL(i), http.MethodGet, "/_cluster/health", testcluster.Basic(user, password), nil)
	return err == nil && r.Status == http.StatusOK
}

// Acceptance 1: written through a follower, usable at once everywhere.
func TestWriteThroughFollowerAuthenticatesOnEveryNodeAtOnce(t *testing.T) {
	c := testcluster.New(t, 3)
	f := c.Followers()[0]
	for k := 0; k < 5; k++ {
		user := fmt.Sprintf("u%d", k)
		putRoleAndUser(t, c, f, user, "password-"+user)
		for i := 0; i < c.Len(); i++ {
			if !authenticates(c, i, user, "password-"+user) {
				t.Fatalf("user %s written via follower %d does not authenticate on node %d right away", user, f, i)
			}
		}
	}
}

// Acceptance 1: leader killed, new leader within 5 s, writes work, and the
// killed node gets everything written meanwhile after its restart.
func TestLeaderKillFailoverAndCatchUp(t *testing.T) {
	c := testcluster.New(t, 3)
	old := c.Leader()
	c.Kill(old)
	start := time.Now()
	leader := c.WaitForLeader(5 * time.Second)
	t.Logf("new leader %s after %v", c.ID(leader), time.Since(start))
	survivor := c.Followers()[0]
	putRoleAndUser(t, c, survivor, "after", "password-after")
	c.Restart(old)
	c.Eventually(10*time.Second, "restarted node has the user written while it was down", func() bool {
		return authenticates(c, old, "after", "password-after")
	})
}

// Acceptance 2: a follower answers authentication while the leader is
// unreachable: nothing on the read path talks to the leader.
func TestFollowerAuthenticatesWhileLeaderIsCutOff(t *testing.T) {
	c := testcluster.New(t, 3)
	putRoleAndUser(t, c, 0, "local", "password-local")
	for i := 0; i < c.Len(); i++ {
		c.Eventually(5*time.Second, "user replicated", func() bool { return authenticates(c, i, "local", "password-local") })
	}
	leader := c.Leader()
	c.Partition(leader)
	defer c.Heal(leader)
	for _, f := range []int{(leader + 1) % 3, (leader + 2) % 3} {
		for k := 0; k < 20; k++ {
			if !authenticates(c, f, "local", "password-local") {
				t.Fatalf("follower %d failed to authenticate while the leader was cut off", f)
			}
		}
		if r := c.Do(f, http.MethodGet, "/_cluster/health", testcluster.Basic("local", "wrong-password"), nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong password on follower %d: got %d, want 401", f, r.Status)
		}
	}
}

// All nodes stopped at once and started again keep all their state.
func TestAllNodesStopAndRestartWithTheirData(t *testing.T) {
	c := testcluster.New(t, 3)
	putRoleAndUser(t, c, c.Followers()[0], "durable", "password-durable")
	for i := 0; i < c.Len(); i++ {
		c.Stop(i)
	}
	for i := 0; i < c.Len(); i++ {
		c.Restart(i)
	}
	c.WaitForLeader(10 * time.Second)
	for i := 0; i < c.Len(); i++ {
		c.Eventually(10*time.Second, "state back after restart", func() bool { return authenticates(c, i, "durable", "password-durable") })
	}
}

// A write on a partitioned leader fails instead of being lost silently, and
// the majority side keeps accepting writes.
func TestIsolatedLeaderRefusesWrites(t *testing.T) {
	c := testcluster.New(t, 3)
	old := c.Leader()
	c.Partition(old)
	r := c.Do(old, http.MethodPut, "/_security/role/lost", testcluster.Elastic, map[string]any{"cluster": []string{"monitor"}})
	if r.Status == http.StatusOK {
		t.Fatalf("isolated old leader acknowledged a write: %s", r.Body)
	}
	var leader int
	c.Eventually(10*time.Second, "majority elects a new leader", func() bool {
		for _, i := range []int{(old + 1) % 3, (old + 2) % 3} {
			if c.Node(i).Cluster().IsLeader() {
				leader = i
				return true
			}
		}
		return false
	})
	putRoleAndUser(t, c, leader, "majority", "password-majority")
	c.Heal(old)
	c.Eventually(10*time.Second, "healed node has the majority's write", func() bool {
		return authenticates(c, old, "majority", "password-majority")
	})
}

// Forwarding must not open a way in: the leader re-authorizes forwarded
// events with the client's credential.
func TestForwardedWriteNeedsCredentialsTheLeaderAccepts(t *testing.T) {
	c := testcluster.New(t, 3)
	putRoleAndUser(t, c, 0, "weak", "password-weak") // only monitor
	leader := c.Leader()
	// A role-put event, forged and sent straight to the leader's internal
	// endpoint: without credentials, and with a user lacking manage_security.
	event := []byte("\x00\x05\x01" + `{"name":"evil","descriptor":{"cluster":["all"],"indices":null,"applications":null,"run_as":null}}`)
	for _, auth := range []string{"", testcluster.Basic("weak", "password-weak"), testcluster.Basic("elastic", "wrong")} {
		r := c.Do(leader, http.MethodPost, "/_tokenstore/internal/propose", auth, event)
		if r.Status != http.StatusForbidden {
			t.Errorf("forged forward with auth %q: got %d %s, want 403", auth, r.Status, r.Body)
		}
	}
	if r := c.Do(leader, http.MethodGet, "/_security/role/evil", testcluster.Elastic, nil); r.Status != http.StatusNotFound {
		t.Fatalf("a forged event created role evil: %d %s", r.Status, r.Body)
	}
	// An event type that only the leader itself may originate is refused
	// even with superuser credentials.
	boot := []byte("\x00\x07\x01" + `{"password_hash":"x","cluster_id":"x"}`)
	if r := c.Do(leader, http.MethodPost, "/_tokenstore/internal/propose", testcluster.Elastic, boot); r.Status != http.StatusForbidden {
		t.Errorf("forwarded bootstrap event: got %d, want 403", r.Status)
	}
	// Garbage is refused before it reaches the log.
	if r := c.Do(leader, http.MethodPost, "/_tokenstore/internal/propose", testcluster.Elastic, "\x7f\x7f\x01{}"); r.Status != http.StatusBadRequest {
		t.Errorf("unknown event type: got %d, want 400", r.Status)
	}
}

// A raw TCP client writing garbage to a Raft port changes nothing.
func TestGarbageOnRaftPortChangesNothing(t *testing.T) {
	c := testcluster.New(t, 3)
	leader := c.Leader()
	before := c.Node(leader).Cluster().State().AppliedIndex()
	for i := 0; i < c.Len(); i++ {
		stats := c.Node(i).Cluster().Stats()
		conn, err := net.Dial("tcp", c.Node(i).Cluster().RaftAddr())
		if err != nil {
			t.Fatalf("dial raft port of node %d (%s): %v", i, stats["state"], err)
		}
		conn.Write([]byte("\x01garbage that is not a raft rpc\x00\xff\xfe"))
		conn.Close()
	}
	putRoleAndUser(t, c, leader, "still", "password-still")
	if got := c.Node(leader).Cluster().State().AppliedIndex(); got <= before {
		t.Fatalf("cluster stopped applying after garbage: %d <= %d", got, before)
	}
	if c.Leader() != leader {
		t.Errorf("leadership moved after garbage on raft ports")
	}
}

// An operator removes a node from the voting configuration; the others
// keep a quorum of two.
func TestVotingConfigExclusionRemovesNode(t *testing.T) {
	c := testcluster.New(t, 3)
	victim := c.Followers()[0]
	other := c.Followers()[1]
	r := c.Do(other, http.MethodPost, "/_cluster/voting_config_exclusions?node_names="+c.ID(victim), testcluster.Elastic, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("voting exclusion via a follower: got %d %s", r.Status, r.Body)
	}
	c.WaitForNodes(2, 10*time.Second)
	c.Kill(victim)
	putRoleAndUser(t, c, other, "two", "password-two")
	weak := testcluster.Basic("two", "password-two")
	if r := c.Do(other, http.MethodPost, "/_cluster/voting_config_exclusions?node_names=x", weak, nil); r.Status != http.StatusForbidden {
		t.Errorf("voting exclusion by a monitor-only user: got %d, want 403", r.Status)
	}
}

// A password change, a disable and a delete written on one node stop the
// old credential on every node, cache or not, within the replication lag.
func TestPasswordChangeDisableAndDeleteReachEveryNode(t *testing.T) {
	c := testcluster.New(t, 3)
	putRoleAndUser(t, c, 0, "hot", "password-old")
	for i := 0; i < c.Len(); i++ { // warm every node's cache
		c.Eventually(5*time.Second, "user usable", func() bool { return authenticates(c, i, "hot", "password-old") })
	}
	gone := func(what, password string) {
		t.Helper()
		start := time.Now()
		for i := 0; i < c.Len(); i++ {
			c.Eventually(2*time.Second, what+" seen on node "+c.ID(i), func() bool { return !authenticates(c, i, "hot", password) })
		}
		t.Logf("%s honoured on all nodes %v after the acknowledgement", what, time.Since(start))
	}
	f := c.Followers()[0]
	if r := c.Do(f, http.MethodPost, "/_security/user/hot/_password", testcluster.Elastic, map[string]string{"password": "password-new"}); r.Status != 200 {
		t.Fatalf("change password: %d %s", r.Status, r.Body)
	}
	gone("password change", "password-old")
	for i := 0; i < c.Len(); i++ {
		if !authenticates(c, i, "hot", "password-new") {
			t.Fatalf("new password refused on node %d", i)
		}
	}
	if r := c.Do(f, http.MethodPut, "/_security/user/hot/_disable", testcluster.Elastic, nil); r.Status != 200 {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	gone("disable", "password-new")
	if r := c.Do(f, http.MethodPut, "/_security/user/hot/_enable", testcluster.Elastic, nil); r.Status != 200 {
		t.Fatalf("enable: %d %s", r.Status, r.Body)
	}
	for i := 0; i < c.Len(); i++ {
		c.Eventually(2*time.Second, "enabled again", func() bool { return authenticates(c, i, "hot", "password-new") })
	}
	if r := c.Do(f, http.MethodDelete, "/_security/user/hot", testcluster.Elastic, nil); r.Status != 200 || r.JSON()["found"] != true {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	gone("delete", "password-new")
	if r := c.Do(f, http.MethodDelete, "/_security/user/hot", testcluster.Elastic, nil); r.Status != 404 || r.JSON()["found"] != false {
		t.Fatalf("second delete: got %d %s, want 404 found:false", r.Status, r.Body)
	}
}
