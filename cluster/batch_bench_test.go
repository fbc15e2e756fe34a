package cluster_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// counters sums, over every node, the Prometheus samples whose line starts
// with one of the prefixes (a metric name with the start of its labels).
func counters(b testing.TB, c *testcluster.Cluster, prefixes ...string) []float64 {
	b.Helper()
	out := make([]float64, len(prefixes))
	for i := 0; i < c.Len(); i++ {
		r := c.Do(i, http.MethodGet, "/_prometheus/metrics", testcluster.Elastic, nil)
		sc := bufio.NewScanner(bytes.NewReader(r.Body))
		for sc.Scan() {
			line := sc.Text()
			for k, p := range prefixes {
				if strings.HasPrefix(line, p) {
					v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
					out[k] += v
				}
			}
		}
	}
	return out
}

// The forwarded writes (followers' count) and the forwarded-write requests
// the leader received: the single endpoint (under the internal prefix's
// template) and the batch endpoint.
var forwardCounters = []string{
	`tokenstore_forwarded_writes_total{`,
	`tokenstore_http_requests_total{code="2xx",route="/_tokenstore/internal/"}`,
	`tokenstore_http_requests_total{code="2xx",route="/_tokenstore/internal/propose/batch"}`,
	// Raft's metrics are process-wide: each node of an in-process
	// cluster shows the sum over all of them.
	`tokenstore_raft_leader_dispatchLog_count`,
}

// cpuTime is the CPU time this process (nodes and load generator) has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// failure is why a request failed, or nil for a 200.
func failure(r testcluster.Response, err error) error {
	if err == nil && r.Status != http.StatusOK {
		err = fmt.Errorf("%d %.300s", r.Status, r.Body)
	}
	return err
}

// load runs op from workers clients for d (testcluster.Load) and returns
// ops/s and the p99 latency in ms; any failure fails the benchmark.
func load(b *testing.B, workers int, d time.Duration, op func(w, n int) error, stop ...func() bool) (float64, float64) {
	b.Helper()
	var until func() bool
	if len(stop) > 0 {
		until = stop[0]
	}
	rate, p99, err := testcluster.Load(workers, d, op, until)
	if err != nil {
		b.Fatal(err)
	}
	return rate, p99
}

// BenchmarkForwardedCreates3Nodes: 64 clients create API keys through all
// three nodes (fsync on), two thirds of them forwarded; creates/s, p99, and
// the forwarded-write HTTP requests the leader received per forwarded write.
func BenchmarkForwardedCreates3Nodes(b *testing.B) {
	c := testcluster.New(b, 3)
	const workers, d = 64, 5 * time.Second
	b.ResetTimer()
	for b.Loop() {
		before := counters(b, c, forwardCounters...)
		cpu := cpuTime()
		rate, p99 := load(b, workers, d, func(w, n int) error {
			r, err := testcluster.Do(c.URL((w+n)%3), http.MethodPost, "/_security/api_key", testcluster.Elastic, `{"name":"load"}`)
			return failure(r, err)
		})
		cpu = cpuTime() - cpu
		after := counters(b, c, forwardCounters...)
		b.ReportMetric(float64(cpu.Microseconds())/(rate*d.Seconds()), "cpu-µs/create")
		b.ReportMetric(rate, "creates/s")
		b.ReportMetric(p99, "p99-ms")
		b.ReportMetric((after[1]+after[2]-before[1]-before[2])/(after[0]-before[0]), "fwd-req/write")
		b.ReportMetric(rate*d.Seconds()/((after[3]-before[3])/float64(c.Len())), "entries/append")
	}
}

// BenchmarkInvalidations3Nodes: 64 clients invalidate distinct API keys
// through all three nodes; each invalidation is acknowledged once every
// member has applied it. Invalidations/s, p99, and the status probes the
// leader sent per invalidation.
func BenchmarkInvalidations3Nodes(b *testing.B) {
	c := testcluster.New(b, 3)
	const workers, d = 64, 5 * time.Second
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		var mu sync.Mutex
		var ids []string
		load(b, workers, 3*time.Second, func(w, n int) error {
			r, err := testcluster.Do(c.URL((w+n)%3), http.MethodPost, "/_security/api_key", testcluster.Elastic, `{"name":"revoke"}`)
			if err := failure(r, err); err != nil {
				return err
			}
			mu.Lock()
			ids = append(ids, r.JSON()["id"].(string))
			mu.Unlock()
			return nil
		})
		b.StartTimer()
		probes := `tokenstore_http_requests_total{code="2xx",route="/_tokenstore/internal/status"}`
		before := counters(b, c, probes)
		var next atomic.Int64
		cpu := cpuTime()
		start := time.Now()
		_, p99 := load(b, workers, d, func(w, n int) error {
			i := int(next.Add(1)) - 1
			if i >= len(ids) {
				return nil
			}
			body := `{"ids":["` + ids[i] + `"]}`
			r, err := testcluster.Do(c.URL((w+n)%3), http.MethodDelete, "/_security/api_key", testcluster.Elastic, body)
			return failure(r, err)
		}, func() bool { return next.Load() >= int64(len(ids)) })
		took := time.Since(start)
		cpu = cpuTime() - cpu
		after := counters(b, c, probes)
		done := min(int(next.Load()), len(ids))
		b.ReportMetric(float64(done)/took.Seconds(), "invalidations/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(done), "cpu-µs/invalidation")
		b.ReportMetric(p99, "p99-ms")
		b.ReportMetric((after[0]-before[0])/float64(done), "probes/invalidation")
	}
}
