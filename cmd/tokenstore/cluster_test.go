package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/httpapi"
	"github.com/tokenstore/tokenstore/node"
	"github.com/tokenstore/tokenstore/testcluster"
)

// The membership subcommand over a real cluster: status shows every member
// with its role, promote and demote change a non-voter's suffrage through
// any node, remove takes it out, and an unknown id or a weak user fails.
func TestClusterSubcommand(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{NonVoters: 1})
	cli := func(i int, user string, args ...string) (string, error) {
		var out, errb bytes.Buffer
		args = append([]string{"cluster", args[0], "--url", c.URL(i), "--user", user}, args[1:]...)
		err := run(args, &out, &errb)
		return out.String(), err
	}
	admin := "elastic:" + testcluster.ElasticPassword
	nv, follower := 3, c.Followers()[0]

	var out string
	c.Eventually(10*time.Second, "the non-voter has heard from every member", func() bool {
		var err error
		out, err = cli(nv, admin, "status")
		return err == nil && strings.Count(out, " yes ") == 4
	})
	for _, want := range []string{"node-3  non-voter", "node-0  voter", "node-1  voter", "node-2  voter"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, node.BuildVersion()) {
		t.Errorf("status lacks the build version %q:\n%s", node.BuildVersion(), out)
	}
	for _, i := range []int{c.Leader(), follower, nv} {
		// Contacts and versions come from the answering node's probes.
		problems := membershipProblems(t, c, i)
		for deadline := time.Now().Add(10 * time.Second); len(problems) > 0 && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			problems = membershipProblems(t, c, i)
		}
		if len(problems) > 0 {
			t.Errorf("GET /_tokenstore/cluster on %s: %s", c.ID(i), strings.Join(problems, "; "))
		}
	}
	c.Eventually(10*time.Second, "_cat/nodes shows the non-voter as d", func() bool { return catRole(t, c, c.Leader(), "node-3") == "d" })

	if _, err := cli(follower, admin, "promote", "node-3"); err != nil {
		t.Fatalf("promote via a follower: %v", err)
	}
	c.WaitForMembers(4, 0, 10*time.Second)
	c.Eventually(10*time.Second, "_cat/nodes on the promoted node shows it as m", func() bool { return catRole(t, c, nv, "node-3") == "m" })
	if _, err := cli(nv, admin, "demote", "node-3"); err != nil {
		t.Fatalf("demote: %v", err)
	}
	c.WaitForMembers(3, 1, 10*time.Second)

	putUser(t, c, "watcher", "monitor")
	if _, err := cli(0, "watcher:watcher-password", "status"); err != nil {
		t.Errorf("status with monitor: %v", err)
	}
	for _, args := range [][]string{{"promote", "node-3"}, {"remove", "node-3"}} {
		if _, err := cli(0, "watcher:watcher-password", args...); err == nil || !strings.Contains(err.Error(), "403") {
			t.Errorf("%s with only monitor: got %v, want a 403", args[0], err)
		}
	}
	if _, err := cli(0, admin, "promote", "no-such-node"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("promote an unknown member: got %v, want a 404", err)
	}

	if _, err := cli(0, admin, "remove", "node-3"); err != nil {
		t.Fatalf("remove: %v", err)
	}
	c.WaitForMembers(3, 0, 10*time.Second)
	c.Kill(nv)
	if out, _ := cli(0, admin, "status"); strings.Contains(out, "node-3") {
		t.Errorf("status after remove still lists node-3:\n%s", out)
	}
}

// membershipProblems is what is missing or wrong in GET
// /_tokenstore/cluster as node i answers it: every member with its id,
// addresses and role, exactly one leader (the one the answer names), a
// last contact for every member (0 for the answering node itself), an
// applied index, a lag that is a number >= 0 and no more than the applied
// index, and the build version in-process nodes run (node.BuildVersion).
func membershipProblems(t *testing.T, c *testcluster.Cluster, i int) []string {
	t.Helper()
	r := c.Do(i, http.MethodGet, "/_tokenstore/cluster", testcluster.Elastic, nil)
	var m httpapi.Membership
	var raw struct {
		Members []map[string]any `json:"members"`
	}
	if err := json.Unmarshal(r.Body, &m); err != nil || json.Unmarshal(r.Body, &raw) != nil || r.Status != http.StatusOK {
		return []string{fmt.Sprintf("%d %s", r.Status, r.Body)}
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if m.AnsweredBy != c.ID(i) || len(m.Members) != c.Len() {
		bad("answered by %q with %d members, want %s and %d", m.AnsweredBy, len(m.Members), c.ID(i), c.Len())
	}
	leaders := 0
	for k, s := range m.Members {
		j := slices.IndexFunc(ids(c), func(id string) bool { return id == s.ID })
		if j < 0 || s.HTTPAddress != strings.TrimPrefix(c.URL(j), "http://") || s.RaftAddress == "" || s.Voter == c.NonVoter(j) {
			bad("member %+v: want a known id, its http address, a raft address and its role", s)
			continue
		}
		if s.Leader {
			leaders++
			if s.ID != m.Leader {
				bad("%s is marked leader, the answer names %s", s.ID, m.Leader)
			}
		}
		if s.LastContactMS == nil || *s.LastContactMS < 0 || (s.ID == m.AnsweredBy && *s.LastContactMS != 0) {
			bad("%s: last_contact_ms %v, want a contact (0 for the answering node)", s.ID, s.LastContactMS)
		}
		if lag, ok := raw.Members[k]["lag"].(float64); !ok || lag < 0 || s.AppliedIndex == 0 || s.Lag > s.AppliedIndex {
			bad("%s: applied_index %d, lag %v: want an index and a lag from 0 to it", s.ID, s.AppliedIndex, raw.Members[k]["lag"])
		}
		if s.Version == "" || s.Version != node.BuildVersion() {
			bad("%s: version %q, want %q", s.ID, s.Version, node.BuildVersion())
		}
	}
	if leaders != 1 || m.Leader == "" {
		bad("%d members marked leader, leader %q: want exactly one", leaders, m.Leader)
	}
	return problems
}

func ids(c *testcluster.Cluster) []string {
	out := make([]string, c.Len())
	for i := range out {
		out[i] = c.ID(i)
	}
	return out
}

func putUser(t *testing.T, c *testcluster.Cluster, name, privilege string) {
	t.Helper()
	if r := c.Do(0, http.MethodPut, "/_security/role/"+name, testcluster.Elastic, map[string]any{"cluster": []string{privilege}}); r.Status != http.StatusOK {
		t.Fatalf("put role: %d %s", r.Status, r.Body)
	}
	if r := c.Do(0, http.MethodPut, "/_security/user/"+name, testcluster.Elastic,
		map[string]any{"password": name + "-password", "roles": []string{name}}); r.Status != http.StatusOK {
		t.Fatalf("put user: %d %s", r.Status, r.Body)
	}
}

// catRole is a node's node.role in node i's _cat/nodes.
func catRole(t *testing.T, c *testcluster.Cluster, i int, id string) string {
	t.Helper()
	var rows []map[string]any
	r := c.Do(i, http.MethodGet, "/_cat/nodes?format=json", testcluster.Elastic, nil)
	if err := json.Unmarshal(r.Body, &rows); err != nil {
		t.Fatalf("_cat/nodes: %v: %s", err, r.Body)
	}
	for _, row := range rows {
		if row["name"] == id {
			role, _ := row["node.role"].(string)
			return role
		}
	}
	return ""
}

// --non-voter is node.voter=false.
func TestNonVoterFlagIsTheSetting(t *testing.T) {
	f, err := parseServeFlags([]string{"--node-id", "n", "--join", "127.0.0.1:9200", "--non-voter"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.settings["node.voter"]; got != "false" {
		t.Fatalf("node.voter: got %q, want false", got)
	}
}
