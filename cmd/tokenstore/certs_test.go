package main

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/cluster"
	"github.com/tokenstore/tokenstore/testcluster"
)

// tokenstore certs makes a CA and a node certificate that a node serves
// HTTPS and mutual TLS with; keys are 0600 and nothing is overwritten; the
// snapshot CLI talks to it with --ca-cert.
func TestCertsCLIAndATLSNode(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	run := func(args ...string) (string, error) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		return string(out), err
	}
	if out, err := run("certs", "ca", "--out", dir); err != nil {
		t.Fatalf("certs ca: %v %s", err, out)
	}
	if out, err := run("certs", "node", "--ca", dir, "--name", "node-0", "--out", dir); err != nil {
		t.Fatalf("certs node: %v %s", err, out)
	}
	for _, f := range []string{"ca.key", "node-0.key"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v mode %v, want 0600", f, err, st.Mode().Perm())
		}
	}
	if out, err := run("certs", "ca", "--out", dir); err == nil || !strings.Contains(out, "not overwriting") {
		t.Fatalf("a second certs ca into the same dir: %v %s", err, out)
	}

	settings := map[string]string{}
	for _, layer := range []string{"http", "transport"} {
		prefix := "xpack.security." + layer + ".ssl."
		settings[prefix+"enabled"] = "true"
		settings[prefix+"certificate"] = filepath.Join(dir, "node-0.crt")
		settings[prefix+"key"] = filepath.Join(dir, "node-0.key")
		settings[prefix+"certificate_authorities"] = filepath.Join(dir, "ca.crt")
	}
	p := &testcluster.Process{ID: "node-0", HTTPAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		RaftAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), DataDir: t.TempDir(), Settings: settings}
	logs := &testcluster.LogBuffer{}
	if err := testcluster.StartProcess(bin, p, []string{"--bootstrap"}, []string{"ELASTIC_PASSWORD=tls-pass-1"}, logs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Signal(syscall.SIGKILL, time.Second) })
	pool, err := cluster.LoadCertPool([]string{filepath.Join(dir, "ca.crt")})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if !strings.HasPrefix(p.URL(), "https://") {
		t.Fatalf("URL %s", p.URL())
	}
	waitFor(t, 20*time.Second, "node up over HTTPS", func() bool {
		req, _ := http.NewRequest(http.MethodGet, p.URL()+"/_security/_authenticate", nil)
		req.SetBasicAuth("elastic", "tls-pass-1")
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if strings.Contains(string(logs.Bytes()), "plain text") {
		t.Fatalf("a TLS node warns about plain text:\n%s", logs.Bytes())
	}
	file := filepath.Join(t.TempDir(), "backup.tsb")
	if out, err := run("snapshot", "save", "--url", p.URL(), "--user", "elastic:tls-pass-1", file); err == nil {
		t.Fatalf("save without --ca-cert trusted an unknown CA: %s", out)
	}
	if out, err := run("snapshot", "save", "--url", p.URL(), "--user", "elastic:tls-pass-1", "--ca-cert", filepath.Join(dir, "ca.crt"), file); err != nil {
		t.Fatalf("save over HTTPS: %v %s", err, out)
	}
}
