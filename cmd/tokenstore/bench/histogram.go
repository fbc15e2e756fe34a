package bench

import (
	"math"
	"math/bits"
	"time"
)

// The histogram is log-linear, as HdrHistogram is: values below 2^subBits
// nanoseconds each have a bucket, and every power of two above is cut into
// 2^(subBits-1) equal buckets, so a bucket is never wider than 1/64 of its
// values (under 1.6 % error) and recording is one index computation and
// one increment. 3,776 buckets cover every uint64.
const (
	subBits    = 7
	subCount   = 1 << subBits
	subHalf    = subCount / 2
	numBuckets = (64-subBits)*subHalf + subCount
)

// Histogram counts latencies. It is not safe for concurrent use: each
// client keeps its own and the runner merges them.
type Histogram struct {
	counts   [numBuckets]uint64
	total    uint64
	sum      float64 // nanoseconds, for the mean
	min, max uint64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{min: math.MaxUint64} }

func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(v) - subBits
	return e*subHalf + int(v>>e)
}

// bucketHigh is the highest value bucket i holds.
func bucketHigh(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	e := i/subHalf - 1
	m := uint64(i - e*subHalf)
	return (m+1)<<e - 1
}

// Record counts one latency; a negative one counts as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketOf(v)]++
	h.total++
	h.sum += float64(v)
	h.min, h.max = min(h.min, v), max(h.max, v)
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.sum += o.sum
	h.min, h.max = min(h.min, o.min), max(h.max, o.max)
}

// Count is the number of latencies recorded.
func (h *Histogram) Count() uint64 { return h.total }

// Max is the largest latency recorded (0 when none).
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean is the average latency (0 when none).
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.total))
}

// Quantile returns the latency at or below which a fraction q (0 to 1) of
// the recorded ones fall: the highest value of the bucket that holds the
// rank-th smallest (rank rounded up, as HdrHistogram does), never above the
// largest recorded. 0 when nothing was recorded.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(min(max(q, 0), 1) * float64(h.total)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			return time.Duration(min(max(bucketHigh(i), h.min), h.max))
		}
	}
	return time.Duration(h.max)
}
