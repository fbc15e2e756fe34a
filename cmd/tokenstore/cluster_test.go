package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/httpapi"
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
	var m httpapi.Membership
	r := c.Do(c.Leader(), http.MethodGet, "/_tokenstore/cluster", testcluster.Elastic, nil)
	if err := json.Unmarshal(r.Body, &m); err != nil || len(m.Members) != 4 || m.Leader != c.ID(c.Leader()) {
		t.Fatalf("GET /_tokenstore/cluster: %d %s", r.Status, r.Body)
	}
	for _, s := range m.Members {
		if s.AppliedIndex == 0 || s.RaftAddress == "" || s.Voter != (s.ID != "node-3") {
			t.Errorf("member %+v: want an applied index, a raft address, and voter unless node-3", s)
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
