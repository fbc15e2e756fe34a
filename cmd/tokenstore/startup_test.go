package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// Issue 14 item 8: a client polling a fresh node every 10 ms with elastic's
// right password gets 503s (the node cannot decide yet), never a 401 or a
// 429, then a 200; once the node can decide, a wrong password is a 401.
func TestFreshNodeAnswers503NotRefusalWhileStarting(t *testing.T) {
	bin := buildBinary(t)
	logs := &testcluster.LogBuffer{}
	p := &testcluster.Process{ID: "fresh-node", HTTPAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		RaftAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), DataDir: t.TempDir()}
	if err := testcluster.StartProcess(bin, p, []string{"--bootstrap"}, []string{"ELASTIC_PASSWORD=fresh-pass-1"}, logs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Signal(syscall.SIGKILL, time.Second) })
	right := testcluster.Basic("elastic", "fresh-pass-1")
	statuses := map[int]int{}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		r, err := testcluster.Do(p.URL(), "GET", "/_security/_authenticate", right, nil)
		if err != nil { // not listening yet
			time.Sleep(10 * time.Millisecond)
			continue
		}
		statuses[r.Status]++
		if r.Status == 503 && !strings.Contains(string(r.Body), `"status":503`) {
			t.Fatalf("503 not in Elasticsearch's shape: %s", r.Body)
		}
		if r.Status == 200 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("answers to the right password while starting: %v", statuses)
	if statuses[200] != 1 {
		t.Fatalf("no 200 within 30 s: %v\n%s", statuses, logs.Bytes())
	}
	for status, n := range statuses {
		if status != 200 && status != 503 {
			t.Fatalf("%d answers %d to the right password while starting: %v", n, status, statuses)
		}
	}
	r, err := testcluster.Do(p.URL(), "GET", "/_security/_authenticate", testcluster.Basic("elastic", "wrong-pass-1"), nil)
	if err != nil || r.Status != 401 {
		t.Fatalf("wrong password once ready: %v %d %s", err, r.Status, r.Body)
	}
}
