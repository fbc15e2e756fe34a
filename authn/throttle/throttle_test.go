package throttle

import (
	"fmt"
	"math"
	"net/netip"
	"testing"
	"time"
)

// limiterOp charges the bucket ("c") or checks its wait ("w") at a time in
// seconds.
type limiterOp struct {
	at   float64
	op   string
	wait time.Duration
}

func TestLimiterRefill(t *testing.T) {
	cases := []struct {
		name string
		ops  []limiterOp
	}{
		{"burst then one per period", []limiterOp{
			{0, "c", 0}, {0, "w", 0}, {0, "c", 0}, {0, "w", 2 * time.Second},
			{1, "w", time.Second}, {2, "w", 0}, {2, "c", 0}, {2, "w", 2 * time.Second},
			{100, "w", 0}, {100, "c", 0}, {100, "w", 0},
		}},
		{"failures past empty add no wait", []limiterOp{
			{0, "c", 0}, {0, "c", 0}, {0, "c", 0}, {0, "c", 0}, {0, "c", 0}, {0, "w", 2 * time.Second},
			{2, "w", 0},
		}},
		{"a refilled bucket is charged from full", []limiterOp{
			{0, "c", 0}, {0, "c", 0}, {50, "c", 0}, {50, "w", 0}, {50, "c", 0}, {50, "w", 2 * time.Second},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter[string](2, 2*time.Second, 10)
			for i, o := range tc.ops {
				now := int64(o.at * float64(time.Second))
				switch o.op {
				case "c":
					l.charge("k", now)
				case "w":
					if got := l.wait("k", now); got != o.wait {
						t.Errorf("op %d at %vs: got wait %v, want %v", i, o.at, got, o.wait)
					}
				}
			}
		})
	}
}

func TestLimiterWarnsOncePerEpisode(t *testing.T) {
	l := newLimiter[string](2, time.Second, 10)
	var got []bool
	for _, at := range []float64{0, 0, 0, 1, 1, 1.5, 10, 10} {
		got = append(got, l.charge("k", int64(at*float64(time.Second))))
	}
	// Emptied at the second failure; refilled tokens spent at 1s and 1.5s
	// empty it again within the same episode; by 10s it was full.
	want := []bool{false, true, false, false, false, false, false, true}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestMemoryCap(t *testing.T) {
	const max = 64
	l := newLimiter[int](2, time.Second, max)
	now := int64(0)
	// A key that is drained survives the first sweep when the others have
	// refilled, since full buckets go first.
	l.charge(-1, now)
	l.charge(-1, now)
	for i := 0; i < max-1; i++ {
		l.charge(i, now)
	}
	now += int64(1500 * time.Millisecond) // the others are full, -1 is not
	l.charge(1000, now)
	if len(l.m) != 2 {
		t.Fatalf("got %d entries after sweeping full buckets, want 2", len(l.m))
	}
	if _, ok := l.m[-1]; !ok {
		t.Fatal("the sweep dropped a bucket that was not full")
	}
	// Without full buckets to drop, the cap still holds.
	for i := 0; i < 10*max; i++ {
		l.charge(i, now)
		l.charge(i, now)
		if len(l.m) > max {
			t.Fatalf("got %d entries, cap %d", len(l.m), max)
		}
	}

	k := knownSet{per: 3, max: max, ttl: int64(time.Hour), m: map[string][]knownAddr{}}
	net := func(i int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 32)
	}
	for i := 0; i < 10*max; i++ {
		k.add(fmt.Sprint("user", i), net(i), int64(i))
		if len(k.m) > max {
			t.Fatalf("got %d users, cap %d", len(k.m), max)
		}
	}
	u := "joe"
	for i := 0; i < 10; i++ {
		k.add(u, net(i), int64(i))
	}
	if got := len(k.m[u]); got != 3 {
		t.Fatalf("got %d known networks for one user, want 3", got)
	}
	if !k.has(u, net(9), 9) || k.has(u, net(6), 9) {
		t.Error("the newest networks should be kept, the oldest dropped")
	}
}

func TestConfigDefaults(t *testing.T) {
	cases := []struct {
		name string
		in   Config
		want Config
	}{
		{"zero takes the defaults", Config{},
			Config{AddressBurst: 30, AddressRefill: time.Second, UserBurst: 20, UserRefill: 3 * time.Second, KnownAddresses: 16, KnownFor: 24 * time.Hour, MaxTracked: 100_000}},
		{"negative takes the defaults", Config{AddressBurst: -1, UserRefill: -time.Second, MaxTracked: -5},
			Config{AddressBurst: 30, AddressRefill: time.Second, UserBurst: 20, UserRefill: 3 * time.Second, KnownAddresses: 16, KnownFor: 24 * time.Hour, MaxTracked: 100_000}},
		{"a debt that would overflow is clamped", Config{AddressBurst: 1 << 40, AddressRefill: time.Hour, UserBurst: 5, UserRefill: 1 << 62},
			Config{AddressBurst: int(math.MaxInt64 / 4 / int64(time.Hour)), AddressRefill: time.Hour, UserBurst: 1, UserRefill: math.MaxInt64 / 4,
				KnownAddresses: 16, KnownFor: 24 * time.Hour, MaxTracked: 100_000}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.WithDefaults(); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
