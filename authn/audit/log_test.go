package audit

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/fsm"
)

// clock is a settable clock for the writer's day and the records' times.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func user(name string, roles ...string) authn.Caller {
	return authn.Caller{Auth: &authn.Authentication{Username: name, Roles: roles, Realm: authn.NativeRealm, Type: "realm"}}
}

// lines reads a file's records as "event.action user.name action".
func lines(t *testing.T, data []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %s", sc.Text())
		}
		out = append(out, strings.TrimSpace(fmt.Sprintf("%v %v %v", m["event.action"], m["user.name"], m["action"])))
	}
	return out
}

func readGzip(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestIncludeExcludeAndIgnoreFilters(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Config{Dir: dir, ClusterName: "c", NodeID: "n0",
		Include:  []string{"authentication_success", "access_granted", "access_denied", "anonymous_access_denied", "security_config_change"},
		Exclude:  []string{"access_denied"},
		Policies: []Policy{{Name: "noisy", Users: []string{"noisy*"}}}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/_security/_authenticate?pretty", nil)
	bob, noisy := user("bob", "viewer"), user("noisy1", "viewer")
	l.Authenticated(authn.AuthOutcome{Scheme: "basic", Result: authn.AuthSuccess, Principal: "bob", Auth: bob.Auth, Request: req})
	l.Authenticated(authn.AuthOutcome{Scheme: "basic", Result: authn.AuthSuccess, Principal: "noisy1", Auth: noisy.Auth, Request: req})
	l.Authenticated(authn.AuthOutcome{Scheme: "basic", Result: authn.AuthFailed, Principal: "bob", Request: req}) // not included
	l.Authenticated(authn.AuthOutcome{Scheme: "none", Result: authn.AuthFailed, Request: req})
	l.Authenticated(authn.AuthOutcome{Scheme: "basic", Result: authn.AuthSuccess, Principal: "bob", Auth: bob.Auth, Request: req, Internal: true})
	l.Authorized(bob, "cluster:monitor/health", true)
	l.Authorized(noisy, "cluster:monitor/health", true)
	l.Authorized(bob, "cluster:admin/xpack/security/user/put", false) // excluded
	// A security change is never filtered out.
	l.Wrote(noisy, fsm.RoleDeletedV1{Name: "r1"}, fsm.Result{}, nil, 0)
	// Tokens are no security configuration change.
	l.Wrote(bob, fsm.TokensInvalidatedV1{}, fsm.Result{}, nil, 0)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "c_audit.json"))
	got := lines(t, data)
	want := []string{"authentication_success bob <nil>", "anonymous_access_denied <nil> <nil>",
		"access_granted bob cluster:monitor/health", "delete_role <nil> <nil>"}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestDefaultEventsLeaveOutSuccessAndThrottled(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Config{Dir: dir, ClusterName: "c", NodeID: "n0"})
	if err != nil {
		t.Fatal(err)
	}
	bob := user("bob")
	l.Authenticated(authn.AuthOutcome{Scheme: "basic", Result: authn.AuthSuccess, Principal: "bob", Auth: bob.Auth})
	l.Authenticated(authn.AuthOutcome{Scheme: "api_key", Result: authn.AuthFailed, Principal: "key-1"})
	l.Authenticated(authn.AuthOutcome{Scheme: "basic", Result: authn.AuthThrottled, Principal: "bob"})
	l.Close()
	data, _ := os.ReadFile(filepath.Join(dir, "c_audit.json"))
	if got, want := lines(t, data), []string{"authentication_failed key-1 <nil>"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFullQueueDropsAndCounts(t *testing.T) {
	// No writer runs: the queue of one fills and stays full.
	l := &Log{queue: make(chan Record, 1), log: hclog.NewNullLogger()}
	for range 3 {
		l.enqueue(Record{EventAction: "access_granted"})
	}
	if got := l.Dropped(); got != 2 {
		t.Errorf("dropped: got %d, want 2", got)
	}
	if got := len(l.queue); got != 1 {
		t.Errorf("queued: got %d, want 1", got)
	}
}

func TestRollsBySize(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	// An access_granted record here is about 250 bytes: two fit in 600.
	const maxSize = 600
	l, err := Open(Config{Dir: dir, ClusterName: "c", NodeID: "n0", MaxFileSize: maxSize, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 9 {
		action := fmt.Sprintf("cluster:monitor/a%d", i)
		l.Authorized(user("bob"), action, true)
		want = append(want, "access_granted bob "+action)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	var got []string
	rolled := 0
	for i := 1; ; i++ {
		name := filepath.Join(dir, fmt.Sprintf("c_audit-2026-03-01-%d.json.gz", i))
		if _, err := os.Stat(name); err != nil {
			break
		}
		data := readGzip(t, name)
		if len(data) > maxSize || len(lines(t, data)) == 0 {
			t.Errorf("%s: %d bytes in %d records, want 1 to %d bytes", name, len(data), len(lines(t, data)), maxSize)
		}
		got = append(got, lines(t, data)...)
		rolled++
	}
	if rolled < 3 {
		t.Errorf("got %d rolled files, want at least 3", rolled)
	}
	current, _ := os.ReadFile(filepath.Join(dir, "c_audit.json"))
	got = append(got, lines(t, current)...)
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*-*.json")); len(left) > 0 {
		t.Errorf("rolled files left uncompressed: %v", left)
	}
}

func TestRollsDaily(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Date(2026, 3, 1, 23, 59, 58, 0, time.UTC)}
	l, err := Open(Config{Dir: dir, ClusterName: "c", NodeID: "n0", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	l.Authorized(user("bob"), "cluster:monitor/day1a", true)
	l.Authorized(user("bob"), "cluster:monitor/day1b", true)
	clk.Set(time.Date(2026, 3, 2, 0, 0, 1, 0, time.UTC))
	l.Authorized(user("bob"), "cluster:monitor/day2", true)
	clk.Set(time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC))
	l.Authorized(user("bob"), "cluster:monitor/day3", true)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{
		"c_audit-2026-03-01-1.json.gz": {"access_granted bob cluster:monitor/day1a", "access_granted bob cluster:monitor/day1b"},
		"c_audit-2026-03-02-1.json.gz": {"access_granted bob cluster:monitor/day2"},
	} {
		if got := lines(t, readGzip(t, filepath.Join(dir, name))); !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	current, _ := os.ReadFile(filepath.Join(dir, "c_audit.json"))
	if got, want := lines(t, current), []string{"access_granted bob cluster:monitor/day3"}; !slices.Equal(got, want) {
		t.Errorf("current file: got %q, want %q", got, want)
	}
}

func TestReopenCompressesLeftoversAndAppends(t *testing.T) {
	dir := t.TempDir()
	left := filepath.Join(dir, "c_audit-2026-03-01-1.json")
	if err := os.WriteFile(left, []byte("{\"event.action\":\"access_granted\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now()}
	for range 2 {
		l, err := Open(Config{Dir: dir, ClusterName: "c", NodeID: "n0", Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		l.Authorized(user("bob"), "cluster:monitor/x", true)
		l.Close()
	}
	if got := lines(t, readGzip(t, left+".gz")); len(got) != 1 {
		t.Errorf("leftover: got %q, want its one record", got)
	}
	if _, err := os.Stat(left); err == nil {
		t.Error("the uncompressed leftover is still there")
	}
	current, _ := os.ReadFile(filepath.Join(dir, "c_audit.json"))
	if got := lines(t, current); len(got) != 2 {
		t.Errorf("after a restart: got %q, want both records in the file", got)
	}
}
