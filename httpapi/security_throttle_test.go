package httpapi_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/tokenstore/tokenstore/testcluster"
)

// Issue 12, finding 4: 120 wrong passwords sent at once from one address
// get no more 401s than the address budget (30), the rest 429, and no more
// than the budget reach a password hash, however the requests interleave.
// bcrypt at cost 10 makes each check slow enough that, without a
// reservation, every request would be admitted before the first failed.
func TestConcurrentWrongPasswordsStayWithinBudget(t *testing.T) {
	const n, burst = 120, 30
	c := testcluster.New(t, 1, testcluster.Options{Settings: map[string]string{
		"xpack.security.authc.password_hashing.algorithm": "bcrypt",
		"tokenstore.authc.throttle.address.refill":        "1h",
		"tokenstore.authc.throttle.username.burst":        "10000",
	}})
	putUser(t, c, "victim", "victim-password", "no_privileges")
	svc := c.Node(0).Authn()
	before := svc.AuthenticationStats()

	var wg sync.WaitGroup
	statuses := make(chan int, n)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := testcluster.Do(c.URL(0), http.MethodGet, "/_security/_authenticate", testcluster.Basic("victim", "wrong-password"), nil)
			if err != nil {
				statuses <- -1
				return
			}
			statuses <- r.Status
		}()
	}
	close(start)
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[http.StatusUnauthorized] > burst || count[http.StatusTooManyRequests] < n-burst ||
		count[http.StatusUnauthorized]+count[http.StatusTooManyRequests] != n {
		t.Errorf("got statuses %v, want at most %d×401 and the rest (at least %d) 429", count, burst, n-burst)
	}
	after := svc.AuthenticationStats()
	if v := after.HashVerifications - before.HashVerifications; v > burst {
		t.Errorf("%d password hashes verified, want at most the budget of %d", v, burst)
	}
	if after.HashRejections != before.HashRejections {
		t.Errorf("the crypto queue (1000) rejected %d hashes: the throttle, not the queue, must refuse these", after.HashRejections-before.HashRejections)
	}
}

// Successes are never limited, in a body as in a header: password grants
// whose password was verified before are not held to the address budget
// however many are in flight (they were: each reserved a failure it could
// not make, and with a budget of one, some of 640 here got 429).
func TestConcurrentCachedPasswordGrantsAreNotThrottled(t *testing.T) {
	const n, rounds = 64, 10
	c := testcluster.New(t, 1, testcluster.Options{Settings: map[string]string{
		"tokenstore.authc.throttle.address.burst":  "1",
		"tokenstore.authc.throttle.address.refill": "1h",
	}})
	putUser(t, c, "granted", "granted-password", "superuser")
	grant := `{"grant_type":"password","username":"granted","password":"granted-password"}`
	if r := c.Do(0, http.MethodPost, "/_security/oauth2/token", testcluster.Elastic, grant); r.Status != http.StatusOK {
		t.Fatalf("first grant: %d %s", r.Status, r.Body)
	}
	count := map[int]int{}
	for range rounds {
		var wg sync.WaitGroup
		var mu sync.Mutex
		start := make(chan struct{})
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				status := -1
				if r, err := testcluster.Do(c.URL(0), http.MethodPost, "/_security/oauth2/token", testcluster.Elastic, grant); err == nil {
					status = r.Status
				}
				mu.Lock()
				count[status]++
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
	}
	if count[http.StatusOK] != n*rounds {
		t.Errorf("statuses %v: want all %d grants 200", count, n*rounds)
	}
}
