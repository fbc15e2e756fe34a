package cluster_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/cluster"
	"github.com/tokenstore/tokenstore/fsm"
	"github.com/tokenstore/tokenstore/testcluster"
)

func rolePut(name string) []byte {
	return fsm.MustEncode(fsm.RolePutV1{Name: name, Descriptor: fsm.RoleDescriptor{Cluster: []string{"monitor"}}})
}

// holdBatchSlots takes every batch slot of follower f for a few seconds:
// invalidations sent through f wait, on the leader, until a cut-off
// non-voter is surely fenced. It returns once the leader has applied them
// (their batches are then on their way) and a wait for their answers.
func holdBatchSlots(t *testing.T, c *testcluster.Cluster, f, nv int) func() {
	t.Helper()
	var ids []string
	for i := 0; i < cluster.BatchesInFlight; i++ {
		id, _ := createKey(t, c, c.Leader(), fmt.Sprintf("hold-%d", i))
		ids = append(ids, id)
	}
	c.Partition(nv)
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() { invalidateKey(t, c, f, id) })
	}
	leader := c.Node(c.Leader()).Cluster()
	c.Eventually(10*time.Second, "the leader applied the invalidations", func() bool {
		for _, id := range ids {
			if k, ok := leader.State().APIKey(id); !ok || !k.Invalidated {
				return false
			}
		}
		return true
	})
	return func() { wg.Wait(); c.Heal(nv) }
}

// Writes forwarded while the follower's batch slots are taken queue and go
// to the leader together in one request; each still gets its own index and
// result, and a write whose credential may not make it is refused alone.
func TestForwardedWritesGoTogetherEachWithItsOwnOutcome(t *testing.T) {
	t.Parallel() // mostly waiting out a lease
	c := testcluster.New(t, 3, testcluster.Options{NonVoters: 1})
	const n, nv = 64, 3
	f := c.Followers()[0]
	if f == nv {
		f = c.Followers()[1]
	}
	putRoleAndUser(t, c, f, "weak", "weak-password") // monitor only: no role writes
	for i := 0; i < n; i += 2 {
		if r := c.Do(f, http.MethodPut, fmt.Sprintf("/_security/role/batch-%d", i), testcluster.Elastic, `{"cluster":["all"]}`); r.Status != http.StatusOK {
			t.Fatalf("put role: %d %s", r.Status, r.Body)
		}
	}
	before := counters(t, c, forwardCounters...)
	done := holdBatchSlots(t, c, f, nv)

	type outcome struct {
		index uint64
		res   fsm.Result
		err   error
	}
	out := make([]outcome, n)
	var wg sync.WaitGroup
	for i := range out {
		cred := testcluster.Elastic
		if i == n-1 {
			cred = testcluster.Basic("weak", "weak-password")
		}
		wg.Go(func() {
			idx, res, err := c.Node(f).Cluster().Propose(context.Background(), rolePut(fmt.Sprintf("batch-%d", i)), cred, "")
			out[i] = outcome{idx, res, err}
		})
	}
	wg.Wait()
	done()
	after := counters(t, c, forwardCounters...)

	seen := map[uint64]int{}
	for i, o := range out[:n-1] {
		want := fsm.Created
		if i%2 == 0 {
			want = fsm.Updated
		}
		if o.err != nil || o.res.Status != want {
			t.Fatalf("write %d: got %v, %v; want %v", i, o.res.Status, o.err, want)
		}
		if j, dup := seen[o.index]; dup {
			t.Fatalf("writes %d and %d both got index %d", j, i, o.index)
		}
		seen[o.index] = i
		if r, ok := c.Node(f).Cluster().State().Role(fmt.Sprintf("batch-%d", i)); !ok || r.ModIndex != o.index {
			t.Fatalf("write %d at index %d not applied on the follower when acknowledged", i, o.index)
		}
	}
	if _, ok := errors.AsType[*cluster.ForbiddenError](out[n-1].err); !ok {
		t.Errorf("write with a credential that may not write roles: got %v, want the leader's refusal", out[n-1].err)
	}
	if _, ok := c.Node(c.Leader()).Cluster().State().Role(fmt.Sprintf("batch-%d", n-1)); ok {
		t.Error("the refused write was applied")
	}
	// The held invalidations went in their own batches; all the writes
	// above in one more.
	batches, singles := after[2]-before[2], after[1]-before[1]
	if want := float64(cluster.BatchesInFlight + 1); batches != want || singles != 0 {
		t.Errorf("forwarded requests: got %v batches and %v single writes, want %v and 0", batches, singles, want)
	}
}

// Writes go on through both followers while the leader is killed: every
// acknowledged write is on the nodes that remain, and every write that
// was not acknowledged was answered 503 (not appended, or outcome unknown).
func TestNoBatchedWriteLostWhenTheLeaderDies(t *testing.T) {
	c := testcluster.New(t, 3)
	old, fs := c.Leader(), c.Followers()
	var mu sync.Mutex
	var acked []string
	statuses := map[int]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d-%d", w, k)
				r, err := testcluster.Do(c.URL(fs[w%2]), http.MethodPut, "/_security/role/"+name, testcluster.Elastic, `{"cluster":["monitor"]}`)
				mu.Lock()
				if err != nil {
					statuses[0]++
				} else {
					statuses[r.Status]++
				}
				if err == nil && r.Status == http.StatusOK {
					acked = append(acked, name)
				}
				mu.Unlock()
			}
		})
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	c.Eventually(20*time.Second, "writes acknowledged before the kill", func() bool { return count() >= 200 })
	c.Kill(old)
	killed := count()
	c.WaitForLeader(10 * time.Second)
	c.Eventually(30*time.Second, "writes acknowledged after the failover", func() bool { return count() >= killed+200 })
	close(stop)
	wg.Wait()

	t.Logf("answers: %v", statuses)
	for status, k := range statuses {
		if status != http.StatusOK && status != http.StatusServiceUnavailable {
			t.Errorf("%d writes answered %d, want only 200 or 503", k, status)
		}
	}
	for _, i := range fs {
		st := c.Node(i).Cluster().State()
		c.Eventually(10*time.Second, "every acknowledged write applied", func() bool { return st.AppliedIndex() >= c.Node(c.Leader()).Cluster().State().AppliedIndex() })
		for _, name := range acked {
			if _, ok := st.Role(name); !ok {
				t.Fatalf("role %s was acknowledged but node %d does not have it", name, i)
			}
		}
	}
}

// batchBody encodes writes as a follower sends them: each field a uvarint
// length and its bytes.
func batchBody(items ...[3][]byte) []byte {
	var b []byte
	for _, it := range items {
		for _, f := range it {
			b = binary.AppendUvarint(b, uint64(len(f)))
			b = append(b, f...)
		}
	}
	return b
}

// The batch endpoint is for nodes only (here, without transport TLS, a
// credential with `all`), bounded, and each write in it is judged alone.
func TestBatchEndpointIsNodeOnlyBoundedAndJudgesEachWrite(t *testing.T) {
	c := testcluster.New(t, 1)
	putRoleAndUser(t, c, 0, "weak", "weak-password")
	weak := testcluster.Basic("weak", "weak-password")
	const path = "/_tokenstore/internal/propose/batch"
	good := [3][]byte{[]byte(testcluster.Elastic), nil, rolePut("judged-alone")}
	if r := c.Do(0, http.MethodPost, path, weak, batchBody(good)); r.Status != http.StatusForbidden {
		t.Errorf("batch sent with a credential without `all`: got %d, want 403", r.Status)
	}
	if _, ok := c.Node(0).Cluster().State().Role("judged-alone"); ok {
		t.Fatal("a batch refused at the door was applied")
	}
	tooLarge := batchBody([3][]byte{[]byte(testcluster.Elastic), nil, make([]byte, 1<<20)})
	tooMany := bytes.Repeat(batchBody([3][]byte{}), cluster.MaxBatchItems+1)
	for name, body := range map[string][]byte{"larger than 1 MiB": tooLarge, "one write too many": tooMany, "cut short": good[2][:2]} {
		if r := c.Do(0, http.MethodPost, path, testcluster.Elastic, body); r.Status != http.StatusBadRequest {
			t.Errorf("%s: got %d, want 400", name, r.Status)
		}
	}
	r := c.Do(0, http.MethodPost, path, testcluster.Elastic, batchBody(good,
		[3][]byte{[]byte(weak), nil, rolePut("refused")},
		[3][]byte{[]byte(testcluster.Elastic), nil, []byte("\x7f\x7f\x01{}")}))
	var reply struct {
		Items []struct {
			Status int    `json:"status"`
			Index  uint64 `json:"index"`
		} `json:"items"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &reply) != nil || len(reply.Items) != 3 {
		t.Fatalf("batch of three: got %d %s", r.Status, r.Body)
	}
	if got := []int{reply.Items[0].Status, reply.Items[1].Status, reply.Items[2].Status}; !slices.Equal(got, []int{200, 403, 400}) {
		t.Errorf("statuses: got %v, want [200 403 400]", got)
	}
	if role, ok := c.Node(0).Cluster().State().Role("judged-alone"); !ok || role.ModIndex != reply.Items[0].Index {
		t.Error("the authorized write is not at the index answered")
	}
	if _, ok := c.Node(0).Cluster().State().Role("refused"); ok {
		t.Error("the refused write was applied")
	}
}

// Invalidations acknowledged at the same time share their confirmations
// (one round of questions serves every wait up to its index): each is
// still refused on every voter the moment it is acknowledged, and a
// non-voter cut off meanwhile no longer answers from its state by then.
func TestConcurrentRevocationsAreRefusedEverywhereOnceAcknowledged(t *testing.T) {
	t.Parallel() // mostly waiting out a lease
	c := testcluster.New(t, 3, testcluster.Options{NonVoters: 1})
	const n, nv = 24, 3
	ids, auths := make([]string, n), make([]string, n)
	for i := range ids {
		ids[i], auths[i] = createKey(t, c, i%3, fmt.Sprintf("revoke-%d", i))
		if got := keyStatus(c, nv, auths[i]); got != http.StatusOK {
			t.Fatalf("key %d on the non-voter: got %d, want 200", i, got)
		}
	}
	c.Partition(nv)
	defer c.Heal(nv)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			r, err := testcluster.Do(c.URL(i%3), http.MethodDelete, "/_security/api_key", testcluster.Elastic, map[string]any{"ids": []string{ids[i]}})
			if err != nil || r.Status != http.StatusOK {
				t.Errorf("invalidate key %d: %v %d %s", i, err, r.Status, r.Body)
				return
			}
			for j := 0; j < 3; j++ {
				if got := keyStatus(c, j, auths[i]); got != http.StatusUnauthorized {
					t.Errorf("key %d acknowledged as invalidated: node %d answered %d, want 401", i, j, got)
				}
			}
			if got := keyStatus(c, nv, auths[i]); got == http.StatusOK {
				t.Errorf("key %d acknowledged as invalidated: the cut-off non-voter still accepts it", i)
			}
		})
	}
	wg.Wait()
}
