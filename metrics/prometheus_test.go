package metrics_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// prometheusBinary is Debian's prometheus, which `make test` installs.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/prometheus"); err == nil {
		return "/usr/bin/prometheus"
	}
	t.Fatal("prometheus is not installed (make test installs Debian's package: apt-get install prometheus)")
	return ""
}

// TestPrometheusScrapesTheCluster runs a real Prometheus server against a
// three-node cluster with a monitor API key and asks it, over its HTTP
// API, what it scraped.
func TestPrometheusScrapesTheCluster(t *testing.T) {
	bin := prometheusBinary(t)
	c := testcluster.New(t, 3)
	key := strings.TrimPrefix(monitorKey(t, c), "ApiKey ")
	var targets []string
	for i := range c.Len() {
		u, _ := url.Parse(c.URL(i))
		targets = append(targets, u.Host)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1s\n"+testcluster.PrometheusScrapeConfig(targets, key, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeLoopback(t)
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logFile.Close()
		if t.Failed() {
			log, _ := os.ReadFile(logFile.Name())
			t.Logf("prometheus log:\n%s", log)
		}
	})

	api := "http://" + addr + "/api/v1/query?query="
	// Every node up, scraped with the key (a refused scrape is up 0).
	waitFor(t, 20*time.Second, "three nodes up", func() bool {
		v, ok := query(api + url.QueryEscape(`sum(up{job="tokenstore"})`))
		return ok && v == 3
	})
	if v, ok := query(api + url.QueryEscape(`sum(tokenstore_raft_is_leader)`)); !ok || v != 1 {
		t.Errorf("sum(tokenstore_raft_is_leader) = %v (%v), want 1", v, ok)
	}
	// The monitor key is a valid API key on every node.
	if v, ok := query(api + url.QueryEscape(`min(tokenstore_credentials{kind="api_keys",state="valid"})`)); !ok || v != 1 {
		t.Errorf(`min(tokenstore_credentials{kind="api_keys",state="valid"}) = %v (%v), want 1`, v, ok)
	}
}

// query asks Prometheus for an instant vector of one sample and returns
// its value.
func query(u string) (float64, bool) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var out struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&out) != nil || out.Status != "success" || len(out.Data.Result) != 1 {
		return 0, false
	}
	s, _ := out.Data.Result[0].Value[1].(string)
	var v float64
	if _, err := fmt.Sscan(s, &v); err != nil {
		return 0, false
	}
	return v, true
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func freeLoopback(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
