package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/cmd/tokenstore/bench"
	"github.com/tokenstore/tokenstore/testcluster"
)

// One real node serves every test of a run (a node's start is most of
// their time).
func TestAgainstOneNode(t *testing.T) {
	c := testcluster.New(t, 1)
	t.Run("every workload", func(t *testing.T) { everyWorkloadRunsWithoutErrors(t, c) })
	t.Run("paced, errors by status", func(t *testing.T) { pacedRunAndErrorsByStatus(t, c) })
	t.Run("command", func(t *testing.T) { commandJSON(t, c) })
}

// Each workload: every operation it lists was sent and succeeded.
func everyWorkloadRunsWithoutErrors(t *testing.T, c *testcluster.Cluster) {
	if r := c.Do(0, http.MethodPut, "/_security/user/loader", testcluster.Elastic,
		map[string]any{"password": "loader-password", "roles": []string{"superuser"}}); r.Status != http.StatusOK {
		t.Fatalf("put user: %d %s", r.Status, r.Body)
	}
	want := map[string][]string{
		bench.Create: {"create"}, bench.Authenticate: {"authenticate"}, bench.Grant: {"grant"},
		bench.Refresh: {"refresh"}, bench.Mixed: {"authenticate", "create"},
	}
	for _, w := range bench.Workloads() {
		t.Run(w, func(t *testing.T) {
			cfg := bench.Config{Workload: w, URLs: []string{c.URL(0)}, User: "loader", Password: "loader-password",
				Clients: 4, Duration: 300 * time.Millisecond}
			if w == bench.Mixed {
				cfg.Mix = 50
			}
			rep, err := bench.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range rep.Operations {
				got = append(got, o.Name)
				if o.Count == 0 || o.Errors != 0 || o.PerSecond <= 0 || o.Latency.P50 <= 0 || o.Latency.P999 < o.Latency.P50 {
					t.Errorf("%s: %+v, want successes, no errors, and ordered percentiles", o.Name, o)
				}
			}
			if strings.Join(got, ",") != strings.Join(want[w], ",") {
				t.Fatalf("operations %v, want %v", got, want[w])
			}
		})
	}
}

// A paced run never sends more than rate × duration, and failures are
// counted by status with the first answer, not as latencies.
func pacedRunAndErrorsByStatus(t *testing.T, c *testcluster.Cluster) {
	// A user who may authenticate but not create API keys.
	if r := c.Do(0, http.MethodPut, "/_security/user/reader", testcluster.Elastic,
		map[string]any{"password": "reader-password", "roles": []string{}}); r.Status != http.StatusOK {
		t.Fatalf("put user: %d %s", r.Status, r.Body)
	}
	rep, err := bench.Run(context.Background(), bench.Config{Workload: bench.Create, URLs: []string{c.URL(0)},
		User: "reader", Password: "reader-password", Clients: 3, Duration: 500 * time.Millisecond, Rate: 20})
	if err != nil {
		t.Fatal(err)
	}
	o := rep.Op("create")
	if o.Count != 0 || o.Errors == 0 || o.Errors > int64(math.Ceil(20*0.5)) {
		t.Fatalf("%+v: want no successes and 1 to 10 errors", o)
	}
	if o.ErrorsByStatus["403"] != o.Errors || !strings.Contains(o.ErrorSamples["403"], "is unauthorized for user [reader]") {
		t.Fatalf("errors by status %v, samples %v: want all 403 with the answer", o.ErrorsByStatus, o.ErrorSamples)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), "create errors 403:") {
		t.Fatalf("text report:\n%s", text.String())
	}
}

// The command writes the JSON report to stdout and progress to stderr,
// and a run whose setup fails fails.
func commandJSON(t *testing.T, c *testcluster.Cluster) {
	var stdout, stderr bytes.Buffer
	err := bench.Command([]string{"authenticate", "--url", c.URL(0), "--user", "elastic:" + testcluster.ElasticPassword,
		"--clients", "2", "--duration", "1500ms", "--json"}, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("%v in %s", err, stdout.String())
	}
	if o := rep.Op("authenticate"); o.Count == 0 || rep.Clients != 2 {
		t.Fatalf("report %+v", rep)
	}
	if !regexp.MustCompile(`(?m)^authenticate +1\.\ds: [1-9][0-9]* ok, 0 errors, ([0-9]+/s in the last second|done)$`).MatchString(stderr.String()) {
		t.Fatalf("no progress line on stderr: %q", stderr.String())
	}
	err = bench.Command([]string{"authenticate", "--url", c.URL(0), "--user", "elastic:wrong", "--duration", "1s"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "setup") || !strings.Contains(err.Error(), "401") {
		t.Fatalf("got %v, want the setup's 401", err)
	}
}
