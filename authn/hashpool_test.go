package authn

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/fsm"
)

// occupy holds the pool's only worker until the returned func is called.
func occupy(t *testing.T, p *hashPool) (release func()) {
	t.Helper()
	started, done := make(chan struct{}), make(chan struct{})
	go p.do(context.Background(), func() { close(started); <-done })
	<-started
	return func() { close(done) }
}

// waitQueued waits until n hashes are running or queued in the pool.
func waitQueued(p *hashPool, n int) {
	for len(p.admitted) < n {
		runtime.Gosched()
	}
}

func authErr(err error) (kind Kind, typ string) {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind, e.Type
	}
	return 0, fmt.Sprint(err)
}

// A full crypto queue answers 429 es_rejected_execution_exception, never
// 401, charges the throttle nothing, and a cached verification does not
// need the pool at all.
func TestCryptoQueueFullIsRejectedNotRefused(t *testing.T) {
	r := newThrottleRig(t, ThrottleConfig{AddressBurst: 100, UserBurst: 100}, false)
	r.svc.users = newVerifyCache[uint64](time.Hour, 100)
	const addr = "10.1.1.1:5000"
	if code, _ := r.run(step{addr: addr, header: basicHeader("joe", joePassword)}); code != 0 {
		t.Fatalf("right password: got %d, want success", code)
	}
	r.svc.crypto = newHashPool(1, 1)
	release := occupy(t, r.svc.crypto)
	go r.svc.crypto.do(context.Background(), func() {}) // fills the one queue place
	waitQueued(r.svc.crypto, 2)

	for _, h := range []string{basicHeader("joe", badPassword), basicHeader("nobody", badPassword)} {
		_, err := r.svc.Authenticate(context.Background(), h, "/_security/_authenticate", addr)
		if kind, typ := authErr(err); kind != Throttled || typ != "es_rejected_execution_exception" {
			t.Errorf("with a full queue: got %v (%v), want Throttled es_rejected_execution_exception", kind, typ)
		}
	}
	if _, err := r.svc.Authenticate(context.Background(), basicHeader("joe", joePassword), "/", addr); err != nil {
		t.Errorf("a cached verification went through the full pool: %v", err)
	}
	st := r.svc.AuthenticationStats()
	if st.HashRejections != 2 {
		t.Errorf("got %d rejections, want 2", st.HashRejections)
	}
	if st.TrackedAddresses != 0 {
		t.Error("a rejected attempt kept a throttle token")
	}
	release()
}

// A request cancelled while it waits for a turn leaves without hashing.
func TestCryptoQueueCancelledLeavesWithoutHashing(t *testing.T) {
	r := newThrottleRig(t, ThrottleConfig{}, false)
	r.svc.crypto = newHashPool(1, 10)
	release := occupy(t, r.svc.crypto)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := r.svc.Authenticate(ctx, basicHeader("joe", badPassword), "/", "10.1.1.2:5000")
		errc <- err
	}()
	waitQueued(r.svc.crypto, 2)
	cancel()
	err := <-errc
	if n := len(r.svc.crypto.admitted); n != 1 {
		t.Errorf("%d turns held, want only the occupant's: the cancelled request must leave the queue", n)
	}
	release()
	if kind, typ := authErr(err); kind != Unavailable || typ != "task_cancelled_exception" {
		t.Errorf("got %v (%v), want the cancellation", kind, typ)
	}
	if n := r.svc.AuthenticationStats().HashVerifications; n != 0 {
		t.Errorf("got %d verifications, want none: the request was cancelled while queued", n)
	}
}

// However many wrong passwords run at once, no more reach the hash than
// the address budget: each takes its token before it queues for the pool.
func TestConcurrentFailuresStayWithinBudget(t *testing.T) {
	const burst, n = 5, 20
	r := newThrottleRig(t, ThrottleConfig{AddressBurst: burst, UserBurst: 1000}, false)
	r.svc.crypto = newHashPool(1, 100)
	release := occupy(t, r.svc.crypto)
	codes := make(chan int, n)
	for i := range n {
		go func() {
			_, err := r.svc.Authenticate(context.Background(), basicHeader(fmt.Sprint("guess", i), badPassword), "/", "10.2.2.2:5000")
			switch kind, _ := authErr(err); kind {
			case Throttled:
				codes <- 429
			case Unauthenticated:
				codes <- 401
			default:
				codes <- -1
			}
		}()
	}
	// With every hash held up, all that are not within the budget must be
	// refused before they queue.
	for range n - burst {
		if code := <-codes; code != 429 {
			t.Fatalf("got %d while the pool was held, want 429", code)
		}
	}
	release()
	for range burst {
		if code := <-codes; code != 401 {
			t.Errorf("got %d, want 401", code)
		}
	}
	if v := r.svc.AuthenticationStats().HashVerifications; v != burst {
		t.Errorf("got %d hash verifications, want %d", v, burst)
	}
}

// An unknown user, a disabled one and a wrong password each cost exactly
// one verification; a cached right password none.
func TestEveryRefusalCostsOneVerification(t *testing.T) {
	r := newThrottleRig(t, ThrottleConfig{Disabled: true}, false)
	r.svc.users = newVerifyCache[uint64](time.Hour, 100)
	hash, _ := r.svc.hasher.Hash([]byte(joePassword))
	if _, err := r.svc.st.ApplyEvent(100, fsm.MustEncode(fsm.UserPutV1{User: fsm.User{Username: "off", PasswordHash: hash, Enabled: false}})); err != nil {
		t.Fatal(err)
	}
	r.run(step{header: basicHeader("joe", joePassword)})
	for _, tc := range []struct {
		name, header string
		want         uint64
	}{
		{"unknown user", basicHeader("nobody", joePassword), 1},
		{"disabled user, right password", basicHeader("off", joePassword), 1},
		{"wrong password", basicHeader("joe", badPassword), 1},
		{"cached right password", basicHeader("joe", joePassword), 0},
	} {
		before := r.svc.AuthenticationStats().HashVerifications
		r.run(step{addr: "10.3.3.3:5000", header: tc.header})
		if got := r.svc.AuthenticationStats().HashVerifications - before; got != tc.want {
			t.Errorf("%s: %d verifications, want %d", tc.name, got, tc.want)
		}
	}
}

// A stored hash above the cost limit (say, restored from an old backup) is
// never verified: the check fails at the cost of the dummy hash, and the
// log says so once.
func TestStoredHashAboveLimitIsNotVerified(t *testing.T) {
	r := newThrottleRig(t, ThrottleConfig{Disabled: true}, false)
	costly := "$2a$31$" + strings.Repeat("a", 53)
	if _, err := r.svc.st.ApplyEvent(100, fsm.MustEncode(fsm.UserPutV1{User: fsm.User{Username: "old", PasswordHash: costly, Enabled: true}})); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if code, _ := r.run(step{addr: "10.4.4.4:5000", header: basicHeader("old", badPassword)}); code != 401 {
			t.Fatalf("got %d, want 401", code)
		}
	}
	if n := r.svc.AuthenticationStats().HashVerifications; n != 3 {
		t.Errorf("got %d verifications, want 3 of the dummy hash", n)
	}
	if n := strings.Count(r.log.String(), "costs more to verify than allowed"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, r.log)
	}
}
