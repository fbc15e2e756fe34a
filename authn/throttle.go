package authn

import (
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Failed-authentication throttling. Two token buckets of failures, both
// node-local (an attacker spread over n nodes gets n budgets):
//
//   - per client network (an IPv4 address, an IPv6 /64, since one subscriber
//     usually holds a whole /64): when empty, every attempt from it is
//     refused before any credential is checked;
//   - per username, for password checks only (Basic and the password
//     grant), counted over all addresses: when empty, attempts for that user
//     are refused before the password is checked, except from a network
//     where that user's password was right within KnownFor. So guessing one
//     password is slowed across every attacker address, and the attacker
//     cannot lock the user out of the networks they already use.
//
// API keys, service tokens and access tokens are high-entropy and have no
// username bucket: a key id is public, so a per-id bucket would only let
// anyone lock a key out. A credential whose secret is right but which has
// expired or been invalidated is counted but charged to no bucket: it is no
// guess, and a proxy for many clients must not throttle itself on expiring
// tokens. Successes are never limited. The client address is the TCP peer;
// X-Forwarded-For is never trusted.
//
// An attempt takes the tokens its failure would cost right before its
// credential is checked, and gives them back unless the check fails: the
// attempts in flight hold their tokens, so however many run at once, no
// more reach a password hash than the budget allows.

// ThrottleConfig tunes failed-authentication throttling. Zero fields take
// the defaults named beside them.
type ThrottleConfig struct {
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

func (c ThrottleConfig) withDefaults() ThrottleConfig {
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

// AuthenticationStats are this node's counters since it started.
type AuthenticationStats struct {
	// Failures are credentials that were missing, malformed or refused.
	Failures uint64 `json:"failures"`
	// Throttled are attempts refused before their credential was checked.
	Throttled        uint64 `json:"throttled"`
	TrackedAddresses int    `json:"tracked_addresses"`
	TrackedUsernames int    `json:"tracked_usernames"`
	// HashVerifications are slow password hash verifications run (cached
	// ones are not); HashRejections are hashes refused because the crypto
	// pool's queue was full.
	HashVerifications uint64 `json:"hash_verifications"`
	HashRejections    uint64 `json:"hash_rejections"`
}

// AuthenticationStats reports the failed-authentication counters.
func (s *Service) AuthenticationStats() AuthenticationStats {
	t := s.throttle
	t.mu.RLock()
	defer t.mu.RUnlock()
	return AuthenticationStats{Failures: t.failures.Load(), Throttled: t.throttled.Load(),
		TrackedAddresses: len(t.addrs.m), TrackedUsernames: len(t.users.m),
		HashVerifications: s.crypto.verified.Load(), HashRejections: s.crypto.rejected.Load()}
}

// origin is where an attempt comes from, as far as throttling knows.
type origin struct {
	addr netip.Addr   // for logs; invalid when unknown
	net  netip.Prefix // what the address bucket is keyed on
	// via names an origin without a client address, for logs: a join
	// request, or a write another node forwarded.
	via string
	// exempt: a cluster member that already throttled its client by the
	// client's address, which this node does not know.
	exempt bool
}

// clientOrigin reads http.Request.RemoteAddr: host:port, or a bare host.
func clientOrigin(remoteAddr string) origin {
	var a netip.Addr
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		a = ap.Addr()
	} else if a, err = netip.ParseAddr(remoteAddr); err != nil {
		return origin{via: "unknown address"}
	}
	a = a.Unmap().WithZone("")
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return origin{addr: a, net: p}
}

// userKey names a username in the failure table: fixed-size, so an 8 KB
// name costs what a short one does. Known networks are keyed by the name
// itself: only a right password adds one, so their names are real.
type userKey [16]byte

func keyOf(name string) userKey {
	sum := sha256.Sum256([]byte(name))
	return userKey(sum[:16])
}

// attempt is one authentication as the throttle and the log see it. It
// never holds the secret.
type attempt struct {
	from      origin
	scheme    string // basic, api_key, bearer, service_token, password_grant, none, unknown
	principal string // the username, API key id or service account/token
	password  bool   // principal is a username whose password is checked
	path      string
	user      userKey // keyOf(principal), hashed on first use
	hashed    bool    // user is set
	at        int64   // when it was admitted, then reserved, on the throttle's clock
	// reserved: the tokens a failure costs were taken before the check,
	// addrHeld and userHeld of them (nanoseconds of debt), and are given
	// back unless the check fails.
	reserved           bool
	addrHeld, userHeld int64
}

func (a *attempt) setUser(name string) { a.principal, a.password = name, true }

func (a *attempt) key() userKey {
	if !a.hashed {
		a.user, a.hashed = keyOf(a.principal), true
	}
	return a.user
}

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
// then the fullest, down to 7/8 of the cap so that it runs rarely.
func (l *limiter[K]) evict(now int64) {
	for k, b := range l.m {
		if l.debt(b, now) == 0 {
			delete(l.m, k)
		}
	}
	target := min(l.max-1, l.max-l.max/8)
	if len(l.m) <= target {
		return
	}
	type entry struct {
		k    K
		debt int64
	}
	all := make([]entry, 0, len(l.m))
	for k, b := range l.m {
		all = append(all, entry{k, l.debt(b, now)})
	}
	slices.SortFunc(all, func(a, b entry) int { return cmp.Compare(a.debt, b.debt) })
	for _, e := range all[:len(all)-target] {
		delete(l.m, e.k)
	}
}

// knownSet remembers the networks each user's password was right from.
// Only a right password adds to it, so an attacker cannot flush it.
type knownSet struct {
	per, max int
	ttl      int64
	m        map[string][]knownAddr
}

type knownAddr struct {
	net  netip.Prefix
	seen int64
}

func (k *knownSet) lastSeen(u string, p netip.Prefix) (int64, bool) {
	for _, a := range k.m[u] {
		if a.net == p {
			return a.seen, true
		}
	}
	return 0, false
}

func (k *knownSet) has(u string, p netip.Prefix, now int64) bool {
	seen, ok := k.lastSeen(u, p)
	return ok && now-seen < k.ttl
}

func (k *knownSet) add(u string, p netip.Prefix, now int64) {
	list, ok := k.m[u]
	if !ok && len(k.m) >= k.max {
		k.evict(now)
	}
	for i := range list {
		if list[i].net == p {
			list[i].seen = now
			return
		}
	}
	list = slices.DeleteFunc(list, func(a knownAddr) bool { return now-a.seen >= k.ttl })
	if len(list) >= k.per {
		oldest := 0
		for i := range list {
			if list[i].seen < list[oldest].seen {
				oldest = i
			}
		}
		list = slices.Delete(list, oldest, oldest+1)
	}
	k.m[u] = append(list, knownAddr{p, now})
}

func latest(list []knownAddr) int64 {
	t := int64(math.MinInt64)
	for _, a := range list {
		t = max(t, a.seen)
	}
	return t
}

// evict drops users none of whose networks is still known, then those
// seen least recently, down to 7/8 of the cap.
func (k *knownSet) evict(now int64) {
	for u, list := range k.m {
		if now-latest(list) >= k.ttl {
			delete(k.m, u)
		}
	}
	target := min(k.max-1, k.max-k.max/8)
	if len(k.m) <= target {
		return
	}
	type entry struct {
		u    string
		seen int64
	}
	all := make([]entry, 0, len(k.m))
	for u, list := range k.m {
		all = append(all, entry{u, latest(list)})
	}
	slices.SortFunc(all, func(a, b entry) int { return cmp.Compare(a.seen, b.seen) })
	for _, e := range all[:len(all)-target] {
		delete(k.m, e.u)
	}
}

// throttle is one node's failed-authentication state.
type throttle struct {
	cfg ThrottleConfig
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

func newThrottle(cfg ThrottleConfig, now time.Time) *throttle {
	cfg = cfg.withDefaults()
	return &throttle{cfg: cfg, epoch: now,
		addrs:   newLimiter[netip.Prefix](cfg.AddressBurst, cfg.AddressRefill, cfg.MaxTracked),
		users:   newLimiter[userKey](cfg.UserBurst, cfg.UserRefill, cfg.MaxTracked),
		known:   knownSet{per: cfg.KnownAddresses, max: cfg.MaxTracked, ttl: int64(cfg.KnownFor), m: map[string][]knownAddr{}},
		refresh: int64(cfg.KnownFor / 24)}
}

func (t *throttle) clock(now time.Time) int64 { return int64(now.Sub(t.epoch)) }

// admit decides, before anything else is done for an attempt, whether it
// may be made: it only reads, so that a refused flood is cheap.
func (t *throttle) admit(a *attempt, now int64) *Error {
	if t.cfg.Disabled || a.from.exempt {
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

// reserve is admit that also takes, right before the credential is
// checked, the tokens its failure would cost: attempts in flight hold their
// tokens, so however many run at once, no more fail than the budget allows.
// What a success or an undecided check took is given back.
func (t *throttle) reserve(a *attempt, now int64) *Error {
	if t.cfg.Disabled || a.from.exempt {
		return nil
	}
	t.mu.Lock()
	wait, byUser := t.wait(a, now)
	if wait == 0 {
		a.reserved = true
		if a.from.net.IsValid() {
			a.addrHeld = t.addrs.take(a.from.net, now)
		}
		if a.password {
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
func (t *throttle) wait(a *attempt, now int64) (wait time.Duration, byUser bool) {
	known := a.from.net.IsValid()
	if known {
		wait = t.addrs.wait(a.from.net, now)
	}
	if wait == 0 && a.password && len(t.users.m) > 0 {
		if w := t.users.wait(a.key(), now); w > 0 && !(known && t.known.has(a.principal, a.from.net, now)) {
			wait, byUser = w, true
		}
	}
	return wait, byUser
}

func (t *throttle) refuse(a *attempt, wait time.Duration, byUser bool, now int64) *Error {
	t.throttled.Add(1)
	if byUser && a.from.net.IsValid() {
		// Hammering a locked user still costs the address its budget.
		t.mu.Lock()
		t.addrs.charge(a.from.net, now)
		t.mu.Unlock()
	}
	reason := "too many failed authentication attempts from this address, retry later"
	if byUser {
		reason = fmt.Sprintf("too many failed authentication attempts for user [%s], retry later", a.principal)
	}
	return &Error{Kind: Throttled, Type: "security_exception", Reason: reason, RetryAfter: wait}
}

// release gives back what reserve took; after fail kept it, nothing.
func (t *throttle) release(a *attempt, now int64) {
	if !a.reserved {
		return
	}
	a.reserved = false
	if a.addrHeld == 0 && a.userHeld == 0 {
		return
	}
	t.mu.Lock()
	t.addrs.give(a.from.net, a.addrHeld, now)
	if a.password {
		t.users.give(a.key(), a.userHeld, now)
	}
	t.mu.Unlock()
}

// fail counts a refused credential and, when charge is set, keeps the
// tokens reserved for it (or takes them, if none were); it reports which
// buckets are now empty for the first time.
func (t *throttle) fail(a *attempt, charge bool, now int64) (addrEmptied, userEmptied bool) {
	t.failures.Add(1)
	if t.cfg.Disabled || a.from.exempt || !charge {
		t.release(a, now)
		return false, false
	}
	reserved := a.reserved
	a.reserved = false
	t.mu.Lock()
	defer t.mu.Unlock()
	if a.from.net.IsValid() {
		if !reserved {
			t.addrs.take(a.from.net, now)
		}
		addrEmptied = t.addrs.emptied(a.from.net, now)
	}
	if a.password {
		if !reserved {
			t.users.take(a.key(), now)
		}
		userEmptied = t.users.emptied(a.key(), now)
	}
	return addrEmptied, userEmptied
}

// succeed gives back the reservation and remembers the network a user's
// password was right from.
func (t *throttle) succeed(a *attempt, now int64) {
	t.release(a, now)
	if t.cfg.Disabled || a.from.exempt || !a.password || !a.from.net.IsValid() {
		return
	}
	t.mu.RLock()
	seen, ok := t.known.lastSeen(a.principal, a.from.net)
	t.mu.RUnlock()
	if ok && now-seen < t.refresh {
		return
	}
	t.mu.Lock()
	t.known.add(a.principal, a.from.net, now)
	t.mu.Unlock()
}

// admit asks the throttle before a credential is checked.
func (s *Service) admit(a *attempt) error {
	a.at = s.throttle.clock(s.now())
	if err := s.throttle.admit(a, a.at); err != nil {
		// Refusals cost nothing, so an attacker can send them at line rate:
		// each is logged at Debug only; failed says once when throttling
		// starts.
		s.log.Debug("authentication throttled", a.logFields("retry_after", err.RetryAfter)...)
		return err
	}
	return nil
}

// reserve takes an admitted attempt's tokens right before its check.
func (s *Service) reserve(a *attempt) error {
	// succeeded gives back at this time: a bucket that was full is then
	// full again, and forgotten.
	a.at = s.throttle.clock(s.now())
	if err := s.throttle.reserve(a, a.at); err != nil {
		s.log.Debug("authentication throttled", a.logFields("retry_after", err.RetryAfter)...)
		return err
	}
	return nil
}

// release gives back whatever the attempt still holds: deferred after
// reserve, so that an early return keeps nothing.
func (s *Service) release(a *attempt) {
	if a.reserved {
		s.throttle.release(a, s.throttle.clock(s.now()))
	}
}

// failed counts and logs a refused credential; charge is false for a
// genuine one that has expired or been invalidated, or one that was not
// decided.
func (s *Service) failed(a *attempt, err error, charge bool) {
	addrEmptied, userEmptied := s.throttle.fail(a, charge, s.throttle.clock(s.now()))
	reason := err.Error()
	var e *Error
	if errors.As(err, &e) && e.Additional != "" {
		reason += "; " + e.Additional
	}
	s.log.Info("authentication failed", a.logFields("reason", clip(reason, 512))...)
	cfg := s.throttle.cfg
	if addrEmptied {
		s.log.Warn("too many failed authentications from this address: refusing it until its budget refills",
			"address", a.from.describe(), "network", a.from.net.String(), "burst", cfg.AddressBurst, "refill", cfg.AddressRefill)
	}
	if userEmptied {
		s.log.Warn("too many failed authentications for this user: refusing it from unknown addresses until its budget refills",
			"user", clip(a.principal, 256), "burst", cfg.UserBurst, "refill", cfg.UserRefill)
	}
}

// succeeded reuses the admission time: a success is the hot path, and a
// known network's time need not be exact (what it gives back is exact
// whatever the time).
func (s *Service) succeeded(a *attempt) { s.throttle.succeed(a, a.at) }

// apiKeySecretRight tells an expired or invalidated key, which proves its
// secret, from a guess.
func (s *Service) apiKeySecretRight(id string, secret []byte) bool {
	k, ok := s.st.APIKey(id)
	if !ok {
		return false
	}
	salt, digest := k.SaltDigest()
	return checkSSHA256(secret, salt, digest)
}

// accessTokenSecretRight is the same for an access token.
func (s *Service) accessTokenSecretRight(bearer string) bool {
	raw, ok := decodeToken(bearer)
	if !ok {
		return false
	}
	pair, ok := s.st.Token(tokenDocID(raw))
	return ok && hashMatches(raw, pair.AccessHash)
}

// logFields names the attempt for the log: never the secret, never the
// header, and attacker-sized strings clipped.
func (a *attempt) logFields(kv ...any) []any {
	f := make([]any, 0, 8+len(kv))
	f = append(f, "address", a.from.describe(), "scheme", a.scheme)
	if a.principal != "" {
		key := "user"
		switch a.scheme {
		case "api_key":
			key = "api_key_id"
		case "service_token":
			key = "service_token"
		}
		f = append(f, key, clip(a.principal, 256))
	}
	f = append(f, "path", clip(a.path, 256))
	return append(f, kv...)
}

func (o origin) describe() string {
	if o.addr.IsValid() {
		return o.addr.String()
	}
	return o.via
}

// clip shortens s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
