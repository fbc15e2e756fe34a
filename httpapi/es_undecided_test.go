package httpapi_test

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// Issue 14 acceptance: while a node cannot decide a credential (no leader
// elected, catching up after a restart) a correct credential gets a 503
// in Elasticsearch's shape, never a 401 or a 429, and never a strike
// against the client's throttle budget. The bootstrap case is
// TestFreshNodeAnswers503NotRefusalWhileStarting (cmd/tokenstore) and
// TestNoCredentialIsDecidedBeforeTheBootstrap (authn).

// undecidedBurst is the throttle's burst, by address and by username,
// with no refill during a test: every request below is sent more often
// than that, so one strike per 503 would show as a 429.
const undecidedBurst = 3

const undecidedPassword = "undecided-passw0rd"

func undecidedCluster(t *testing.T) *testcluster.Cluster {
	b := strconv.Itoa(undecidedBurst)
	return testcluster.New(t, 3, testcluster.Options{Settings: map[string]string{
		"tokenstore.authc.throttle.address.burst": b, "tokenstore.authc.throttle.username.burst": b,
		"tokenstore.authc.throttle.address.refill": "1h", "tokenstore.authc.throttle.username.refill": "1h",
		"xpack.security.authc.realms.native.default_native.cache.ttl": "20m"}})
}

// undecidedCred is one Authorization header the test expects a node to
// be unable to decide.
type undecidedCred struct{ name, auth string }

// sendEach sends each credential n times to _authenticate on base, the
// credentials side by side and each one's requests one after another (a
// strike left by one would refuse the next), and returns the answers.
func sendEach(base string, creds []undecidedCred, n int) map[string][]sweepResp {
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string][]sweepResp{}
	for _, cr := range creds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				r, err := testcluster.Do(base, http.MethodGet, "/_security/_authenticate", cr.auth, nil)
				got := sweepResp{status: r.Status, header: r.Header, body: r.Body}
				if err != nil {
					got = sweepResp{body: []byte(err.Error())}
				}
				mu.Lock()
				out[cr.name] = append(out[cr.name], got)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}

// want503Every fails unless every answer is Elasticsearch's 503.
func want503Every(t *testing.T, answers map[string][]sweepResp, n int) {
	t.Helper()
	for name, rs := range answers {
		if len(rs) != n {
			t.Fatalf("%s: %d answers, want %d", name, len(rs), n)
		}
		for i, r := range rs {
			if r.status != http.StatusServiceUnavailable {
				t.Fatalf("%s, attempt %d of %d: got %d %.300s, want 503 (never 401 or 429)", name, i+1, n, r.status, r.body)
			}
			checkESError(t, r, http.StatusServiceUnavailable)
		}
	}
}

// wantDecided waits until node i accepts every credential again.
func wantDecided(t *testing.T, c *testcluster.Cluster, i int, creds []undecidedCred) {
	t.Helper()
	for _, cr := range creds {
		c.Eventually(30*time.Second, cr.name+" accepted again on node "+strconv.Itoa(i), func() bool {
			r, err := testcluster.Do(c.URL(i), http.MethodGet, "/_security/_authenticate", cr.auth, nil)
			return err == nil && r.Status == http.StatusOK
		})
	}
}

// wantBudgetIntact spends the address's whole failure budget on node i
// with wrong passwords: each is a 401 until the burst is used up, then a
// 429. Had the 503s struck, the 401s would have come short.
func wantBudgetIntact(t *testing.T, c *testcluster.Cluster, i int, user string) {
	t.Helper()
	wrong := testcluster.Basic(user, "wrong-"+undecidedPassword)
	for n := range undecidedBurst {
		if r := c.Do(i, http.MethodGet, "/_security/_authenticate", wrong, nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d of the burst %d: %d %.300s, want 401 (the 503s cost the client its budget)", n+1, undecidedBurst, r.Status, r.Body)
		}
	}
	if r := c.Do(i, http.MethodGet, "/_security/_authenticate", wrong, nil); r.Status != http.StatusTooManyRequests {
		t.Fatalf("wrong password past the burst: %d %.300s, want 429 (is the throttle on?)", r.Status, r.Body)
	}
}

func throttled(c *testcluster.Cluster, i int) uint64 {
	return c.Node(i).Authn().AuthenticationStats().Throttled
}

// With two of three nodes stopped no leader can be elected: the survivor
// answers every correct credential with a 503, a password it verified
// before (cached), one it never saw, an API key it never verified, and
// elastic's, each more often than the throttle's burst; once the nodes
// are back the same credentials are accepted and the client's budget is
// whole.
func TestNoLeaderAnswers503NeverARefusal(t *testing.T) {
	c := undecidedCluster(t)
	leader := c.WaitForLeader(10 * time.Second)
	s := c.Followers()[0]
	putRole(t, c, "ud_role", map[string]any{"cluster": []string{"monitor"}})
	cached := putUser(t, c, "ud_cached", undecidedPassword, "ud_role")
	fresh := putUser(t, c, "ud_fresh", undecidedPassword, "ud_role")
	key := createKey(t, c, leader, testcluster.Elastic, map[string]any{"name": "ud-unseen"})
	if r := c.Do(s, http.MethodGet, "/_security/_authenticate", cached, nil); r.Status != http.StatusOK {
		t.Fatalf("ud_cached on node %d: %d %s", s, r.Status, r.Body)
	}
	st := c.Node(s).Cluster().State()
	c.Eventually(10*time.Second, "node s holds ud_fresh and the key", func() bool {
		_, u := st.User("ud_fresh")
		_, k := st.APIKey(key.ID)
		return u && k
	})
	creds := []undecidedCred{{"cached password", cached}, {"never verified password", fresh},
		{"never verified API key", keyAuth(key)}, {"elastic", testcluster.Elastic}}
	before := throttled(c, s)

	var down []int
	for i := range c.Len() {
		if i != s {
			c.Stop(i)
			down = append(down, i)
		}
	}
	survivor := c.Node(s).Cluster()
	c.Eventually(20*time.Second, "the survivor neither leads nor trusts its state", func() bool {
		return !survivor.IsLeader() && !survivor.Fresh()
	})
	want503Every(t, sendEach(c.URL(s), creds, undecidedBurst+2), undecidedBurst+2)
	if got := throttled(c, s); got != before {
		t.Fatalf("the survivor throttled %d attempts while it could not decide", got-before)
	}

	for _, i := range down {
		c.Restart(i)
	}
	c.WaitForLeader(20 * time.Second)
	wantDecided(t, c, s, creds)
	wantBudgetIntact(t, c, s, "ud_fresh")
}

// A node restarted while it cannot reach the leader has not seen the user
// and the API key created while it was down: it answers them with a 503,
// not the 401 its own state would give, then accepts them once it is back
// in contact. Its snapshot holds the bootstrap, so this is the catching
// up, not the bootstrap's 503.
func TestRestartedNodeCutOffAnswers503NotRefusal(t *testing.T) {
	c := undecidedCluster(t)
	leader := c.WaitForLeader(10 * time.Second)
	f := c.Followers()[0]
	if err := c.Node(f).Cluster().Snapshot(); err != nil {
		t.Fatal(err)
	}
	c.Stop(f)
	putRole(t, c, "ud_role", map[string]any{"cluster": []string{"monitor"}})
	late := putUser(t, c, "ud_late", undecidedPassword, "ud_role")
	key := createKey(t, c, leader, testcluster.Elastic, map[string]any{"name": "ud-late"})

	c.RestartIsolated(f)
	st := c.Node(f).Cluster().State()
	if st.ClusterID() == "" {
		t.Fatal("the restarted node has not restored the bootstrap from its snapshot")
	}
	if _, ok := st.User("ud_late"); ok {
		t.Fatal("the isolated node already holds ud_late: the case is not arranged")
	}
	if _, ok := st.APIKey(key.ID); ok {
		t.Fatal("the isolated node already holds the key: the case is not arranged")
	}
	creds := []undecidedCred{{"user created while down", late}, {"API key created while down", keyAuth(key)},
		{"elastic, in its snapshot", testcluster.Elastic}}
	want503Every(t, sendEach(c.URL(f), creds, undecidedBurst+2), undecidedBurst+2)
	if got := throttled(c, f); got != 0 {
		t.Fatalf("the restarted node throttled %d attempts while it could not decide", got)
	}

	c.Heal(f)
	wantDecided(t, c, f, creds)
	wantBudgetIntact(t, c, f, "ud_late")
}
