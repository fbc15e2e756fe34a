package metrics_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tokenstore/tokenstore/node"
	"github.com/tokenstore/tokenstore/testcluster"
)

// families is one scrape, parsed.
type families map[string]*dto.MetricFamily

// scrape reads node i's metrics with the text parser of prometheus/common.
func scrape(t *testing.T, c *testcluster.Cluster, i int, auth string) families {
	t.Helper()
	r := c.Do(i, http.MethodGet, "/_prometheus/metrics", auth, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("scrape node %d: %d %s", i, r.Status, r.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("parse node %d's metrics: %v", i, err)
	}
	return fams
}

// value is the counter, gauge or untyped value of the series of a family
// with exactly these labels (missing: -1).
func (f families) value(name string, labels ...string) float64 {
	fam, ok := f[name]
	if !ok {
		return -1
	}
	for _, m := range fam.Metric {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		case m.Summary != nil:
			return float64(m.Summary.GetSampleCount())
		}
	}
	return -1
}

func hasLabels(m *dto.Metric, kv []string) bool {
	if len(m.Label) != len(kv)/2 {
		return false
	}
	for i := 0; i < len(kv); i += 2 {
		found := false
		for _, l := range m.Label {
			if l.GetName() == kv[i] && l.GetValue() == kv[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// monitorKey creates an API key that may only monitor: the scrape
// credential the README documents.
func monitorKey(t *testing.T, c *testcluster.Cluster) string {
	t.Helper()
	r := c.Do(0, http.MethodPost, "/_security/api_key", testcluster.Elastic,
		`{"name":"prometheus","role_descriptors":{"scrape":{"cluster":["monitor"]}}}`)
	if r.Status != http.StatusOK {
		t.Fatalf("create monitor key: %d %s", r.Status, r.Body)
	}
	return "ApiKey " + r.JSON()["encoded"].(string)
}

// TestScrapeCountsTheWorkload: after N creates, M good and K bad
// authentications and one invalidation on one follower, that follower's
// counters grew by exactly those counts, the others' did not, every node
// shows the same credential gauges, and Raft's metrics are there.
func TestScrapeCountsTheWorkload(t *testing.T) {
	// TLS between nodes: peers are admitted by certificate, so the nodes'
	// own calls to each other are no authentications to count.
	c := testcluster.New(t, 3, testcluster.Options{TLS: true})
	scrapeKey := monitorKey(t, c)
	if r := c.Do(0, http.MethodPut, "/_security/user/alice", testcluster.Elastic, `{"password":"alice-passw0rd","roles":[]}`); r.Status != http.StatusOK {
		t.Fatalf("put user: %d %s", r.Status, r.Body)
	}
	f := c.Followers()[0]
	before := make([]families, 3)
	for i := range before {
		before[i] = scrape(t, c, i, scrapeKey)
	}

	const n, m, k = 4, 5, 3
	good, bad := testcluster.Basic("alice", "alice-passw0rd"), testcluster.Basic("alice", "wrong-passw0rd")
	var ids []string
	for range n {
		r := c.Do(f, http.MethodPost, "/_security/api_key", testcluster.Elastic, `{"name":"workload"}`)
		if r.Status != http.StatusOK {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		ids = append(ids, r.JSON()["id"].(string))
	}
	for range m {
		if r := c.Do(f, http.MethodGet, "/_security/_authenticate", good, nil); r.Status != http.StatusOK {
			t.Fatalf("good authentication: %d %s", r.Status, r.Body)
		}
	}
	for range k {
		if r := c.Do(f, http.MethodGet, "/_security/_authenticate", bad, nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("bad authentication: %d %s", r.Status, r.Body)
		}
	}
	if r := c.Do(f, http.MethodDelete, "/_security/api_key", testcluster.Elastic, map[string]any{"ids": ids[:1]}); r.Status != http.StatusOK {
		t.Fatalf("invalidate: %d %s", r.Status, r.Body)
	}
	after := make([]families, 3)
	for i := range after {
		after[i] = scrape(t, c, i, scrapeKey)
	}

	// On the follower that served it: the creates and the invalidation
	// authenticated elastic (basic), alice M times and K times wrongly;
	// the API key counts the scrape after the workload only.
	type row struct {
		name   string
		labels []string
		want   float64
	}
	auth := "tokenstore_authentications_total"
	served := []row{
		{auth, []string{"scheme", "basic", "result", "success"}, n + m + 1},
		{auth, []string{"scheme", "basic", "result", "failed"}, k},
		{auth, []string{"scheme", "apikey", "result", "success"}, 1},
		{auth, []string{"scheme", "bearer", "result", "success"}, 0},
		{"tokenstore_writes_total", []string{"event", "api_key_created", "result", "success"}, n},
		{"tokenstore_writes_total", []string{"event", "api_keys_invalidated", "result", "success"}, 1},
		{"tokenstore_forwarded_writes_total", []string{"result", "success"}, n + 1},
		{"tokenstore_write_ack_duration_seconds", nil, n + 1},
		{"tokenstore_http_requests_total", []string{"route", "/_security/_authenticate", "code", "2xx"}, m},
		{"tokenstore_http_requests_total", []string{"route", "/_security/_authenticate", "code", "4xx"}, k},
		{"tokenstore_http_requests_total", []string{"route", "/_prometheus/metrics", "code", "2xx"}, 1},
	}
	for _, r := range served {
		if got := after[f].value(r.name, r.labels...) - before[f].value(r.name, r.labels...); got != r.want {
			t.Errorf("node %d %s%v grew by %v, want %v", f, r.name, r.labels, got, r.want)
		}
	}
	// Elsewhere, only their own scrape.
	for i := range after {
		if i == f {
			continue
		}
		for _, r := range slices.Concat(served[:2], served[4:6]) {
			if got := after[i].value(r.name, r.labels...) - before[i].value(r.name, r.labels...); got != 0 {
				t.Errorf("node %d (did not serve the workload) %s%v grew by %v", i, r.name, r.labels, got)
			}
		}
	}

	// The same state, so the same gauges, on every node.
	creds := "tokenstore_credentials"
	if got := after[f].value(creds, "kind", "api_keys", "state", "valid"); got != n-1+1 { // and the scrape key
		t.Errorf("valid api keys: %v, want %d", got, n)
	}
	if got := after[f].value(creds, "kind", "api_keys", "state", "invalidated"); got != 1 {
		t.Errorf("invalidated api keys: %v, want 1", got)
	}
	for i := range after {
		if a, b := gauges(after[i], creds), gauges(after[f], creds); a != b {
			t.Errorf("credential gauges differ:\nnode %d: %s\nnode %d: %s", i, a, f, b)
		}
	}

	// Raft: exactly one leader, and Raft's own metrics from the start.
	leaders := 0.0
	for i := range after {
		leaders += after[i].value("tokenstore_raft_is_leader")
		for _, name := range []string{"tokenstore_raft_commitTime", "tokenstore_raft_leader_lastContact",
			"tokenstore_raft_fsm_apply", "tokenstore_raft_apply", "tokenstore_raft_term", "tokenstore_raft_applied_index",
			"tokenstore_raft_last_contact_seconds", "tokenstore_snapshot_size_bytes", "go_goroutines", "process_resident_memory_bytes"} {
			if _, ok := after[i][name]; !ok {
				t.Errorf("node %d: no %s", i, name)
			}
		}
	}
	for i := range after {
		if v := after[i].value("tokenstore_raft_leader_changes_total"); v < 1 {
			t.Errorf("node %d has seen %v leaders elected", i, v)
		}
	}
	if leaders != 1 {
		t.Errorf("%v nodes say they lead", leaders)
	}
	// The test certificates are valid for a while yet.
	now := float64(time.Now().Unix())
	for i := range after {
		for _, cert := range []string{"http", "transport"} {
			if v := after[i].value("tokenstore_certificate_expiry_timestamp_seconds", "certificate", cert); v < now {
				t.Errorf("node %d: %s certificate expiry %v, want after now (%v)", i, cert, v, now)
			}
		}
	}
}

// gauges renders a family's series as "labels=value" lines, sorted.
func gauges(f families, name string) string {
	var out []string
	for _, m := range f[name].GetMetric() {
		var l []string
		for _, p := range m.Label {
			l = append(l, p.GetName()+"="+p.GetValue())
		}
		out = append(out, strings.Join(l, ",")+"="+model.SampleValue(m.Gauge.GetValue()).String())
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestMetricsNeedMonitor: no credential is 401, a user without monitor
// 403, and a scraper that asks for OpenMetrics gets it.
func TestMetricsNeedMonitor(t *testing.T) {
	c := testcluster.New(t, 1)
	if r := c.Do(0, http.MethodGet, "/_prometheus/metrics", "", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("no credential: %d, want 401", r.Status)
	}
	c.Do(0, http.MethodPut, "/_security/user/nobody", testcluster.Elastic, `{"password":"nobody-passw0rd","roles":[]}`)
	if r := c.Do(0, http.MethodGet, "/_prometheus/metrics", testcluster.Basic("nobody", "nobody-passw0rd"), nil); r.Status != http.StatusForbidden {
		t.Errorf("no monitor privilege: %d, want 403", r.Status)
	}
	req, _ := http.NewRequest(http.MethodGet, c.URL(0)+"/_prometheus/metrics", nil)
	req.Header.Set("Authorization", monitorKey(t, c))
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Errorf("OpenMetrics asked: %d %q", resp.StatusCode, ct)
	}
}

// A node with the audit log on reports how many records its queue
// dropped; one without has no such series.
func TestAuditDropsAreCounted(t *testing.T) {
	for _, on := range []bool{false, true} {
		c := testcluster.New(t, 1, testcluster.Options{Settings: node.Settings{"xpack.security.audit.enabled": fmt.Sprint(on)}})
		got := scrape(t, c, 0, testcluster.Elastic).value("tokenstore_audit_dropped_records_total")
		if want := map[bool]float64{false: -1, true: 0}[on]; got != want {
			t.Errorf("audit enabled %v: dropped records %v, want %v", on, got, want)
		}
	}
}
