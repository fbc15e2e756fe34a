package throttle

import (
	"cmp"
	"slices"
	"time"
)

// bucket is a token bucket of failures kept as the time it is full again
// (GCRA): integer arithmetic, refilled by reading the clock, so nothing
// runs in the background.
type bucket struct {
	full int64 // nanoseconds on the throttle's clock
	// warned: the log has said this bucket is empty since it was last full.
	warned bool
}

// limiter is a table of buckets. Absent means full.
type limiter[K comparable] struct {
	burst, refill int64 // tokens; nanoseconds per token
	max           int
	m             map[K]bucket
}

func newLimiter[K comparable](burst int, refill time.Duration, max int) limiter[K] {
	return limiter[K]{burst: int64(burst), refill: int64(refill), max: max, m: map[K]bucket{}}
}

// debt is the refill time a bucket lacks: 0 when full, burst*refill when
// empty.
func (l *limiter[K]) debt(b bucket, now int64) int64 { return max(b.full-now, 0) }

// wait is how long until k may fail again; 0 when it may now.
func (l *limiter[K]) wait(k K, now int64) time.Duration {
	b, ok := l.m[k]
	if !ok {
		return 0
	}
	return time.Duration(max(l.debt(b, now)-(l.burst-1)*l.refill, 0))
}

// charge takes a token for a failure. It reports the first emptying since
// the bucket was last full, so that the log says so once per episode rather
// than once per refilled token.
func (l *limiter[K]) charge(k K, now int64) (emptied bool) {
	l.take(k, now)
	return l.emptied(k, now)
}

// take adds a token's refill time to k's debt, up to an empty bucket, and
// returns what it added, so that give can return exactly that.
func (l *limiter[K]) take(k K, now int64) int64 {
	b, ok := l.m[k]
	if !ok && len(l.m) >= l.max {
		l.evict(now)
	}
	d := l.debt(b, now)
	nd := min(d+l.refill, l.burst*l.refill)
	l.m[k] = bucket{full: now + nd, warned: b.warned && d > 0}
	return nd - d
}

// give returns what take added for an attempt that proved no guess.
func (l *limiter[K]) give(k K, held, now int64) {
	b, ok := l.m[k]
	if !ok || held <= 0 {
		return
	}
	b.full -= held
	if b.full <= now {
		delete(l.m, k)
		return
	}
	l.m[k] = b
}

// emptied reports, once per episode, that k's bucket is now empty.
func (l *limiter[K]) emptied(k K, now int64) bool {
	b, ok := l.m[k]
	if !ok || b.warned || l.debt(b, now) <= (l.burst-1)*l.refill {
		return false
	}
	b.warned = true
	l.m[k] = b
	return true
}

// evict makes room: full buckets first (forgetting them changes nothing),
// then the fullest.
func (l *limiter[K]) evict(now int64) {
	shrink(l.m, l.max, func(b bucket) int64 { return l.debt(b, now) }, func(debt int64) bool { return debt == 0 })
}

// shrink makes room in a table at its cap: it drops the entries whose
// rank says they are worth nothing, then those of lowest rank, down to 7/8
// of the cap so that it runs rarely.
func shrink[K comparable, V any](m map[K]V, max int, rank func(V) int64, worthless func(int64) bool) {
	for k, v := range m {
		if worthless(rank(v)) {
			delete(m, k)
		}
	}
	target := min(max-1, max-max/8)
	if len(m) <= target {
		return
	}
	type entry struct {
		k    K
		rank int64
	}
	all := make([]entry, 0, len(m))
	for k, v := range m {
		all = append(all, entry{k, rank(v)})
	}
	slices.SortFunc(all, func(a, b entry) int { return cmp.Compare(a.rank, b.rank) })
	for _, e := range all[:len(all)-target] {
		delete(m, e.k)
	}
}
