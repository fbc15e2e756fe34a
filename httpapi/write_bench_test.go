package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/cmd/tokenstore/bench"
	"github.com/tokenstore/tokenstore/testcluster"
)

// The cluster write benchmarks drive a 3-node cluster (fsync on, every
// node in this process) and the no-Raft ceiling (testcluster.NewCeiling:
// the same HTTP, JSON and hashing work, events applied in place) with
// `tokenstore bench` in process, in the same run, in ABBA order (ceiling,
// cluster, cluster, ceiling) so that drift on the shared machine falls on
// both alike. Each phase lasts writePhase; a benchmark stays under ~30 s.
const (
	writeClients = 64
	writePhase   = 3 * time.Second
	benchUser    = "bench"
	benchPass    = "bench-password"
)

// writeTargets starts the cluster and the ceiling, each with the user the
// workloads authenticate as (superuser: it may create keys and get
// tokens), and returns their URLs.
func writeTargets(b *testing.B) (cluster, ceiling []string) {
	b.Helper()
	c := testcluster.New(b, 3)
	cluster = []string{c.URL(0), c.URL(1), c.URL(2)}
	ceiling = []string{testcluster.NewCeiling(b)}
	for _, base := range []string{cluster[0], ceiling[0]} {
		r, err := testcluster.Do(base, http.MethodPut, "/_security/user/"+benchUser, testcluster.Elastic,
			map[string]any{"password": benchPass, "roles": []string{"superuser"}})
		if err != nil || r.Status != http.StatusOK {
			b.Fatalf("put user on %s: %v %d %s", base, err, r.Status, r.Body)
		}
	}
	return cluster, ceiling
}

// runBench runs one phase; a failed operation fails the benchmark with
// the report (errors by status, the first answer of each).
func runBench(b *testing.B, cfg bench.Config) bench.Report {
	b.Helper()
	rep, err := runAs(cfg)
	return checked(b, cfg, rep, err)
}

// runAs runs cfg as the benchmarks' user; for a goroutine of its own,
// which must leave failing to checked.
func runAs(cfg bench.Config) (bench.Report, error) {
	cfg.User, cfg.Password = benchUser, benchPass
	return bench.Run(context.Background(), cfg)
}

func checked(b *testing.B, cfg bench.Config, rep bench.Report, err error) bench.Report {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
	for _, o := range rep.Operations {
		b.Logf("%s on %d node(s), %d clients: %s %.0f/s, p50 %.1f ms, p99 %.1f ms, %d errors (%.1fs)", rep.Workload,
			len(cfg.URLs), cfg.Clients, o.Name, o.PerSecond, o.Latency.P50, o.Latency.P99, o.Errors, rep.Seconds)
	}
	if rep.Errors() > 0 {
		var text bytes.Buffer
		rep.WriteText(&text)
		b.Fatalf("%d operations failed against %v:\n%s", rep.Errors(), cfg.URLs, text.String())
	}
	return rep
}

// versusCeiling runs workload on the cluster and on the ceiling, ABBA, and
// returns each side's rounds merged.
func versusCeiling(b *testing.B, cluster, ceiling []string, cfg bench.Config) (onCluster, onCeiling bench.Report) {
	b.Helper()
	cfg.Clients, cfg.Duration = writeClients, writePhase
	var cl, ce []bench.Report
	for _, clusterFirst := range []bool{false, true} {
		for _, onCl := range []bool{clusterFirst, !clusterFirst} {
			cfg.URLs = ceiling
			if onCl {
				cfg.URLs = cluster
			}
			rep := runBench(b, cfg)
			if onCl {
				cl = append(cl, rep)
			} else {
				ce = append(ce, rep)
			}
		}
	}
	return bench.Merge(cl...), bench.Merge(ce...)
}

// reportOp reports one operation's rate and latency on the cluster, the
// ceiling's rate, and the ratio of the two rates.
func reportOp(b *testing.B, cl, ce bench.OpReport, unit string) {
	b.ReportMetric(cl.PerSecond, unit+"/s")
	b.ReportMetric(cl.Latency.P50, unit+"-p50-ms")
	b.ReportMetric(cl.Latency.P99, unit+"-p99-ms")
	b.ReportMetric(ce.PerSecond, "ceiling-"+unit+"/s")
	b.ReportMetric(cl.PerSecond/ce.PerSecond, unit+"-ratio")
}

// BenchmarkAPIKeyCreates3Nodes: 64 clients create API keys through all
// three nodes (fsync on), against the no-Raft ceiling in the same run:
// creates/s, p50, p99, the ceiling's creates/s and the ratio (acceptance
// 1 of issue 17: ≥ 0.6×, p99 ≤ 20 ms).
func BenchmarkAPIKeyCreates3Nodes(b *testing.B) {
	cluster, ceiling := writeTargets(b)
	for b.Loop() {
		cl, ce := versusCeiling(b, cluster, ceiling, bench.Config{Workload: bench.Create})
		reportOp(b, cl.Op("create"), ce.Op("create"), "creates")
	}
}

// BenchmarkTokenGrants3Nodes: 64 clients' password grants (the password's
// verification cached), then refreshes (each client its own chain), over
// three nodes, each against the ceiling in the same run.
func BenchmarkTokenGrants3Nodes(b *testing.B) {
	cluster, ceiling := writeTargets(b)
	for b.Loop() {
		cl, ce := versusCeiling(b, cluster, ceiling, bench.Config{Workload: bench.Grant})
		reportOp(b, cl.Op("grant"), ce.Op("grant"), "grants")
		cl, ce = versusCeiling(b, cluster, ceiling, bench.Config{Workload: bench.Refresh})
		reportOp(b, cl.Op("refresh"), ce.Op("refresh"), "refreshes")
	}
}

// BenchmarkMixed3Nodes: 64 clients over three nodes, 90 % authentications
// with one API key and 10 % creates, against the ceiling.
func BenchmarkMixed3Nodes(b *testing.B) {
	cluster, ceiling := writeTargets(b)
	for b.Loop() {
		cl, ce := versusCeiling(b, cluster, ceiling, bench.Config{Workload: bench.Mixed})
		total := func(r bench.Report) float64 { return r.Op("authenticate").PerSecond + r.Op("create").PerSecond }
		b.ReportMetric(total(cl), "ops/s")
		b.ReportMetric(cl.Op("authenticate").PerSecond, "auths/s")
		b.ReportMetric(cl.Op("create").PerSecond, "creates/s")
		b.ReportMetric(cl.Op("authenticate").Latency.P99, "auth-p99-ms")
		b.ReportMetric(cl.Op("create").Latency.P99, "create-p99-ms")
		b.ReportMetric(total(ce), "ceiling-ops/s")
		b.ReportMetric(total(cl)/total(ce), "ratio")
	}
}

// BenchmarkAuthBesideWrites3Nodes: 56 clients authenticate one API key over
// three nodes alone, then beside 8 more clients creating keys paced at
// 400/s in all, alternating (alone, beside, beside, alone): the rate and
// p99 of authentication beside writes over alone (acceptance 4 of issue
// 17: rate ≥ 0.8×, p99 within 2×).
func BenchmarkAuthBesideWrites3Nodes(b *testing.B) {
	cluster, _ := writeTargets(b)
	key, err := testcluster.Do(cluster[0], http.MethodPost, "/_security/api_key", testcluster.Elastic, `{"name":"beside"}`)
	if err != nil || key.Status != http.StatusOK {
		b.Fatalf("create key: %v %d %s", err, key.Status, key.Body)
	}
	const phase = 4 * time.Second
	auth := bench.Config{Workload: bench.Authenticate, URLs: cluster, Clients: 56, Duration: phase,
		Credential: "ApiKey " + key.JSON()["encoded"].(string)}
	writes := bench.Config{Workload: bench.Create, URLs: cluster, Clients: 8, Duration: phase, Rate: 400}
	for b.Loop() {
		var alone, beside, created []bench.Report
		for _, besideFirst := range []bool{false, true} {
			for _, withWrites := range []bool{besideFirst, !besideFirst} {
				if !withWrites {
					alone = append(alone, runBench(b, auth))
					continue
				}
				var wg sync.WaitGroup
				var w bench.Report
				var werr error
				wg.Go(func() { w, werr = runAs(writes) })
				beside = append(beside, runBench(b, auth))
				wg.Wait()
				created = append(created, checked(b, writes, w, werr))
			}
		}
		a, s := bench.Merge(alone...).Op("authenticate"), bench.Merge(beside...).Op("authenticate")
		b.ReportMetric(a.PerSecond, "auth-alone/s")
		b.ReportMetric(s.PerSecond, "auth-beside/s")
		b.ReportMetric(s.PerSecond/a.PerSecond, "rate-ratio")
		b.ReportMetric(a.Latency.P99, "p99-alone-ms")
		b.ReportMetric(s.Latency.P99, "p99-beside-ms")
		b.ReportMetric(s.Latency.P99/a.Latency.P99, "p99-ratio")
		b.ReportMetric(bench.Merge(created...).Op("create").PerSecond, "creates/s")
	}
}
