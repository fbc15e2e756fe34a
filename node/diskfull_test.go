package node_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// mountTmpfs puts a size-limited tmpfs on every data dir the cluster makes,
// and takes them away after the test (lazily: nodes may still hold files).
// A mount that fails fails the test: it needs root, which CI has.
func mountTmpfs(t *testing.T, size string) func(dir string) error {
	return func(dir string) error {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
			return fmt.Errorf("mount -t tmpfs on %s: %v: %s", dir, err, out)
		}
		t.Cleanup(func() {
			if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v: %s", dir, err, out)
			}
		})
		return nil
	}
}

// fill writes a file into dir until the file system is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		if _, err = f.Write(chunk); err != nil {
			break
		}
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling %s: %v, want no space left on device", dir, err)
	}
	return path
}

// diskKeys creates API keys through chosen nodes and remembers every key
// whose creation was acknowledged.
type diskKeys struct {
	c     *testcluster.Cluster
	mu    sync.Mutex
	acked []string
}

// create asks node i for a key; it returns the answer.
func (k *diskKeys) create(i int) testcluster.Response {
	r := k.c.Do(i, http.MethodPost, "/_security/api_key", testcluster.Elastic, map[string]any{"name": "disk"})
	if r.Status == http.StatusOK {
		k.mu.Lock()
		k.acked = append(k.acked, r.JSON()["encoded"].(string))
		k.mu.Unlock()
	}
	return r
}

// refusedForDisk waits until a write through node i is refused with a 503
// whose reason names the full disk.
func (k *diskKeys) refusedForDisk(t *testing.T, i int) {
	t.Helper()
	var last testcluster.Response
	k.c.Eventually(10*time.Second, fmt.Sprintf("a write on node %d is refused for its full disk", i), func() bool {
		last = k.create(i)
		return last.Status == http.StatusServiceUnavailable
	})
	e, _ := last.JSON()["error"].(map[string]any)
	if e["type"] != "unavailable_shards_exception" || !strings.Contains(fmt.Sprint(e["reason"]), "no space left on device") {
		t.Fatalf("write on a full disk: %s, want a 503 naming the full disk", last.Body)
	}
}

func authStatus(c *testcluster.Cluster, i int, encoded string) int {
	return c.Do(i, http.MethodGet, "/_security/_authenticate", "ApiKey "+encoded, nil).Status
}

// recovered waits until node i takes writes again and has applied what the
// leader has, then checks that every acknowledged key authenticates on
// every node.
func (k *diskKeys) recovered(t *testing.T, i int) {
	t.Helper()
	k.c.Eventually(20*time.Second, fmt.Sprintf("node %d takes writes again", i), func() bool { return k.create(i).Status == http.StatusOK })
	k.c.Eventually(20*time.Second, fmt.Sprintf("node %d catches up", i), func() bool {
		l := k.c.Leader()
		return l >= 0 && k.c.Node(i).Cluster().State().AppliedIndex() >= k.c.Node(l).Cluster().State().AppliedIndex()
	})
	for n := 0; n < k.c.Len(); n++ {
		for _, key := range k.acked {
			if s := authStatus(k.c, n, key); s != http.StatusOK {
				t.Fatalf("node %d: an acknowledged key answers %d", n, s)
			}
		}
	}
}

// A follower, then the leader, runs out of space on its data dir (a small
// tmpfs filled up). Writes through the full node get a 503 that names the
// cause; the others go on writing (the full leader hands over) and revoking;
// the full node still authenticates credentials it has, never accepts one
// revoked meanwhile, and, a former leader, is not elected again; once space
// returns it takes writes and catches up
// by itself, and no acknowledged write is lost.
func TestFullDisk(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{PrepareDataDir: mountTmpfs(t, "48m"), LogLevel: "warn"})
	t.Cleanup(func() {
		c.Close() // before the tmpfs go
		if t.Failed() {
			for i := 0; i < c.Len(); i++ {
				data, _ := os.ReadFile(filepath.Join(c.DataDir(i), "node.log"))
				t.Logf("node %d log:\n%s", i, data)
			}
		}
	})
	k := &diskKeys{c: c}
	leader := c.WaitForLeader(10 * time.Second)
	existing := c.Do(leader, http.MethodPost, "/_security/api_key", testcluster.Elastic, map[string]any{"name": "existing"}).JSON()["encoded"].(string)
	doomed := []string{}
	for range 2 {
		r := c.Do(leader, http.MethodPost, "/_security/api_key", testcluster.Elastic, map[string]any{"name": "doomed"}).JSON()
		doomed = append(doomed, r["id"].(string), r["encoded"].(string))
	}
	for i := 0; i < c.Len(); i++ {
		c.Eventually(5*time.Second, "the keys reach every node", func() bool { return authStatus(c, i, doomed[3]) == http.StatusOK })
	}

	// A follower's disk fills up.
	{
		f := c.Followers()[0]
		filler := fill(t, c.DataDir(f))
		k.refusedForDisk(t, f)
		for range 3 {
			if r := k.create(c.Leader()); r.Status != http.StatusOK {
				t.Fatalf("a write through the leader while a follower's disk is full: %d %s", r.Status, r.Body)
			}
		}
		if s := authStatus(c, f, existing); s != http.StatusOK {
			t.Fatalf("an existing key on the full follower: %d", s)
		}
		revoke(t, c, c.Leader(), doomed[0], doomed[1], f)
		os.Remove(filler)
		k.recovered(t, f)
	}

	// The leader's disk fills up.
	{
		l := c.WaitForLeader(10 * time.Second)
		filler := fill(t, c.DataDir(l))
		k.refusedForDisk(t, l)
		c.Eventually(10*time.Second, "the full leader hands over", func() bool {
			n := c.Leader()
			return n >= 0 && n != l
		})
		// From now on until space returns it must not lead again: elected,
		// it could store nothing and would step down at once.
		releads := make(chan bool, 1)
		stopWatch := make(chan struct{})
		go func() {
			led := false
			for {
				select {
				case <-stopWatch:
					releads <- led
					return
				case <-time.After(10 * time.Millisecond):
					led = led || c.Node(l).Cluster().IsLeader()
				}
			}
		}()
		for range 3 {
			if r := k.create(c.Leader()); r.Status != http.StatusOK {
				t.Fatalf("a write through the new leader: %d %s", r.Status, r.Body)
			}
		}
		// A leader that lost its place judges from its state again once the
		// new leader has told it that every entry it lacks only adds.
		c.Eventually(10*time.Second, "the full former leader authenticates an existing key", func() bool {
			return authStatus(c, l, existing) == http.StatusOK
		})
		revoke(t, c, c.Leader(), doomed[2], doomed[3], l)
		close(stopWatch)
		if <-releads {
			t.Fatalf("node %d led again while its disk was full", l)
		}
		os.Remove(filler)
		k.recovered(t, l)
	}
}

// revoke invalidates a key through node via while node full's disk is
// full: the revocation is acknowledged, and the key is refused everywhere
// from then on (the full node, unable to store it, refuses to judge).
func revoke(t *testing.T, c *testcluster.Cluster, via int, id, encoded string, full int) {
	t.Helper()
	r := c.Do(via, http.MethodDelete, "/_security/api_key", testcluster.Elastic, map[string]any{"ids": []string{id}})
	if r.Status != http.StatusOK {
		t.Fatalf("invalidate while node %d's disk is full: %d %s", full, r.Status, r.Body)
	}
	for i := 0; i < c.Len(); i++ {
		if s := authStatus(c, i, encoded); s == http.StatusOK {
			t.Fatalf("node %d accepts a key invalidated while node %d's disk is full", i, full)
		}
	}
}
