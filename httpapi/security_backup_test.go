package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/snapshot"
	"github.com/tokenstore/tokenstore/testcluster"
)

// Issue 12, finding 2: a backup holds every hash and a restore replaces
// everything, so manage gets neither, manage_security only the backup, and
// only all (never an API key limited below it) restores.
func TestBackupAndRestoreNeedTheirPrivileges(t *testing.T) {
	c := testcluster.New(t, 1)
	putRole(t, c, "only-manage", map[string]any{"cluster": []string{"manage"}})
	putRole(t, c, "only-manage-security", map[string]any{"cluster": []string{"manage_security"}})
	manage := putUser(t, c, "manager", "manager-password", "only-manage")
	security := putUser(t, c, "secadmin", "secadmin-password", "only-manage-security")
	limitedKey := keyAuth(createKey(t, c, 0, testcluster.Elastic, map[string]any{"name": "limited",
		"role_descriptors": map[string]any{"r": map[string]any{"cluster": []string{"manage_security"}}}}))

	r := c.Do(0, http.MethodGet, "/_tokenstore/backup", testcluster.Elastic, nil)
	if r.Status != 200 {
		t.Fatalf("superuser backup: %d %s", r.Status, r.Body)
	}
	backup := r.Body
	before := stateFingerprint(t, c)
	for _, tc := range []struct {
		who, auth             string
		backupWant, restoreOK int
	}{
		{"manage", manage, 403, 403},
		{"manage_security", security, 200, 403},
		{"superuser's key limited to manage_security", limitedKey, 200, 403},
	} {
		if r := c.Do(0, http.MethodGet, "/_tokenstore/backup", tc.auth, nil); r.Status != tc.backupWant {
			t.Errorf("%s: backup %d, want %d: %s", tc.who, r.Status, tc.backupWant, r.Body)
		}
		r := c.Do(0, http.MethodPost, "/_tokenstore/backup/_restore", tc.auth, backup)
		if r.Status != tc.restoreOK || responseErrorType(r) != "security_exception" {
			t.Errorf("%s: restore %d %s, want %d security_exception", tc.who, r.Status, r.Body, tc.restoreOK)
		}
	}
	if !bytes.Equal(before, stateFingerprint(t, c)) {
		t.Fatal("a refused restore changed the state")
	}
	if r := c.Do(0, http.MethodPost, "/_tokenstore/backup/_restore", testcluster.Elastic, backup); r.Status != 200 {
		t.Fatalf("superuser restore: %d %s", r.Status, r.Body)
	}
}

func responseErrorType(r testcluster.Response) string {
	e, _ := r.JSON()["error"].(map[string]any)
	typ, _ := e["type"].(string)
	return typ
}

func responseErrorReason(r testcluster.Response) string {
	e, _ := r.JSON()["error"].(map[string]any)
	reason, _ := e["reason"].(string)
	return reason
}

// craftedBackup is a backup with a valid header whose state stream claims
// count API keys and tokens, then one record claiming 64 MiB that carries
// a few bytes. Record kinds: 1 meta, 7 API key (fsm/snapshot.go).
func craftedBackup(t *testing.T, count int) []byte {
	t.Helper()
	head, _ := json.Marshal(snapshot.Header{FormatVersion: snapshot.FormatVersion, ClusterID: "x", LastIndex: 1,
		Counts: map[string]int{"api_keys": count, "tokens": count}})
	sum := sha256.Sum256(head)
	var b bytes.Buffer
	b.WriteString("TKBACKUP")
	binary.Write(&b, binary.BigEndian, uint32(len(head)))
	b.Write(head)
	b.Write(sum[:])
	b.WriteString("TKSN\x00\x02")
	meta, _ := json.Marshal(map[string]any{"applied_index": 1, "cluster_id": "x", "api_keys": count, "tokens": count})
	b.WriteByte(1)
	b.Write(binary.AppendUvarint(nil, uint64(len(meta))))
	b.Write(meta)
	b.WriteByte(7)
	b.Write(binary.AppendUvarint(nil, 64<<20))
	b.WriteString("a few bytes")
	return b.Bytes()
}

// Issue 12, finding 2: sizes and counts in a restored file are claims. A
// few hundred bytes claiming fifty million keys get a short 400 and cost
// no more than a bounded amount of memory (the nodes run in this process).
func TestRestoreClaimsAreBounded(t *testing.T) {
	c := testcluster.New(t, 1)
	before := stateFingerprint(t, c)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	r := c.Do(0, http.MethodPost, "/_tokenstore/backup/_restore", testcluster.Elastic, craftedBackup(t, 50_000_000))
	runtime.ReadMemStats(&m1)
	if r.Status != 400 || responseErrorType(r) != "illegal_argument_exception" || len(responseErrorReason(r)) > 300 {
		t.Fatalf("crafted restore: %d %s", r.Status, r.Body)
	}
	if n := m1.TotalAlloc - m0.TotalAlloc; n > 128<<20 {
		t.Fatalf("a %d-byte crafted backup allocated %d MiB", len(craftedBackup(t, 1)), n>>20)
	}
	if !bytes.Equal(before, stateFingerprint(t, c)) {
		t.Fatal("a refused restore changed the state")
	}
}

// A restore declaring a body over snapshot.MaxBackupSize is refused before
// any of it is read: the body here never sends a byte.
func TestRestoreOverTheSizeLimitIsRefused(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.Options{TLS: true})
	body, w := io.Pipe()
	defer w.Close()
	req, err := http.NewRequest(http.MethodPost, c.URL(0)+"/_tokenstore/backup/_restore", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = snapshot.MaxBackupSize + 1
	req.Header.Set("Authorization", testcluster.Elastic)
	req.Header.Set("Content-Type", "application/octet-stream")
	// The timeout only keeps a server that waits for the body from hanging the test.
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: testcluster.TestCAPool()}}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	r := testcluster.Response{Status: resp.StatusCode, Body: data}
	if r.Status != http.StatusRequestEntityTooLarge || responseErrorType(r) != "content_too_long_exception" {
		t.Fatalf("oversized restore: %d %s", r.Status, r.Body)
	}
}
