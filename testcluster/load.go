package testcluster

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Load runs op from workers clients, each calling op(worker, n) with n
// counting up, until d passes or stop (may be nil) says so, and returns
// the operations per second and the latency p99 in ms of the ones that
// succeeded. A worker stops at its first failure; the first failure, or
// no success at all, is the error. Benchmarks of every package share it.
func Load(workers int, d time.Duration, op func(w, n int) error, stop func() bool) (perSecond, p99ms float64, err error) {
	var mu sync.Mutex
	var lat []time.Duration
	var failed atomic.Int64
	var first atomic.Value
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			var mine []time.Duration
			for n := 0; time.Now().Before(deadline) && (stop == nil || !stop()); n++ {
				start := time.Now()
				if err := op(w, n); err != nil {
					failed.Add(1)
					first.CompareAndSwap(nil, err.Error())
					break
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if failed.Load() > 0 || len(lat) == 0 {
		return 0, 0, fmt.Errorf("%d operations failed (%v), %d succeeded", failed.Load(), first.Load(), len(lat))
	}
	slices.Sort(lat)
	return float64(len(lat)) / d.Seconds(), float64(lat[len(lat)*99/100].Microseconds()) / 1000, nil
}
