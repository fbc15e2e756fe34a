package throttle

import (
	"crypto/sha256"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Network is what an address's bucket is keyed on: an IPv4 address, an
// IPv6 /64.
func Network(a netip.Addr) netip.Prefix {
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// Attempt is one authentication as the throttle sees it. It never holds
// the secret.
type Attempt struct {
	// Net is the client network; invalid when unknown.
	Net netip.Prefix
	// Exempt is a cluster member that already throttled its client by the
	// client's address, which this node does not know.
	Exempt bool
	// Principal is the username, API key id or service account/token;
	// Password says it is a username whose password is checked.
	Principal string
	Password  bool
	user      userKey // keyOf(Principal), hashed on first use
	hashed    bool    // user is set
	// reserved: the tokens a failure costs were taken before the check,
	// addrHeld and userHeld of them (nanoseconds of debt), and are given
	// back unless the check fails.
	reserved           bool
	addrHeld, userHeld int64
}

// SetUser makes the attempt a password check for a username.
func (a *Attempt) SetUser(name string) { a.Principal, a.Password = name, true }

// Reserved reports whether the attempt holds tokens that Release gives back.
func (a *Attempt) Reserved() bool { return a.reserved }

// userKey names a username in the failure table: fixed-size, so an 8 KB
// name costs what a short one does. Known networks are keyed by the name
// itself: only a right password adds one, so their names are real.
type userKey [16]byte

func keyOf(name string) userKey {
	sum := sha256.Sum256([]byte(name))
	return userKey(sum[:16])
}

func (a *Attempt) key() userKey {
	if !a.hashed {
		a.user, a.hashed = keyOf(a.Principal), true
	}
	return a.user
}

// Refusal is an attempt refused before its credential is checked: Wait
// says when to come back, ByUser that the username's bucket is empty (else
// the network's).
type Refusal struct {
	Wait   time.Duration
	ByUser bool
}

// Stats are the throttle's counters and table sizes.
type Stats struct {
	Failures, Throttled                uint64
	TrackedAddresses, TrackedUsernames int
}

// Throttle is one node's failed-authentication state.
type Throttle struct {
	cfg Config
	// epoch starts the throttle's clock: durations since it use the
	// monotonic reading when the clock has one, so a wall-clock step
	// neither lengthens nor ends a lockout.
	epoch time.Time
	mu    sync.RWMutex
	addrs limiter[netip.Prefix]
	users limiter[userKey]
	known knownSet
	// refresh is how stale a known network's time may get before a success
	// rewrites it: most successes then need no more than the reservation's
	// lock.
	refresh             int64
	failures, throttled atomic.Uint64
}

// New is a throttle whose clock starts at now.
func New(cfg Config, now time.Time) *Throttle {
	cfg = cfg.WithDefaults()
	return &Throttle{cfg: cfg, epoch: now,
		addrs:   newLimiter[netip.Prefix](cfg.AddressBurst, cfg.AddressRefill, cfg.MaxTracked),
		users:   newLimiter[userKey](cfg.UserBurst, cfg.UserRefill, cfg.MaxTracked),
		known:   knownSet{per: cfg.KnownAddresses, max: cfg.MaxTracked, ttl: int64(cfg.KnownFor), m: map[string][]knownAddr{}},
		refresh: int64(cfg.KnownFor / 24)}
}

// Config is the configuration in force, defaults filled in.
func (t *Throttle) Config() Config { return t.cfg }

// Clock is a time on the throttle's clock, which every other method takes.
func (t *Throttle) Clock(now time.Time) int64 { return int64(now.Sub(t.epoch)) }

// Stats reports the counters and how many networks and usernames are tracked.
func (t *Throttle) Stats() Stats {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return Stats{Failures: t.failures.Load(), Throttled: t.throttled.Load(),
		TrackedAddresses: len(t.addrs.m), TrackedUsernames: len(t.users.m)}
}

// Admit decides, before anything else is done for an attempt, whether it
// may be made: it only reads, so that a refused flood is cheap.
func (t *Throttle) Admit(a *Attempt, now int64) *Refusal {
	if t.cfg.Disabled || a.Exempt {
		return nil
	}
	t.mu.RLock()
	wait, byUser := t.wait(a, now)
	t.mu.RUnlock()
	if wait == 0 {
		return nil
	}
	return t.refuse(a, wait, byUser, now)
}

// Reserve is Admit that also takes, right before the credential is
// checked, the tokens its failure would cost: attempts in flight hold their
// tokens, so however many run at once, no more fail than the budget allows.
// What a success or an undecided check took is given back.
func (t *Throttle) Reserve(a *Attempt, now int64) *Refusal {
	if t.cfg.Disabled || a.Exempt {
		return nil
	}
	t.mu.Lock()
	wait, byUser := t.wait(a, now)
	if wait == 0 {
		a.reserved = true
		if a.Net.IsValid() {
			a.addrHeld = t.addrs.take(a.Net, now)
		}
		if a.Password {
			a.userHeld = t.users.take(a.key(), now)
		}
	}
	t.mu.Unlock()
	if wait == 0 {
		return nil
	}
	return t.refuse(a, wait, byUser, now)
}

// wait is how long the attempt must wait, and whether its user's bucket is
// why; the caller holds the lock.
func (t *Throttle) wait(a *Attempt, now int64) (wait time.Duration, byUser bool) {
	known := a.Net.IsValid()
	if known {
		wait = t.addrs.wait(a.Net, now)
	}
	if wait == 0 && a.Password && len(t.users.m) > 0 {
		if w := t.users.wait(a.key(), now); w > 0 && !(known && t.known.has(a.Principal, a.Net, now)) {
			wait, byUser = w, true
		}
	}
	return wait, byUser
}

func (t *Throttle) refuse(a *Attempt, wait time.Duration, byUser bool, now int64) *Refusal {
	t.throttled.Add(1)
	if byUser && a.Net.IsValid() {
		// Hammering a locked user still costs the address its budget.
		t.mu.Lock()
		t.addrs.charge(a.Net, now)
		t.mu.Unlock()
	}
	return &Refusal{Wait: wait, ByUser: byUser}
}

// Release gives back what Reserve took; after Fail kept it, nothing.
func (t *Throttle) Release(a *Attempt, now int64) {
	if !a.reserved {
		return
	}
	a.reserved = false
	if a.addrHeld == 0 && a.userHeld == 0 {
		return
	}
	t.mu.Lock()
	t.addrs.give(a.Net, a.addrHeld, now)
	if a.Password {
		t.users.give(a.key(), a.userHeld, now)
	}
	t.mu.Unlock()
}

// Fail counts a refused credential and, when charge is set, keeps the
// tokens reserved for it (or takes them, if none were); it reports which
// buckets are now empty for the first time.
func (t *Throttle) Fail(a *Attempt, charge bool, now int64) (addrEmptied, userEmptied bool) {
	t.failures.Add(1)
	if t.cfg.Disabled || a.Exempt || !charge {
		t.Release(a, now)
		return false, false
	}
	reserved := a.reserved
	a.reserved = false
	t.mu.Lock()
	defer t.mu.Unlock()
	if a.Net.IsValid() {
		if !reserved {
			t.addrs.take(a.Net, now)
		}
		addrEmptied = t.addrs.emptied(a.Net, now)
	}
	if a.Password {
		if !reserved {
			t.users.take(a.key(), now)
		}
		userEmptied = t.users.emptied(a.key(), now)
	}
	return addrEmptied, userEmptied
}

// Succeed gives back the reservation and remembers the network a user's
// password was right from.
func (t *Throttle) Succeed(a *Attempt, now int64) {
	t.Release(a, now)
	if t.cfg.Disabled || a.Exempt || !a.Password || !a.Net.IsValid() {
		return
	}
	t.mu.RLock()
	seen, ok := t.known.lastSeen(a.Principal, a.Net)
	t.mu.RUnlock()
	if ok && now-seen < t.refresh {
		return
	}
	t.mu.Lock()
	t.known.add(a.Principal, a.Net, now)
	t.mu.Unlock()
}
