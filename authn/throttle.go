package authn

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/tokenstore/tokenstore/authn/throttle"
)

// ThrottleConfig tunes failed-authentication throttling (see package throttle).
type ThrottleConfig = throttle.Config

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
	t := s.throttle.Stats()
	return AuthenticationStats{Failures: t.Failures, Throttled: t.Throttled,
		TrackedAddresses: t.TrackedAddresses, TrackedUsernames: t.TrackedUsernames,
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
	// internal: a check made for another node (a forwarded write, a
	// join), which observed its client's request itself.
	internal bool
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
	return origin{addr: a, net: throttle.Network(a)}
}

func (o origin) describe() string {
	if o.addr.IsValid() {
		return o.addr.String()
	}
	return o.via
}

// attempt is one authentication as the throttle and the log see it. It
// never holds the secret.
type attempt struct {
	throttle.Attempt
	from   origin
	scheme string // basic, api_key, bearer, service_token, password_grant, none, unknown
	path   string
	at     int64     // when it was admitted, then reserved, on the throttle's clock
	start  time.Time // the clock read that began it (s.now)
}

func newAttempt(from origin, scheme, path string, start time.Time) attempt {
	return attempt{Attempt: throttle.Attempt{Net: from.net, Exempt: from.exempt}, from: from, scheme: scheme, path: path, start: start}
}

// describe names an attempt's scheme and principal for the throttle and
// the log, before anything is checked.
func describe(cred Credential, a *attempt) {
	switch cred.Scheme {
	case NoCredential:
		a.scheme = "none"
	case BasicScheme:
		a.scheme = "basic"
		if !cred.Malformed {
			a.SetUser(cred.Principal)
		}
	case APIKeyScheme:
		a.scheme, a.Principal = "api_key", cred.Principal
	case BearerScheme:
		a.scheme = "bearer"
	default:
		a.scheme = "unknown"
	}
}

// admit asks the throttle before a credential is checked.
func (s *Service) admit(a *attempt) error {
	// The clock read that started the attempt: one read fewer per
	// authentication on the hot path.
	a.at = s.throttle.Clock(a.start)
	if r := s.throttle.Admit(&a.Attempt, a.at); r != nil {
		// Refusals cost nothing, so an attacker can send them at line rate:
		// each is logged at Debug only; failed says once when throttling
		// starts.
		return s.throttled(a, r)
	}
	return nil
}

// reserve takes an admitted attempt's tokens right before its check.
func (s *Service) reserve(a *attempt) error {
	// succeeded gives back at this time: a bucket that was full is then
	// full again, and forgotten.
	a.at = s.throttle.Clock(s.now())
	if r := s.throttle.Reserve(&a.Attempt, a.at); r != nil {
		return s.throttled(a, r)
	}
	return nil
}

// throttled is the 429 for a refused attempt.
func (s *Service) throttled(a *attempt, r *throttle.Refusal) *Error {
	s.log.Debug("authentication throttled", a.logFields("retry_after", r.Wait)...)
	reason := "too many failed authentication attempts from this address, retry later"
	if r.ByUser {
		reason = fmt.Sprintf("too many failed authentication attempts for user [%s], retry later", a.Principal)
	}
	return &Error{Kind: Throttled, Type: "security_exception", Reason: reason, RetryAfter: r.Wait}
}

// release gives back whatever the attempt still holds: deferred after
// reserve, so that an early return keeps nothing.
func (s *Service) release(a *attempt) {
	if a.Reserved() {
		s.throttle.Release(&a.Attempt, s.throttle.Clock(s.now()))
	}
}

// failed counts and logs a refused credential; charge is false for a
// genuine one that has expired or been invalidated, or one that was not
// decided.
func (s *Service) failed(a *attempt, err error, charge bool) {
	addrEmptied, userEmptied := s.throttle.Fail(&a.Attempt, charge, s.throttle.Clock(s.now()))
	reason := err.Error()
	var e *Error
	if errors.As(err, &e) && e.Additional != "" {
		reason += "; " + e.Additional
	}
	s.log.Info("authentication failed", a.logFields("reason", Clip(reason, 512))...)
	cfg := s.throttle.Config()
	if addrEmptied {
		s.log.Warn("too many failed authentications from this address: refusing it until its budget refills",
			"address", a.from.describe(), "network", a.from.net.String(), "burst", cfg.AddressBurst, "refill", cfg.AddressRefill)
	}
	if userEmptied {
		s.log.Warn("too many failed authentications for this user: refusing it from unknown addresses until its budget refills",
			"user", Clip(a.Principal, 256), "burst", cfg.UserBurst, "refill", cfg.UserRefill)
	}
}

// succeeded reuses the admission time: a success is the hot path, and a
// known network's time need not be exact (what it gives back is exact
// whatever the time).
func (s *Service) succeeded(a *attempt) { s.throttle.Succeed(&a.Attempt, a.at) }

// logFields names the attempt for the log: never the secret, never the
// header, and attacker-sized strings clipped.
func (a *attempt) logFields(kv ...any) []any {
	f := make([]any, 0, 8+len(kv))
	f = append(f, "address", a.from.describe(), "scheme", a.scheme)
	if a.Principal != "" {
		key := "user"
		switch a.scheme {
		case "api_key":
			key = "api_key_id"
		case "service_token":
			key = "service_token"
		}
		f = append(f, key, Clip(a.Principal, 256))
	}
	f = append(f, "path", Clip(a.path, 256))
	return append(f, kv...)
}
