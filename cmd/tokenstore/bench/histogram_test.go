package bench

import (
	"math"
	"testing"
	"time"
)

// Every value falls in the bucket whose range holds it, and buckets are
// never wider than 1/64 of their values: the percentiles' error bound.
func TestBucketsHoldTheirValues(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 12345, 1 << 20, 999_999_937, 1<<40 + 3, math.MaxUint64} {
		i := bucketOf(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d, outside 0..%d", v, i, numBuckets-1)
		}
		if hi := bucketHigh(i); hi < v {
			t.Errorf("bucket %d of %d ends at %d, below it", i, v, hi)
		}
		if i > 0 && bucketHigh(i-1) >= v {
			t.Errorf("bucket %d before %d's ends at %d, not below it", i-1, v, bucketHigh(i-1))
		}
		if lo := bucketHigh(i-1) + 1; i > 0 && float64(bucketHigh(i)-lo) > float64(lo)/64 {
			t.Errorf("bucket %d is %d wide from %d, over 1/64", i, bucketHigh(i)-lo, lo)
		}
	}
}

func TestQuantiles(t *testing.T) {
	h := NewHistogram()
	for v := 1; v <= 10_000; v++ {
		h.Record(time.Duration(v) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5000 * time.Microsecond}, {0.9, 9000 * time.Microsecond}, {0.99, 9900 * time.Microsecond},
		{0.999, 9990 * time.Microsecond}, {1, 10_000 * time.Microsecond}, {0, time.Microsecond}} {
		got := h.Quantile(c.q)
		if got < c.want || float64(got-c.want) > float64(c.want)/64 {
			t.Errorf("quantile %g: got %v, want %v to 1/64 above", c.q, got, c.want)
		}
	}
	if h.Count() != 10_000 || h.Max() != 10*time.Millisecond {
		t.Errorf("count %d max %v, want 10000 and 10ms", h.Count(), h.Max())
	}
	if m := h.Mean(); m < 5000*time.Microsecond || m > 5001*time.Microsecond {
		t.Errorf("mean %v, want 5000.5µs", m)
	}
}

// A percentile is never reported above the largest value recorded, nor
// below the smallest, though its bucket reaches further.
func TestQuantileStaysWithinWhatWasRecorded(t *testing.T) {
	h := NewHistogram()
	h.Record(1_000_001)
	if got := h.Quantile(0.5); got != 1_000_001 {
		t.Fatalf("one value: p50 %d, want 1000001", got)
	}
	if got := NewHistogram().Quantile(0.99); got != 0 {
		t.Fatalf("empty: p99 %v, want 0", got)
	}
}

func TestMergeIsRecordingBoth(t *testing.T) {
	a, b, both := NewHistogram(), NewHistogram(), NewHistogram()
	for v := range 1000 {
		d := time.Duration(v*v) * time.Microsecond
		if v%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
		both.Record(d)
	}
	a.Merge(b)
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
		if a.Quantile(q) != both.Quantile(q) {
			t.Errorf("quantile %g: merged %v, recorded together %v", q, a.Quantile(q), both.Quantile(q))
		}
	}
	if a.Count() != both.Count() || a.Mean() != both.Mean() {
		t.Errorf("merged count %d mean %v, together %d %v", a.Count(), a.Mean(), both.Count(), both.Mean())
	}
}

// Rounds merge into one report: counts, errors and time add up, the rate
// is over the time of all rounds, and the percentiles are of all latencies.
func TestMergeReports(t *testing.T) {
	round := func(lat time.Duration, n int, errs int64) Report {
		o := OpReport{Name: "create", hist: NewHistogram(), Errors: errs}
		for range n {
			o.hist.Record(lat)
		}
		if errs > 0 {
			o.ErrorsByStatus, o.ErrorSamples = map[string]int64{"503": errs}, map[string]string{"503": "first"}
		}
		o.finish(2)
		return Report{Workload: Create, Seconds: 2, Operations: []OpReport{o}}
	}
	m := Merge(round(time.Millisecond, 900, 0), round(100*time.Millisecond, 100, 3))
	o := m.Op("create")
	if m.Seconds != 4 || o.Count != 1000 || o.PerSecond != 250 || o.Errors != 3 || o.ErrorsByStatus["503"] != 3 || m.Errors() != 3 {
		t.Fatalf("merged %+v %+v", m, o)
	}
	if o.Latency.P50 < 1 || o.Latency.P50 > 1+1.0/64 || o.Latency.P99 != 100 {
		t.Fatalf("p50 %v p99 %v, want 1 (to 1/64 above) and 100 ms", o.Latency.P50, o.Latency.P99)
	}
}
