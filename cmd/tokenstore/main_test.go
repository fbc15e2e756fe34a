package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// buildBinary compiles the command once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tokenstore")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestBadFlagsFailWithOneClearLine(t *testing.T) {
	bin := buildBinary(t)
	file := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(file, nil, 0o600)
	cases := map[string][]string{
		"unknown flag":         {"serve", "--nope"},
		"setting without =":    {"serve", "-E", "cluster.name"},
		"unknown setting":      {"serve", "-E", "no.such.setting=1", "--data-dir", t.TempDir(), "--bootstrap"},
		"bad hashing":          {"serve", "-E", "xpack.security.authc.password_hashing.algorithm=md5", "--data-dir", t.TempDir(), "--bootstrap"},
		"bad crypto pool":      {"serve", "-E", "xpack.security.crypto.thread_pool.size=0", "--data-dir", t.TempDir(), "--bootstrap"},
		"bcrypt cost too high": {"serve", "-E", "tokenstore.authc.password_hashing.max_bcrypt_cost=32", "--data-dir", t.TempDir(), "--bootstrap"},
		"token timeout 2h":     {"serve", "-E", "xpack.security.authc.token.timeout=2h", "--data-dir", t.TempDir(), "--bootstrap"},
		"token timeout 500ms":  {"serve", "-E", "xpack.security.authc.token.timeout=500ms", "--data-dir", t.TempDir(), "--bootstrap"},
		"throttle burst 0":     {"serve", "-E", "tokenstore.authc.throttle.address.burst=0", "--data-dir", t.TempDir(), "--bootstrap"},
		"raft heartbeat 10ms":  {"serve", "-E", "raft.heartbeat_timeout=10ms", "--data-dir", t.TempDir(), "--bootstrap"},
		"no connections":       {"serve", "-E", "tokenstore.http.max_open_connections=0", "--data-dir", t.TempDir(), "--bootstrap"},
		"idle timeout 1ms":     {"serve", "-E", "http.read_timeout=1ms", "--data-dir", t.TempDir(), "--bootstrap"},
		"bootstrap with join":  {"serve", "--bootstrap", "--join", "127.0.0.1:1"},
		"non-voter bootstrap":  {"serve", "--bootstrap", "--non-voter"},
		"non-voter and voter":  {"serve", "--non-voter", "-E", "node.voter=true", "--join", "127.0.0.1:1"},
		"node.voter maybe":     {"serve", "-E", "node.voter=maybe", "--data-dir", t.TempDir(), "--bootstrap"},
		"data dir is a file":   {"serve", "--data-dir", file, "--bootstrap"},
		"empty data dir, no bootstrap or join": {"serve", "--data-dir", t.TempDir(),
			"--http-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--raft-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t))},
		"unknown command": {"frobnicate"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(bin, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if err == nil {
				t.Fatalf("exit 0, want a failure")
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "tokenstore: ") || len(last) < 20 {
				t.Fatalf("last stderr line %q is not a clear error", last)
			}
		})
	}
}

// A node whose plain-text ports would bind beyond loopback refuses to start
// with one clear line (finding 9b); before, it served passwords in plain
// text on every interface.
func TestServeRefusesPlainTextBeyondLoopback(t *testing.T) {
	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--bootstrap", "--data-dir", t.TempDir(),
		"--http-addr", fmt.Sprintf("0.0.0.0:%d", freePort(t)), "--raft-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil || ctx.Err() != nil {
		t.Fatalf("serve on 0.0.0.0 without TLS: %v (still running after 30s: %v)", err, ctx.Err())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "tokenstore: ") || !strings.Contains(last, "loopback") ||
		!strings.Contains(last, "tokenstore.security.allow_insecure_non_loopback") {
		t.Fatalf("last stderr line %q does not say why", last)
	}
}

// Three processes: SIGTERM stops a node within a few seconds (a leader hands
// over first), and a restarted node comes back with its data.
func TestProcessClusterShutdownAndRestart(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	logs := &testcluster.LogBuffer{}
	httpBase, raftBase := freePort(t), freePort(t)
	// Consecutive ports from a free one are usually free too; retry keeps
	// the test honest if not.
	procs, err := testcluster.ProcessCluster(bin, dir, 3, httpBase, raftBase, []string{"ELASTIC_PASSWORD=proc-pass-1"}, logs)
	t.Cleanup(func() {
		for _, p := range procs {
			p.Signal(syscall.SIGKILL, time.Second)
		}
		if t.Failed() {
			t.Logf("node output:\n%s", string(logs.Bytes()))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	auth := testcluster.Basic("elastic", "proc-pass-1")
	waitFor(t, 30*time.Second, "three nodes green", func() bool {
		r, err := testcluster.Do(procs[0].URL(), "GET", "/_cluster/health", auth, nil)
		return err == nil && r.Status == 200 && r.JSON()["status"] == "green" && r.JSON()["number_of_nodes"] == float64(3)
	})
	r, err := testcluster.Do(procs[2].URL(), "PUT", "/_security/user/proc", auth, map[string]any{"password": "proc-user-pass", "roles": []string{"superuser"}})
	if err != nil || r.Status != 200 {
		t.Fatalf("put user via node 2: %v %d %s", err, r.Status, r.Body)
	}
	leader := -1
	for i, p := range procs {
		r, _ := testcluster.Do(p.URL(), "GET", "/_cat/master?format=json", auth, nil)
		if bytes.Contains(r.Body, []byte(`"node":"`+p.ID+`"`)) {
			leader = i
		}
	}
	if leader < 0 {
		t.Fatal("no node reports itself as master")
	}
	took, err := procs[leader].Signal(syscall.SIGTERM, 5*time.Second)
	if err != nil {
		t.Fatalf("SIGTERM leader: %v", err)
	}
	t.Logf("leader %s stopped %v after SIGTERM", procs[leader].ID, took)
	other := procs[(leader+1)%3]
	waitFor(t, 5*time.Second, "a new master", func() bool {
		r, err := testcluster.Do(other.URL(), "GET", "/_cat/master?format=json", auth, nil)
		return err == nil && r.Status == 200 && !bytes.Contains(r.Body, []byte(`"node":"-"`)) && !bytes.Contains(r.Body, []byte(procs[leader].ID))
	})
	// Without transport TLS a node proves it is one with its credential,
	// for catch-up too: a restart keeps its environment.
	if err := testcluster.StartProcess(bin, procs[leader], nil, []string{"ELASTIC_PASSWORD=proc-pass-1"}, logs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "restarted node authenticates the user written before", func() bool {
		r, err := testcluster.Do(procs[leader].URL(), "GET", "/_security/_authenticate", testcluster.Basic("proc", "proc-user-pass"), nil)
		return err == nil && r.Status == http.StatusOK
	})
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Issue 6, acceptance 2 and 5: a file token written by the CLI while a
// node runs authenticates within 2 s; the CLI's delete makes it fail; the
// file holds only the name and a hash, mode 0600.
func TestServiceTokensCLIWithRunningNode(t *testing.T) {
	bin := buildBinary(t)
	dataDir, configDir := t.TempDir(), t.TempDir()
	logs := &testcluster.LogBuffer{}
	p := &testcluster.Process{ID: "cli-node", HTTPAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		RaftAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), DataDir: dataDir}
	if err := testcluster.StartProcess(bin, p, []string{"--bootstrap", "--config-dir", configDir, "--log-level", "trace"},
		[]string{"ELASTIC_PASSWORD=cli-pass-1"}, logs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Signal(syscall.SIGKILL, time.Second) })
	auth := testcluster.Basic("elastic", "cli-pass-1")
	waitFor(t, 20*time.Second, "node up", func() bool {
		r, err := testcluster.Do(p.URL(), "GET", "/_security/_authenticate", auth, nil)
		return err == nil && r.Status == 200
	})
	if !strings.Contains(string(logs.Bytes()), "HTTP is plain text") {
		t.Fatalf("a node without TLS does not warn that HTTP is plain text:\n%s", logs.Bytes())
	}
	out, err := exec.Command(bin, "service-tokens", "create", "elastic/fleet-server", "cli-token", "--config-dir", configDir).CombinedOutput()
	if err != nil {
		t.Fatalf("service-tokens create: %v %s", err, out)
	}
	line := strings.TrimSpace(string(out))
	value, ok := strings.CutPrefix(line, "SERVICE_TOKEN elastic/fleet-server/cli-token = ")
	if !ok {
		t.Fatalf("create printed %q", line)
	}
	written := time.Now()
	waitFor(t, 2*time.Second, "file token authenticates", func() bool {
		r, err := testcluster.Do(p.URL(), "GET", "/_security/_authenticate", "Bearer "+value, nil)
		return err == nil && r.Status == 200 && bytes.Contains(r.Body, []byte(`"type":"_service_account_file"`))
	})
	t.Logf("file token usable %v after the CLI wrote it", time.Since(written))
	info, err := os.Stat(filepath.Join(configDir, "service_tokens"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("service_tokens mode: %v %v", info, err)
	}
	file, _ := os.ReadFile(filepath.Join(configDir, "service_tokens"))
	secret := value // the bearer value and the secret inside it must not be in the file
	raw, _ := base64RawStd(value)
	if i := bytes.LastIndexByte(raw, ':'); i > 0 {
		secret = string(raw[i+1:])
	}
	if bytes.Contains(file, []byte(secret)) || bytes.Contains(file, []byte(value)) || !bytes.HasPrefix(file, []byte("elastic/fleet-server/cli-token:{PBKDF2_STRETCH}")) {
		t.Fatalf("service_tokens file content: %q", file)
	}
	if out, err := exec.Command(bin, "service-tokens", "list", "--config-dir", configDir).CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "elastic/fleet-server/cli-token" {
		t.Fatalf("list: %v %q", err, out)
	}
	if out, err := exec.Command(bin, "service-tokens", "create", "elastic/fleet-server", "cli-token", "--config-dir", configDir).CombinedOutput(); err == nil {
		t.Fatalf("duplicate create succeeded: %s", out)
	}
	if out, err := exec.Command(bin, "service-tokens", "create", "elastic/nope", "x", "--config-dir", configDir).CombinedOutput(); err == nil || !bytes.Contains(out, []byte("Unknown service account principal")) {
		t.Fatalf("unknown principal: %v %s", err, out)
	}
	if out, err := exec.Command(bin, "service-tokens", "delete", "elastic/fleet-server", "cli-token", "--config-dir", configDir).CombinedOutput(); err != nil {
		t.Fatalf("delete: %v %s", err, out)
	}
	waitFor(t, 2*time.Second, "deleted file token refused", func() bool {
		r, err := testcluster.Do(p.URL(), "GET", "/_security/_authenticate", "Bearer "+value, nil)
		return err == nil && r.Status == 401
	})
	p.Signal(syscall.SIGTERM, 5*time.Second)
	if bytes.Contains(logs.Bytes(), []byte(secret)) {
		t.Error("the node's log contains the token secret")
	}
	filepath.Walk(dataDir, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			if data, _ := os.ReadFile(path); bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s contains the token secret", path)
			}
		}
		return nil
	})
}

func base64RawStd(s string) ([]byte, error) { return base64.RawStdEncoding.DecodeString(s) }

// Issue 7: the snapshot CLI saves from a node, inspects without a cluster,
// refuses a damaged file with a clear message and restores a good one.
func TestSnapshotCLI(t *testing.T) {
	bin := buildBinary(t)
	logs := &testcluster.LogBuffer{}
	p := &testcluster.Process{ID: "snap-node", HTTPAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		RaftAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), DataDir: t.TempDir()}
	if err := testcluster.StartProcess(bin, p, []string{"--bootstrap"}, []string{"ELASTIC_PASSWORD=snap-pass-1"}, logs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Signal(syscall.SIGKILL, time.Second) })
	auth := testcluster.Basic("elastic", "snap-pass-1")
	waitFor(t, 20*time.Second, "node up", func() bool {
		r, err := testcluster.Do(p.URL(), "PUT", "/_security/user/saved", auth, map[string]any{"password": "saved-password", "roles": []string{}})
		return err == nil && r.Status == 200
	})
	file := filepath.Join(t.TempDir(), "state.backup")
	run := func(args ...string) (string, error) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		return string(out), err
	}
	if out, err := run("snapshot", "save", "--url", p.URL(), "--user", "elastic:snap-pass-1", file); err != nil || !strings.Contains(out, "saved "+file) {
		t.Fatalf("save: %v %s", err, out)
	}
	out, err := run("snapshot", "inspect", file)
	if err != nil || !strings.Contains(out, "format version: 2") || !strings.Contains(out, "users: 1") || !strings.Contains(out, "cluster id: ") {
		t.Fatalf("inspect: %v %s", err, out)
	}
	data, _ := os.ReadFile(file)
	data[len(data)/2] ^= 1
	bad := file + ".bad"
	os.WriteFile(bad, data, 0o600)
	if out, err := run("snapshot", "restore", "--url", p.URL(), "--user", "elastic:snap-pass-1", bad); err == nil || !strings.Contains(out, "bad backup file") {
		t.Fatalf("restore of a damaged file: %v %s", err, out)
	}
	if out, err := run("snapshot", "inspect", bad); err == nil || !strings.Contains(out, "bad backup file") {
		t.Fatalf("inspect of a damaged file: %v %s", err, out)
	}
	testcluster.Do(p.URL(), "DELETE", "/_security/user/saved", auth, nil)
	if out, err := run("snapshot", "restore", "--url", p.URL(), "--user", "elastic:snap-pass-1", file); err != nil {
		t.Fatalf("restore: %v %s", err, out)
	}
	if r, err := testcluster.Do(p.URL(), "GET", "/_security/_authenticate", testcluster.Basic("saved", "saved-password"), nil); err != nil || r.Status != 200 {
		t.Fatalf("user from the backup after restore: %v %d", err, r.Status)
	}
}
