// Package upgrade tests rolling upgrades with real processes: a cluster of
// the previous release upgraded node by node to this source, and a
// downgrade refused.
package upgrade

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

const password = "upgrade-pass-1"

var elastic = testcluster.Basic("elastic", password)

// Acceptance 3 of issue 18. Three nodes of the previous release, under a
// light load of creates and authentications, are upgraded one by one to
// this build: no authentication fails on a node that is up, every
// acknowledged create authenticates everywhere afterwards, and bulk role
// delete (RoleDeleted version 2, which the previous release does not apply)
// is refused while an old member remains and works once none does. Once the
// last node runs this build the creates are written as the compact
// APIKeyCreated version 3, which the previous release does not apply either.
// The last node's data dir as it was before its upgrade, started on the
// previous release (its log holds no newer event, so it starts), stops
// applying at the first newer entry and answers 503 naming it, while the
// others go on; and a node whose log holds newer events is refused at start
// on the previous release, with a message naming the versions.
func TestRollingUpgradeAndRefusedDowngrade(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	oldBin, newBin := buildRelease(t, dir)
	t.Logf("built %s and this source in %v", previousRelease, time.Since(start).Round(time.Millisecond))
	uc := startCluster(t, dir, oldBin)
	uc.waitGreen(t)
	putRole := func(name string) {
		if r, err := testcluster.Do(uc.procs[0].URL(), http.MethodPut, "/_security/role/"+name, elastic, `{"cluster":["monitor"]}`); err != nil || r.Status != http.StatusOK {
			t.Fatalf("put role %s: %v %d %s", name, err, r.Status, r.Body)
		}
	}
	putRole("upgrade_a")
	putRole("upgrade_b")
	for range 10 {
		uc.keys.add(uc.createOn(t, 0))
	}

	load := uc.startLoad()
	// The last node's data dir, copied while it is stopped on the previous
	// release: every log holds newer entries once it runs this build (the
	// creates go on), this copy none.
	last, beforeUpgrade := len(uc.procs)-1, filepath.Join(dir, "before-upgrade")
	var createsPerUpgrade []int64
	for i := range uc.procs {
		creates, copyTo := load.creates.Load(), ""
		if i == last {
			copyTo = beforeUpgrade
		}
		uc.restart(t, i, newBin, copyTo)
		if createsPerUpgrade = append(createsPerUpgrade, load.creates.Load()-creates); createsPerUpgrade[i] == 0 {
			t.Errorf("no create was acknowledged while %s was upgraded", uc.procs[i].ID)
		}
		if i != last {
			uc.bulkDeleteRefused(t, i)
			uc.crossClusterKeyRefused(t, i)
		}
		load.waitProgress(t)
	}
	load.waitProgress(t) // on the upgraded cluster too: compact creates
	created, createFailed, authTotal, authFailed, samples := load.stop()
	t.Logf("during the upgrade: %d creates acknowledged (%v while each node was upgraded; %d refused or failed), %d authentications on nodes that were up, %d failed %v",
		len(created), createsPerUpgrade, createFailed, authTotal, authFailed, samples)
	if authFailed > 0 {
		t.Errorf("%d of %d authentications on nodes that were up failed: %v", authFailed, authTotal, samples)
	}
	if len(created) == 0 {
		t.Error("no create was acknowledged during the upgrade")
	}
	uc.everyKeyEverywhere(t, created)
	t.Logf("upgraded three nodes in %v", time.Since(start).Round(time.Millisecond))
	uc.haltsOnNewerEntry(t, last, beforeUpgrade, oldBin, newBin)
	uc.everyKeyEverywhere(t, created) // the restored node has caught up
	uc.downgradeRefused(t, 1, oldBin, newBin)
}

type upgradeCluster struct {
	procs []*testcluster.Process
	logs  *testcluster.LogBuffer
	env   []string
	keys  keyPool
	up    []nodeGate
}

func startCluster(t *testing.T, dir, bin string) *upgradeCluster {
	t.Helper()
	uc := &upgradeCluster{logs: &testcluster.LogBuffer{}, env: []string{"ELASTIC_PASSWORD=" + password}, up: make([]nodeGate, 3)}
	t.Cleanup(func() {
		for _, p := range uc.procs {
			if _, exited := p.Exited(); !exited {
				p.Signal(syscall.SIGKILL, 5*time.Second)
			}
		}
		if t.Failed() {
			logs := uc.logs.Bytes()
			t.Logf("last node output:\n%s", logs[max(0, len(logs)-8000):])
		}
	})
	var err error
	if uc.procs, err = testcluster.ProcessClusterWith(bin, dir, 3, 0, 0, testcluster.ProcessOptions{Env: uc.env}, uc.logs); err != nil {
		t.Fatal(err)
	}
	return uc
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
}

func (uc *upgradeCluster) green(i int) bool {
	r, err := testcluster.Do(uc.procs[i].URL(), http.MethodGet, "/_cluster/health", elastic, nil)
	return err == nil && r.Status == http.StatusOK && r.JSON()["status"] == "green" && r.JSON()["number_of_nodes"] == float64(len(uc.procs))
}

func (uc *upgradeCluster) waitGreen(t *testing.T) {
	t.Helper()
	waitFor(t, 60*time.Second, "three nodes green", func() bool {
		for i := range uc.procs {
			if !uc.green(i) {
				return false
			}
		}
		return true
	})
}

// restart stops node i (a leader hands over first), taking it out of the
// load before, and starts it on bin with its data dir; it is back in the
// load once every node sees the cluster green again. Unless copyTo is
// empty, the data dir is copied there while the node is stopped.
func (uc *upgradeCluster) restart(t *testing.T, i int, bin, copyTo string) {
	t.Helper()
	p := uc.procs[i]
	uc.up[i].down()
	stop(t, p)
	if copyTo != "" {
		if err := os.CopyFS(copyTo, os.DirFS(p.DataDir)); err != nil {
			t.Fatalf("copy %s's data dir: %v", p.ID, err)
		}
	}
	if err := testcluster.StartProcess(bin, p, nil, uc.env, uc.logs); err != nil {
		t.Fatal(err)
	}
	uc.waitGreen(t)
	uc.up[i].back()
}

// stop ends a node with SIGTERM, as an operator's upgrade does. It must
// exit; an exit status other than 0 (a graceful shutdown that overran its
// deadline) is logged, since the test is about what survives it.
func stop(t *testing.T, p *testcluster.Process) {
	t.Helper()
	_, err := p.Signal(syscall.SIGTERM, 20*time.Second)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("stop %s: %v", p.ID, err)
	}
	if err != nil {
		t.Logf("%s exited with %v after SIGTERM", p.ID, err)
	}
}

// bulkDeleteRefused: with nodes 0..upgraded on this build and the others
// on the previous release, the new event is refused on an upgraded node
// (400, naming the event and the old members) and nothing is deleted.
func (uc *upgradeCluster) bulkDeleteRefused(t *testing.T, upgraded int) {
	t.Helper()
	r, err := testcluster.Do(uc.procs[upgraded].URL(), http.MethodDelete, "/_security/role", elastic, `{"names":["upgrade_a","upgrade_b"]}`)
	if err != nil {
		t.Fatal(err)
	}
	reason := fmt.Sprint(r.JSON()["error"])
	var old []string
	for j := upgraded + 1; j < len(uc.procs); j++ {
		old = append(old, uc.procs[j].ID)
	}
	if r.Status != http.StatusBadRequest || !strings.Contains(reason, "RoleDeleted version 2") || !strings.Contains(reason, "["+strings.Join(old, ", ")+"]") {
		t.Errorf("bulk delete with %v on %s: got %d %s, want 400 naming RoleDeleted version 2 and them", old, previousRelease, r.Status, r.Body)
	}
	for _, name := range []string{"upgrade_a", "upgrade_b"} {
		if r, _ := testcluster.Do(uc.procs[0].URL(), http.MethodGet, "/_security/role/"+name, elastic, nil); r.Status != http.StatusOK {
			t.Errorf("role %s after a refused bulk delete: %d", name, r.Status)
		}
	}
}

// crossClusterKeyRefused: a cross-cluster key (APIKeyCreated version 2)
// is refused while an old member, which would take it for a REST key,
// remains.
func (uc *upgradeCluster) crossClusterKeyRefused(t *testing.T, upgraded int) {
	t.Helper()
	r, err := testcluster.Do(uc.procs[upgraded].URL(), http.MethodPost, "/_security/cross_cluster/api_key", elastic,
		`{"name":"upgrade-cc","access":{"search":[{"names":["logs"]}]}}`)
	if err != nil {
		t.Fatal(err)
	}
	if reason := fmt.Sprint(r.JSON()["error"]); r.Status != http.StatusBadRequest || !strings.Contains(reason, "APIKeyCreated version 2") {
		t.Errorf("cross-cluster key with an old member: got %d %s, want 400 naming APIKeyCreated version 2", r.Status, r.Body)
	}
	if r, _ := testcluster.Do(uc.procs[upgraded].URL(), http.MethodGet, "/_security/api_key?name=upgrade-cc", elastic, nil); !strings.Contains(string(r.Body), `"api_keys":[]`) {
		t.Errorf("a refused cross-cluster key is listed: %d %s", r.Status, r.Body)
	}
}

// bulkDeleteWorks: with every member upgraded (once their registrations
// are applied), the new event is written through node via.
func (uc *upgradeCluster) bulkDeleteWorks(t *testing.T, via int) {
	t.Helper()
	var last testcluster.Response
	waitFor(t, 15*time.Second, "bulk delete accepted once every node is upgraded", func() bool {
		r, err := testcluster.Do(uc.procs[via].URL(), http.MethodDelete, "/_security/role", elastic, `{"names":["upgrade_a","upgrade_b"]}`)
		last = r
		return err == nil && r.Status == http.StatusOK
	})
	var got struct{ Deleted []string }
	if json.Unmarshal(last.Body, &got); len(got.Deleted) != 2 {
		t.Errorf("bulk delete after the upgrade: %s, want both roles deleted", last.Body)
	}
}

// rolesGone: the bulk delete is applied on every node.
func (uc *upgradeCluster) rolesGone(t *testing.T) {
	t.Helper()
	for i := range uc.procs {
		for _, name := range []string{"upgrade_a", "upgrade_b"} {
			if r, _ := testcluster.Do(uc.procs[i].URL(), http.MethodGet, "/_security/role/"+name, elastic, nil); r.Status != http.StatusNotFound {
				t.Errorf("%s: role %s answers %d after the bulk delete, want 404", uc.procs[i].ID, name, r.Status)
			}
		}
	}
}

// everyKeyEverywhere: every create acknowledged during the upgrade
// authenticates on every node.
func (uc *upgradeCluster) everyKeyEverywhere(t *testing.T, keys []apiKey) {
	t.Helper()
	lost := 0
	for _, k := range keys {
		for i := range uc.procs {
			if st := uc.authStatus(i, k); st != http.StatusOK {
				lost++
				t.Errorf("acknowledged key %s answers %d on %s", k.ID, st, uc.procs[i].ID)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged creates lost somewhere", lost, len(keys))
	}
}

// downgradeRefused stops node i (whose log holds RoleDeleted version 2 and
// APIKeyCreated version 3 now), starts it on the previous release, and
// expects a refusal at start naming the versions; this build then starts
// on the same data dir.
func (uc *upgradeCluster) downgradeRefused(t *testing.T, i int, oldBin, newBin string) {
	t.Helper()
	p := uc.procs[i]
	stop(t, p)
	out := &testcluster.LogBuffer{}
	if err := testcluster.StartProcess(oldBin, p, nil, uc.env, out); err != nil {
		t.Fatal(err)
	}
	var exitErr error
	waitFor(t, 20*time.Second, p.ID+" on "+previousRelease+" to refuse to start", func() bool {
		var exited bool
		exitErr, exited = p.Exited()
		return exited
	})
	msg := string(out.Bytes())
	// The keys created after the upgrade are compact events (version 3)
	// in its log too; those of the mixed cluster were not, or the old
	// members would have halted on them.
	for _, want := range []string{"refusing to start", "RoleDeleted version 2", "APIKeyCreated version 3", "versions 1 to 1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the downgrade's refusal does not say %q:\n%s", want, msg)
		}
	}
	if exitErr == nil {
		t.Errorf("%s on %s exited with status 0 after refusing", p.ID, previousRelease)
	}
	if strings.Contains(msg, "serving") {
		t.Errorf("%s on %s served before refusing:\n%s", p.ID, previousRelease, msg)
	}
	t.Logf("downgrade of %s refused: %s", p.ID, lastLine(msg))
	if err := testcluster.StartProcess(newBin, p, nil, uc.env, uc.logs); err != nil {
		t.Fatal(err)
	}
	uc.waitGreen(t)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// newerEvents are the events this build writes that the previous release
// does not apply: compact creates once every member runs this build, and
// bulk role delete.
var newerEvents = []string{"APIKeyCreated version 3", "RoleDeleted version 2"}

// haltsOnNewerEntry stops node i, writes the first RoleDeleted version 2
// without it (its record says it applies it), and starts it on the previous
// release with its data dir as it was before its upgrade (beforeUpgrade,
// from then on its data dir): that log holds no newer entry, so it starts,
// meets the first one as it catches up (a compact create of the load, once
// the load ran on the upgraded cluster; else the bulk delete), and halts
// there with one log line, answering 503 with the versions on every API
// while the other nodes serve. Back on this build it applies every entry.
func (uc *upgradeCluster) haltsOnNewerEntry(t *testing.T, i int, beforeUpgrade, oldBin, newBin string) {
	t.Helper()
	p := uc.procs[i]
	stop(t, p)
	uc.bulkDeleteWorks(t, (i+1)%len(uc.procs))
	// The copy is older than the others' logs, never ahead of them: the
	// leader sends it what it lacks, as to a node that was down.
	p.DataDir = beforeUpgrade
	out := &testcluster.LogBuffer{}
	if err := testcluster.StartProcess(oldBin, p, nil, uc.env, io.MultiWriter(out, uc.logs)); err != nil {
		t.Fatal(err)
	}
	var last testcluster.Response
	waitFor(t, 30*time.Second, p.ID+" on "+previousRelease+" to halt at the first newer entry", func() bool {
		var err error
		last, err = testcluster.Do(p.URL(), http.MethodGet, "/_security/_authenticate", elastic, nil)
		return err == nil && last.Status == http.StatusServiceUnavailable && slices.ContainsFunc(newerEvents, func(e string) bool {
			return strings.Contains(string(last.Body), e)
		})
	})
	if halts := strings.Count(string(out.Bytes()), "stopped applying the log"); halts != 1 {
		t.Errorf("%s logged the halt %d times, want once:\n%s", p.ID, halts, out.Bytes())
	}
	for _, path := range []string{"/_security/role/upgrade_a", "/_cluster/health", "/_tokenstore/internal/status"} {
		if r, err := testcluster.Do(p.URL(), http.MethodGet, path, elastic, nil); err != nil || r.Status != http.StatusServiceUnavailable {
			t.Errorf("halted %s answers GET %s with %d, want 503", p.ID, path, r.Status)
		}
	}
	for j := range uc.procs {
		if j != i {
			if k := uc.createOn(t, j); uc.authStatus(j, k) != http.StatusOK {
				t.Errorf("%s does not authenticate a key it created while %s is halted", uc.procs[j].ID, p.ID)
			}
		}
	}
	t.Logf("%s halted: %s", p.ID, last.Body)
	stop(t, p)
	if err := testcluster.StartProcess(newBin, p, nil, uc.env, uc.logs); err != nil {
		t.Fatal(err)
	}
	uc.waitGreen(t)
	uc.rolesGone(t)
}
