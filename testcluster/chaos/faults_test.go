package chaos

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// Focused fault tests: each reproduces, deterministically or nearly, one
// way a node can contradict an acknowledged write, which TestChaos finds
// by chance among many operations.

func newFaultCluster(t *testing.T) (*testcluster.Cluster, *Workload) {
	c := testcluster.New(t, 3, testcluster.Options{
		HeartbeatTimeout: envDuration(t, "CHAOS_HEARTBEAT_TIMEOUT", chaosHeartbeat),
		ElectionTimeout:  envDuration(t, "CHAOS_ELECTION_TIMEOUT", chaosElection),
	})
	return c, NewWorkload(c, NewRecorder(), fmt.Sprintf("fault-%d", time.Now().UnixNano()%1_000_000))
}

// mustCreate creates a key on node and waits until every node
// authenticates it.
func mustCreate(t *testing.T, c *testcluster.Cluster, w *Workload, node int) *Key {
	t.Helper()
	op := w.Create(0, node)
	if op.Outcome != OK {
		t.Fatalf("create on node %d: %v", node, op)
	}
	k := w.key(op.Key)
	for i := range c.Len() {
		c.Eventually(5*time.Second, fmt.Sprintf("key %s on node %d", k.ID, i), func() bool {
			return w.authenticate(0, i, k.ID, k.Encoded).Outcome == OK
		})
	}
	return k
}

func mustInvalidate(t *testing.T, w *Workload, node int, k *Key) {
	t.Helper()
	if op := w.Invalidate(0, node, k); op.Outcome != OK {
		t.Fatalf("invalidate on node %d: %v", node, op)
	}
}

// An invalidation by id sent to a node that has not applied the key's
// create yet must still invalidate it: the client holds the acknowledged
// create, and a 200 that lists nothing tells it the key is gone while the
// key stays valid on every node.
func TestInvalidateRightAfterCreateOnAnotherNode(t *testing.T) {
	_, w := newFaultCluster(t)
	missed := 0
	const n = 150
	for i := range n {
		op := w.Create(0, i%3)
		if op.Outcome != OK {
			t.Fatalf("create: %v", op)
		}
		k := w.key(op.Key)
		if inv := w.Invalidate(0, (i+1)%3, k); inv.Outcome != OK {
			missed++
			if missed <= 3 {
				a := w.authenticate(0, (i+1)%3, k.ID, k.Encoded)
				t.Errorf("key created on node %d, invalidated on node %d: %v; afterwards: %v", i%3, (i+1)%3, inv, a)
			}
		}
	}
	if missed > 0 {
		t.Errorf("%d of %d invalidations sent to another node than the create missed the key", missed, n)
	}
}

// Once an invalidation is acknowledged, no node may accept the key: the
// acknowledgement is what the client acts on (a leaked key is reported
// revoked). Authenticating on the other nodes straight after it checks
// that no node still answers from before the invalidation.
func TestInvalidatedKeyRefusedEverywhereOnAcknowledgement(t *testing.T) {
	c, w := newFaultCluster(t)
	stale := 0
	const n = 100
	for i := range n {
		k := mustCreate(t, c, w, i%3)
		mustInvalidate(t, w, i%3, k)
		for _, j := range others(3, i%3) {
			if op := w.Authenticate(0, j, k); op.Outcome == OK {
				stale++
				if stale <= 3 {
					t.Errorf("key %s invalidated on node %d authenticates on node %d right after: %v", k.ID, i%3, j, op)
				}
			}
		}
	}
	if stale > 0 {
		t.Errorf("%d of %d authentications right after an acknowledged invalidation succeeded", stale, 2*n)
	}
}

// A node cut off from the others cannot learn of invalidations the
// majority commits, so it must stop accepting keys rather than accept
// invalidated ones for as long as the partition lasts.
func TestPartitionedNodeRefusesKeysInvalidatedByTheMajority(t *testing.T) {
	c, w := newFaultCluster(t)
	k := mustCreate(t, c, w, 0)
	f := c.Followers()[0]
	c.Partition(f)
	t.Cleanup(func() {
		if c.Node(f) != nil {
			c.Heal(f)
		}
	})
	mustInvalidate(t, w, c.WaitForLeader(5*time.Second), k)
	accepted, asked := 0, 0
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		asked++
		if op := w.Authenticate(0, f, k); op.Outcome == OK {
			accepted++
		}
	}
	if accepted > 0 {
		t.Errorf("partitioned node %d accepted key %s, invalidated by the majority, %d of %d times over 3s", f, k.ID, accepted, asked)
	}
}

// A node restarted after a crash holds its last snapshot and its log, but
// applies the log only once it learns the commit index from a leader. It
// must not answer from the snapshot meanwhile: a key invalidated after the
// snapshot would authenticate again, for as long as no leader is reachable.
func TestInvalidationSurvivesRestartWithoutQuorum(t *testing.T) {
	c, w := newFaultCluster(t)
	k := mustCreate(t, c, w, 0)
	for i := range c.Len() {
		if err := c.Node(i).Cluster().Snapshot(); err != nil {
			t.Fatalf("snapshot on node %d: %v", i, err)
		}
	}
	mustInvalidate(t, w, c.Leader(), k)
	for i := range c.Len() {
		c.Eventually(5*time.Second, fmt.Sprintf("invalidation on node %d", i), func() bool {
			return w.authenticate(0, i, k.ID, k.Encoded).Outcome == Refused
		})
	}
	for i := range c.Len() {
		c.Kill(i)
	}
	c.Restart(0)
	accepted, asked := 0, 0
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		asked++
		if op := w.Authenticate(0, 0, k); op.Outcome == OK {
			accepted++
		}
	}
	if accepted > 0 {
		t.Errorf("node 0, restarted alone, accepted key %s invalidated before the crash %d of %d times over 3s", k.ID, accepted, asked)
	}
}

// A follower restarted after a crash, while the cluster moved on, must
// not refuse keys acknowledged meanwhile nor accept keys invalidated
// meanwhile, from the moment it answers requests.
func TestRestartedFollowerAnswersFromTheCurrentState(t *testing.T) {
	c, w := newFaultCluster(t)
	var before []*Key
	for i := range 20 {
		before = append(before, mustCreate(t, c, w, i%3))
	}
	f := c.Followers()[0]
	if err := c.Node(f).Cluster().Snapshot(); err != nil {
		t.Fatalf("snapshot on node %d: %v", f, err)
	}
	c.Kill(f)
	leader := c.WaitForLeader(5 * time.Second)
	var after []*Key
	for range 300 {
		op := w.Create(0, leader)
		if op.Outcome != OK {
			t.Fatalf("create while node %d is down: %v", f, op)
		}
		after = append(after, w.key(op.Key))
	}
	for _, k := range before {
		mustInvalidate(t, w, leader, k)
	}
	c.Restart(f)
	refused, accepted := 0, 0
	c.Eventually(10*time.Second, fmt.Sprintf("node %d answers", f), func() bool {
		r, err := testcluster.Do(c.URL(f), http.MethodGet, "/", "", nil)
		return err == nil && r.Status != 0
	})
	for i := range 40 {
		if op := w.Authenticate(0, f, after[len(after)-1-i]); op.Outcome == Refused {
			refused++
			if refused == 1 {
				t.Logf("first refusal: %v", op)
			}
		}
		if op := w.Authenticate(0, f, before[i%len(before)]); op.Outcome == OK {
			accepted++
		}
	}
	if refused > 0 || accepted > 0 {
		t.Errorf("restarted node %d: %d of 40 keys acknowledged while it was down refused, %d of 40 keys invalidated meanwhile accepted",
			f, refused, accepted)
	}
}
