package authn

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tokenstore/tokenstore/fsm"
)

// stateProposer serves a fixed state that takes no writes; its state is as
// current as the cluster's, so a catch-up has nothing to wait for.
type stateProposer struct{ st *fsm.State }

func (p stateProposer) Propose(context.Context, []byte, string, string) (uint64, fsm.Result, error) {
	return 0, fsm.Result{}, errors.New("no leader")
}
func (p stateProposer) ProposeAsLeader([]byte) (uint64, fsm.Result, error) {
	return 0, fsm.Result{}, errors.New("no leader")
}
func (p stateProposer) CatchUp(context.Context) error               { return nil }
func (p stateProposer) Fresh() bool                                 { return true }
func (p stateProposer) WaitConfirmed(context.Context, uint64) error { return nil }
func (p stateProposer) State() *fsm.State                           { return p.st }
func (p stateProposer) IsLeader() bool                              { return false }

const (
	joePassword  = "joe-s3cret-password"
	badPassword  = "Guess-Canary-81f3"
	keySecret    = "KeySecretCanary0123456"
	deadSecret   = "DeadKeySecretCanary987"
	wrongKeySecr = "WrongKeySecretCanary55"
)

// throttleRig is a service over a state holding user joe, a live API key
// and an invalidated one, with a clock the steps move.
type throttleRig struct {
	svc *Service
	now time.Time
	log *bytes.Buffer
}

func newThrottleRig(t testing.TB, cfg ThrottleConfig, peersAuthenticated bool) *throttleRig {
	t.Helper()
	h, _ := NewHasher("bcrypt4")
	hash, err := h.Hash([]byte(joePassword))
	if err != nil {
		t.Fatal(err)
	}
	st := fsm.NewState()
	for i, p := range []fsm.Payload{
		// Bootstrapped: before it a node decides no credential (503).
		fsm.ElasticBootstrappedV1{PasswordHash: hash, ClusterID: "throttle-rig"},
		fsm.UserPutV1{User: fsm.User{Username: "joe", PasswordHash: hash, Roles: []string{"superuser"}, Enabled: true}},
		fsm.APIKeyCreatedV1{Key: fsm.APIKey{ID: "live", Name: "k", Type: "rest", Hash: hashSSHA256(keySecret), Creation: 1, Creator: fsm.Creator{Principal: "joe", Realm: "default_native"}}},
		fsm.APIKeyCreatedV1{Key: fsm.APIKey{ID: "dead", Name: "k", Type: "rest", Hash: hashSSHA256(deadSecret), Creation: 1, Creator: fsm.Creator{Principal: "joe", Realm: "default_native"}}},
		fsm.APIKeysInvalidatedV1{IDs: []string{"dead"}, Time: 2},
	} {
		if _, err := st.ApplyEvent(uint64(i+1), fsm.MustEncode(p)); err != nil {
			t.Fatal(err)
		}
	}
	r := &throttleRig{now: time.Unix(1_700_000_000, 0), log: new(bytes.Buffer)}
	r.svc, err = New(stateProposer{st}, Config{PasswordHashing: "bcrypt4", APIKeysEnabled: true, TokensEnabled: true,
		Throttle: cfg, PeersAuthenticated: peersAuthenticated, Now: func() time.Time { return r.now },
		Logger: hclog.New(&hclog.LoggerOptions{Output: r.log, Level: hclog.Debug})})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func basicHeader(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func apiKeyHeader(id, secret string) string {
	return "ApiKey " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// step is one authentication. via picks the entry point: "" the HTTP
// header, "grant" the password grant of a caller from addr, "forwarded"
// a leader's check of a forwarded write.
type step struct {
	after  time.Duration // clock advance before the step
	addr   string
	header string
	via    string
	want   int // 0 ok, 401 or 429
	// retry is the Retry-After a 429 must carry; 0 skips the check.
	retry time.Duration
}

func (r *throttleRig) run(s step) (int, time.Duration) {
	r.now = r.now.Add(s.after)
	ctx := context.Background()
	var err error
	switch s.via {
	case "grant":
		c := Caller{from: clientOrigin(s.addr)}
		user, pass, _ := strings.Cut(strings.TrimPrefix(s.header, "user "), ":")
		_, err = r.svc.authenticatePassword(ctx, c, "password_grant", user, []byte(pass), "/_security/oauth2/token")
	case "forwarded":
		_, err = r.svc.authenticate(ctx, s.header, "/_tokenstore/internal/propose", r.svc.forwarded())
	default:
		_, err = r.svc.Authenticate(ctx, s.header, "/_security/_authenticate", s.addr)
	}
	var e *Error
	switch {
	case err == nil:
		return 0, 0
	case errors.As(err, &e) && e.Kind == Unauthenticated:
		return 401, 0
	case errors.As(err, &e) && e.Kind == Throttled:
		return 429, e.RetryAfter
	}
	return -1, 0
}

func TestThrottleAuthenticate(t *testing.T) {
	joe, bad := basicHeader("joe", joePassword), basicHeader("joe", badPassword)
	stranger := func(i int) string { return basicHeader(fmt.Sprintf("nobody%d", i), badPassword) }
	const a, b, x, y = "10.0.0.1:5000", "10.0.0.2:5000", "192.0.2.7:4000", "192.0.2.8:4000"
	cases := []struct {
		name  string
		cfg   ThrottleConfig
		peers bool
		steps []step
		// failures and throttled are the counters afterwards.
		failures, throttled uint64
	}{
		{
			name: "address bucket empties and refills",
			cfg:  ThrottleConfig{AddressBurst: 3, AddressRefill: time.Second, UserBurst: 100},
			steps: []step{
				{addr: a, header: stranger(1), want: 401},
				{addr: a, header: stranger(2), want: 401},
				{addr: a, header: stranger(3), want: 401},
				{addr: a, header: stranger(4), want: 429, retry: time.Second},
				// Refused before the check, right password or not.
				{addr: a, header: joe, want: 429, retry: time.Second},
				{addr: "10.0.0.1:6000", header: apiKeyHeader("live", keySecret), want: 429},
				{addr: b, header: joe},
				{after: 400 * time.Millisecond, addr: a, header: joe, want: 429, retry: 600 * time.Millisecond},
				{after: 600 * time.Millisecond, addr: a, header: stranger(5), want: 401},
				{addr: a, header: stranger(6), want: 429},
				{after: 3 * time.Second, addr: a, header: joe},
			},
			failures: 4, throttled: 5,
		},
		{
			name: "a locked username still lets a known-good address in",
			cfg:  ThrottleConfig{AddressBurst: 100, UserBurst: 2, UserRefill: 3 * time.Second},
			steps: []step{
				{addr: a, header: joe},
				{addr: x, header: bad, want: 401},
				{addr: y, header: bad, want: 401},
				{addr: x, header: bad, want: 429, retry: 3 * time.Second},
				{addr: b, header: joe, want: 429},
				{addr: a, header: joe},
				// From a known address a wrong password is checked, not refused.
				{addr: a, header: bad, want: 401},
				{addr: a, header: joe},
				// One token back, spent by the right password from b,
				// which is known from now on.
				{after: 3 * time.Second, addr: b, header: joe},
				{addr: x, header: bad, want: 401},
				{addr: x, header: bad, want: 429},
				{addr: b, header: joe},
			},
			failures: 4, throttled: 3,
		},
		{
			name: "a known address is forgotten after KnownFor",
			cfg:  ThrottleConfig{UserBurst: 1, UserRefill: 24 * time.Hour, KnownFor: time.Hour},
			steps: []step{
				{addr: a, header: joe},
				{addr: x, header: bad, want: 401},
				{after: 59 * time.Minute, addr: a, header: joe},
				{after: 59 * time.Minute, addr: a, header: joe},
				{after: 61 * time.Minute, addr: a, header: joe, want: 429},
			},
			failures: 1, throttled: 1,
		},
		{
			name: "an IPv6 /64 is one address, an IPv4-mapped address is its IPv4 one",
			cfg:  ThrottleConfig{AddressBurst: 2, UserBurst: 100},
			steps: []step{
				{addr: "[2001:db8::1]:1", header: stranger(1), want: 401},
				{addr: "[2001:db8::ffff:2]:2", header: stranger(2), want: 401},
				{addr: "[2001:db8::3]:3", header: joe, want: 429},
				{addr: "[2001:db8:0:1::1]:1", header: joe},
				{addr: "10.1.1.1:1", header: stranger(3), want: 401},
				{addr: "[::ffff:10.1.1.1]:1", header: stranger(4), want: 401},
				{addr: "10.1.1.1:2", header: joe, want: 429},
			},
			failures: 4, throttled: 2,
		},
		{
			name: "a genuine invalidated key is counted but charged to nothing",
			cfg:  ThrottleConfig{AddressBurst: 2},
			steps: []step{
				{addr: a, header: apiKeyHeader("dead", deadSecret), want: 401},
				{addr: a, header: apiKeyHeader("dead", deadSecret), want: 401},
				{addr: a, header: apiKeyHeader("dead", deadSecret), want: 401},
				{addr: a, header: apiKeyHeader("live", keySecret)},
				{addr: a, header: apiKeyHeader("live", wrongKeySecr), want: 401},
				{addr: a, header: apiKeyHeader("dead", wrongKeySecr), want: 401},
				{addr: a, header: apiKeyHeader("live", keySecret), want: 429},
			},
			failures: 5, throttled: 1,
		},
		{
			name: "missing and malformed credentials are failures too",
			cfg:  ThrottleConfig{AddressBurst: 3},
			steps: []step{
				{addr: a, header: "", want: 401},
				{addr: a, header: "Basic %%%", want: 401},
				{addr: a, header: "Negotiate abc", want: 401},
				{addr: a, header: joe, want: 429},
			},
			failures: 3, throttled: 1,
		},
		{
			name: "the password grant shares the user's bucket and the caller's address",
			cfg:  ThrottleConfig{AddressBurst: 100, UserBurst: 2},
			steps: []step{
				{addr: a, via: "grant", header: "user joe:" + joePassword},
				{addr: x, via: "grant", header: "user joe:" + badPassword, want: 401},
				{addr: x, header: bad, want: 401},
				{addr: y, via: "grant", header: "user joe:" + joePassword, want: 429},
				{addr: a, via: "grant", header: "user joe:" + joePassword},
				{addr: a, header: joe},
			},
			failures: 2, throttled: 1,
		},
		{
			name: "without authenticated peers a forwarded password meets the username bucket",
			cfg:  ThrottleConfig{AddressBurst: 100, UserBurst: 2},
			steps: []step{
				{via: "forwarded", header: bad, want: 401},
				{via: "forwarded", header: bad, want: 401},
				{via: "forwarded", header: joe, want: 429},
				{addr: a, header: joe, want: 429},
			},
			failures: 2, throttled: 2,
		},
		{
			name:  "with authenticated peers forwarded checks are neither refused nor charged",
			cfg:   ThrottleConfig{AddressBurst: 100, UserBurst: 1},
			peers: true,
			steps: []step{
				{addr: x, header: bad, want: 401},
				{addr: y, header: joe, want: 429},
				{via: "forwarded", header: joe},
				{via: "forwarded", header: bad, want: 401},
				{via: "forwarded", header: bad, want: 401},
				{after: 3 * time.Second, addr: y, header: joe},
			},
			failures: 3, throttled: 1,
		},
		{
			name: "disabled refuses nothing and still counts",
			cfg:  ThrottleConfig{Disabled: true, AddressBurst: 1, UserBurst: 1},
			steps: []step{
				{addr: a, header: bad, want: 401},
				{addr: a, header: bad, want: 401},
				{addr: a, header: joe},
			},
			failures: 2,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newThrottleRig(t, tc.cfg, tc.peers)
			for i, s := range tc.steps {
				got, retry := r.run(s)
				if got != s.want {
					t.Fatalf("step %d (%s %s): got %d, want %d", i, s.addr, s.via, got, s.want)
				}
				if s.retry != 0 && retry != s.retry {
					t.Errorf("step %d: got Retry-After %v, want %v", i, retry, s.retry)
				}
			}
			st := r.svc.AuthenticationStats()
			if st.Failures != tc.failures || st.Throttled != tc.throttled {
				t.Errorf("got failures %d throttled %d, want %d and %d", st.Failures, st.Throttled, tc.failures, tc.throttled)
			}
			logged := r.log.String()
			for _, secret := range []string{joePassword, badPassword, keySecret, deadSecret, wrongKeySecr, bad[len("Basic "):], joe[len("Basic "):]} {
				if strings.Contains(logged, secret) {
					t.Errorf("the log contains the secret %q", secret)
				}
			}
			if tc.failures > 0 && !strings.Contains(logged, "authentication failed") {
				t.Errorf("no failure was logged:\n%s", logged)
			}
		})
	}
}

func TestThrottleLogNamesThePrincipal(t *testing.T) {
	r := newThrottleRig(t, ThrottleConfig{AddressBurst: 1}, false)
	r.run(step{addr: "10.9.8.7:1234", header: basicHeader("joe", badPassword), want: 401})
	r.run(step{addr: "10.9.8.6:1234", header: apiKeyHeader("live", wrongKeySecr), want: 401})
	logged := r.log.String()
	for _, want := range []string{"address=10.9.8.7", "scheme=basic", "user=joe", "address=10.9.8.6", "api_key_id=live",
		"too many failed authentications from this address"} {
		if !strings.Contains(logged, want) {
			t.Errorf("log lacks %q:\n%s", want, logged)
		}
	}
}

func TestThrottleStatsTracksTables(t *testing.T) {
	r := newThrottleRig(t, ThrottleConfig{MaxTracked: 5}, false)
	for i := 0; i < 20; i++ {
		r.run(step{addr: fmt.Sprintf("10.0.0.%d:1", i), header: basicHeader(fmt.Sprint("u", i), badPassword), want: 401})
	}
	st := r.svc.AuthenticationStats()
	if st.TrackedAddresses > 5 || st.TrackedUsernames > 5 || st.TrackedAddresses == 0 || st.Failures != 20 {
		t.Errorf("got %+v, want at most 5 tracked of each and 20 failures", st)
	}
}
