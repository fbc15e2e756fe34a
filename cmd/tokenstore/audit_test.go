package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// The audit log goes to --logs-dir, named after cluster.name, and what is
// queued when SIGTERM comes is written before the node exits.
func TestAuditLogInLogsDir(t *testing.T) {
	bin := buildBinary(t)
	logsDir := filepath.Join(t.TempDir(), "audit-logs")
	p := &testcluster.Process{ID: "audit-node", HTTPAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		RaftAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), DataDir: t.TempDir(),
		Settings: map[string]string{"xpack.security.audit.enabled": "true", "cluster.name": "audited"}}
	if err := testcluster.StartProcess(bin, p, []string{"--bootstrap", "--logs-dir", logsDir},
		[]string{"ELASTIC_PASSWORD=audit-pass-1"}, &testcluster.LogBuffer{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Signal(syscall.SIGKILL, time.Second) })
	waitFor(t, 20*time.Second, "node up", func() bool {
		r, err := testcluster.Do(p.URL(), "GET", "/_security/_authenticate", testcluster.Basic("elastic", "audit-pass-1"), nil)
		return err == nil && r.Status == 200
	})
	if r, err := testcluster.Do(p.URL(), "GET", "/", testcluster.Basic("audit-intruder", "nope"), nil); err != nil || r.Status != 401 {
		t.Fatalf("wrong password: got %v %v, want 401", r.Status, err)
	}
	if _, err := p.Signal(syscall.SIGTERM, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(logsDir, "audited_audit.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"event.action":"authentication_failed", "user.name":"audit-intruder"`) {
		t.Errorf("audited_audit.json lacks the failed authentication:\n%s", data)
	}
	if _, err := os.Stat(filepath.Join(p.DataDir, "logs")); err == nil {
		t.Error("with --logs-dir the data dir has a logs directory too")
	}
}
