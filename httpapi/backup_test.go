package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// credentials is a set of live and invalidated credentials of every kind,
// to check after a restore or restart.
type credentials struct {
	valid, invalid []string // Authorization headers
}

func makeCredentials(t *testing.T, c *testcluster.Cluster, keys int) credentials {
	t.Helper()
	var cr credentials
	cr.valid = append(cr.valid, putUser(t, c, "restored", "restored-password", "superuser"))
	for n := 0; n < keys; n++ {
		k := createKey(t, c, n%c.Len(), testcluster.Elastic, map[string]any{"name": fmt.Sprintf("key-%d", n)})
		if n%5 == 0 {
			if r := c.Do(0, http.MethodDelete, "/_security/api_key", testcluster.Elastic, map[string]any{"ids": []string{k.ID}}); r.Status != 200 {
				t.Fatal(string(r.Body))
			}
			cr.invalid = append(cr.invalid, keyAuth(k))
		} else {
			cr.valid = append(cr.valid, keyAuth(k))
		}
		p, _ := passwordGrant(t, c, n%c.Len(), "restored", "restored-password")
		if n%5 == 1 {
			c.Do(0, http.MethodDelete, "/_security/oauth2/token", testcluster.Elastic, map[string]any{"token": p.access})
			cr.invalid = append(cr.invalid, "Bearer "+p.access)
		} else {
			cr.valid = append(cr.valid, "Bearer "+p.access)
		}
	}
	_, value := createServiceToken(t, c, 0, "/_security/service/elastic/fleet-server/credential/token/restored")
	cr.valid = append(cr.valid, "Bearer "+value)
	return cr
}

func (cr credentials) check(t *testing.T, c *testcluster.Cluster, node int) {
	t.Helper()
	for _, h := range cr.valid {
		if r := c.Do(node, http.MethodGet, "/_security/_authenticate", h, nil); r.Status != 200 {
			t.Fatalf("valid credential refused on node %d: %d %s", node, r.Status, r.Body)
		}
	}
	for _, h := range cr.invalid {
		if r := c.Do(node, http.MethodGet, "/_security/_authenticate", h, nil); r.Status != 401 {
			t.Fatalf("invalidated credential accepted on node %d: %d", node, r.Status)
		}
	}
}

// Issue 7, acceptance 3: save from a follower, restore into a brand-new
// single-node cluster, everything works there; a corrupted backup is
// refused and changes nothing.
func TestBackupSaveAndRestoreIntoNewCluster(t *testing.T) {
	src := testcluster.New(t, 3)
	cr := makeCredentials(t, src, 20)
	r := src.Do(src.Followers()[0], http.MethodGet, "/_tokenstore/backup", testcluster.Elastic, nil)
	if r.Status != 200 || len(r.Body) < 1000 {
		t.Fatalf("backup: %d, %d bytes", r.Status, len(r.Body))
	}
	backup := r.Body
	for _, h := range cr.valid[1:] { // the secrets must not be in it
		if bytes.Contains(backup, []byte(h[len("ApiKey "):])) {
			t.Fatal("the backup contains a credential")
		}
	}
	if r := src.Do(0, http.MethodGet, "/_tokenstore/backup", cr.valid[0], nil); r.Status != 200 {
		t.Fatalf("superuser 'restored' cannot back up: %d", r.Status)
	}

	dst := testcluster.New(t, 1)
	before := stateFingerprint(t, dst)
	bad := bytes.Clone(backup)
	bad[len(bad)/2] ^= 0x01
	if r := dst.Do(0, http.MethodPost, "/_tokenstore/backup/_restore", testcluster.Elastic, bad); r.Status != 400 ||
		!bytes.Contains(r.Body, []byte("bad backup file")) {
		t.Fatalf("corrupted restore: %d %s", r.Status, r.Body)
	}
	if !bytes.Equal(before, stateFingerprint(t, dst)) {
		t.Fatal("a refused restore changed the state")
	}
	r = dst.Do(0, http.MethodPost, "/_tokenstore/backup/_restore", testcluster.Elastic, backup)
	if r.Status != 200 || r.JSON()["restored"] != true {
		logs, _ := os.ReadFile(dst.DataDir(0) + "/node.log")
		t.Fatalf("restore: %d %s\n%s", r.Status, r.Body, logs)
	}
	cr.check(t, dst, 0)
	// The new cluster keeps its own membership: it still answers writes.
	if r := dst.Do(0, http.MethodPut, "/_security/role/after-restore", cr.valid[0], map[string]any{"cluster": []string{"monitor"}}); r.Status != 200 {
		t.Fatalf("write after restore: %d %s", r.Status, r.Body)
	}
}

// Issue 7, acceptance 4: snapshots of two nodes after the same events are
// byte-identical.
func TestSnapshotsIdenticalAcrossNodes(t *testing.T) {
	c := testcluster.New(t, 3)
	makeCredentials(t, c, 5)
	idx := c.Node(c.Leader()).Cluster().State().AppliedIndex()
	var snaps [][]byte
	for i := 0; i < 3; i++ {
		c.Eventually(5*time.Second, "node caught up", func() bool { return c.Node(i).Cluster().State().AppliedIndex() >= idx })
		snaps = append(snaps, stateFingerprint2(t, c, i))
	}
	if !bytes.Equal(snaps[0], snaps[1]) || !bytes.Equal(snaps[1], snaps[2]) {
		t.Fatal("nodes that applied the same events snapshot differently")
	}
}

func stateFingerprint2(t *testing.T, c *testcluster.Cluster, i int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Node(i).Cluster().State().WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Issue 7, acceptance 1 and 2: all nodes killed and restarted serve every
// credential; a fourth node and a wiped node catch up from a snapshot.
func TestRestartAndCatchUpFromSnapshot(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{Settings: map[string]string{
		"raft.snapshot.threshold": "64", "raft.trailing_logs": "16", "raft.snapshot.interval": "1s"}})
	cr := makeCredentials(t, c, 40)
	for i := 0; i < 3; i++ {
		if err := c.Node(i).Cluster().Snapshot(); err != nil {
			t.Logf("snapshot on node %d: %v", i, err)
		}
		c.Kill(i)
	}
	start := time.Now()
	for i := 0; i < 3; i++ {
		c.Restart(i)
	}
	c.WaitForLeader(10 * time.Second)
	c.Eventually(10*time.Second, "serving after restart", func() bool {
		r, err := testcluster.Do(c.URL(0), http.MethodGet, "/_security/_authenticate", cr.valid[1], nil)
		return err == nil && r.Status == 200
	})
	t.Logf("3 nodes killed and restarted: serving %v after start", time.Since(start))
	for i := 0; i < 3; i++ {
		cr.check(t, c, i)
	}
	// A wiped node starts empty and joins again: the leader sends it a
	// snapshot, since the log it needs was compacted away.
	wiped := c.Followers()[0]
	c.Kill(wiped)
	if err := os.RemoveAll(c.DataDir(wiped)); err != nil {
		t.Fatal(err)
	}
	c.RestartJoin(wiped)
	c.Eventually(15*time.Second, "wiped node caught up", func() bool {
		r, err := testcluster.Do(c.URL(wiped), http.MethodGet, "/_security/_authenticate", cr.valid[len(cr.valid)-2], nil)
		return err == nil && r.Status == 200
	})
	cr.check(t, c, wiped)
	// A fourth node joins the running cluster the same way.
	fourth := c.Add()
	c.WaitForNodes(4, 15*time.Second)
	c.Eventually(15*time.Second, "fourth node caught up", func() bool {
		return c.Node(fourth).Cluster().State().AppliedIndex() >= c.Node(c.Leader()).Cluster().State().AppliedIndex()
	})
	cr.check(t, c, fourth)
}

// A restore is acknowledged only once every member answers from the
// restored state: a key the restore takes away is refused on every node
// as soon as the restore returns, never accepted by a follower still on
// the state before, even one cut off from the leader (Raft's restore
// waits for a majority only).
func TestRestoreIsSeenEverywhereOnceAcknowledged(t *testing.T) {
	c := testcluster.New(t, 3)
	leader := c.Leader()
	backup := c.Do(leader, http.MethodGet, "/_tokenstore/backup", testcluster.Elastic, nil)
	if backup.Status != 200 {
		t.Fatalf("backup: %d %s", backup.Status, backup.Body)
	}
	r := c.Do(leader, http.MethodPost, "/_security/api_key", testcluster.Elastic, map[string]any{"name": "after-backup"})
	key, _ := r.JSON()["encoded"].(string)
	if r.Status != 200 || key == "" {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	for i := range 3 { // every node has it, and has cached it
		if r := c.Do(i, http.MethodGet, "/_security/_authenticate", "ApiKey "+key, nil); r.Status != 200 {
			t.Fatalf("node %d before the restore: %d %s", i, r.Status, r.Body)
		}
	}
	cut := c.Followers()[0]
	c.Partition(cut)
	defer c.Heal(cut)
	if r := c.Do(leader, http.MethodPost, "/_tokenstore/backup/_restore", testcluster.Elastic, backup.Body); r.Status != 200 {
		t.Fatalf("restore: %d %s", r.Status, r.Body)
	}
	for i := range 3 {
		if r := c.Do(i, http.MethodGet, "/_security/_authenticate", "ApiKey "+key, nil); r.Status == 200 {
			t.Errorf("node %d (cut off: %v) accepted a key the acknowledged restore took away", i, i == cut)
		}
	}
}
