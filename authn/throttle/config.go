package throttle

import (
	"cmp"
	"math"
	"time"
)

// Config tunes failed-authentication throttling. Zero fields take
// the defaults named beside them.
type Config struct {
	// Disabled stops refusing attempts; failures are still counted and
	// logged.
	Disabled bool
	// AddressBurst failures from one client network are allowed at once,
	// and one more every AddressRefill (30 and 1s).
	AddressBurst  int
	AddressRefill time.Duration
	// UserBurst and UserRefill are the same for one username over all
	// addresses (20 and 3s).
	UserBurst  int
	UserRefill time.Duration
	// KnownAddresses networks are remembered per user after a right
	// password, each for KnownFor (16 and 24h).
	KnownAddresses int
	KnownFor       time.Duration
	// MaxTracked bounds each table: networks, usernames, users with known
	// networks (100,000 each).
	MaxTracked int
}

// WithDefaults fills in the defaults and clamps what would overflow.
func (c Config) WithDefaults() Config {
	pos := func(v, def int) int { return cmp.Or(max(v, 0), def) }
	dur := func(v, def time.Duration) time.Duration { return cmp.Or(max(v, 0), def) }
	c.AddressBurst, c.AddressRefill = pos(c.AddressBurst, 30), dur(c.AddressRefill, time.Second)
	c.UserBurst, c.UserRefill = pos(c.UserBurst, 20), dur(c.UserRefill, 3*time.Second)
	c.KnownAddresses, c.KnownFor = pos(c.KnownAddresses, 16), dur(c.KnownFor, 24*time.Hour)
	c.MaxTracked = pos(c.MaxTracked, 100_000)
	// A bucket's debt, burst*refill nanoseconds, must not overflow.
	const maxDebt = math.MaxInt64 / 4
	c.AddressRefill, c.UserRefill = min(c.AddressRefill, maxDebt), min(c.UserRefill, maxDebt)
	c.AddressBurst = int(max(min(int64(c.AddressBurst), maxDebt/int64(c.AddressRefill)), 1))
	c.UserBurst = int(max(min(int64(c.UserBurst), maxDebt/int64(c.UserRefill)), 1))
	return c
}
