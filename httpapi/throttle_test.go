package httpapi_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenstore/tokenstore/testcluster"
)

// Every test client is 127.0.0.1, so this runs on the default budget (30
// failures per address): each guess names a different user, so that no
// username bucket empties first.
func TestThrottleFailedAuthenticationsFromOneAddress(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.Options{LogLevel: "info"})
	const canary = "Wrong-Passw0rd-Canary-5d1e"
	if r := c.Do(0, http.MethodPut, "/_security/user/plain", testcluster.Elastic, map[string]any{"password": "plain-password-1", "roles": []string{}}); r.Status != 200 {
		t.Fatalf("put user: %d %s", r.Status, r.Body)
	}
	if r := c.Do(0, http.MethodGet, "/_tokenstore/stats", testcluster.Basic("plain", "plain-password-1"), nil); r.Status != 403 {
		t.Fatalf("stats without monitor: got %d %s, want 403", r.Status, r.Body)
	}
	r := c.Do(0, http.MethodGet, "/_tokenstore/stats", testcluster.Elastic, nil)
	before, ok := r.JSON()["authentication"].(map[string]any)
	if r.Status != 200 || !ok || before["failures"] == nil || before["throttled"] != 0.0 {
		t.Fatalf("stats: got %d %s, want 200 with authentication failures and throttled 0", r.Status, r.Body)
	}

	var last testcluster.Response
	n := 0
	for n = 1; n <= 300; n++ {
		last = c.Do(0, http.MethodGet, "/_security/_authenticate", testcluster.Basic(fmt.Sprint("intruder", n), canary), nil)
		if last.Status != http.StatusUnauthorized {
			break
		}
	}
	if last.Status != http.StatusTooManyRequests || n <= 30 {
		t.Fatalf("attempt %d: got %d %s, want 429 after at least 30 failures", n, last.Status, last.Body)
	}
	if got := last.Header.Get("Retry-After"); got != "1" {
		t.Errorf("got Retry-After %q, want \"1\" (one failure refills per second)", got)
	}
	e, _ := last.JSON()["error"].(map[string]any)
	if last.JSON()["status"] != 429.0 || e["type"] != "security_exception" ||
		!strings.Contains(fmt.Sprint(e["reason"]), "too many failed authentication attempts from this address") || e["root_cause"] == nil {
		t.Errorf("got body %s, want an Elasticsearch security_exception with status 429", last.Body)
	}
	if strings.Contains(string(last.Body), canary) {
		t.Errorf("the 429 body leaks the password: %s", last.Body)
	}

	st := c.Node(0).Authn().AuthenticationStats()
	if st.Failures-uint64(before["failures"].(float64)) < 30 || st.Throttled < 1 {
		t.Errorf("got %+v, want at least 30 more failures than %v and one throttled", st, before["failures"])
	}

	log, err := os.ReadFile(filepath.Join(c.DataDir(0), "node.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "authentication failed") || !strings.Contains(string(log), "user=intruder1 ") ||
		!strings.Contains(string(log), "address=127.0.0.1") {
		t.Errorf("the failures are not logged with user and address:\n%s", log)
	}
	header := testcluster.Basic("intruder1", canary)
	for _, secret := range []string{canary, header, strings.TrimPrefix(header, "Basic "), base64.StdEncoding.EncodeToString([]byte(canary))} {
		if strings.Contains(string(log), secret) {
			t.Errorf("node.log contains %q", secret)
		}
	}
}

// The -E settings reach the throttle: a burst of 3, and off.
func TestThrottleSettings(t *testing.T) {
	for _, tc := range []struct {
		settings map[string]string
		want429  int // attempt that gets 429; 0: none within 40
	}{
		{map[string]string{"tokenstore.authc.throttle.address.burst": "3", "tokenstore.authc.throttle.address.refill": "1h"}, 4},
		{map[string]string{"tokenstore.authc.throttle.enabled": "false"}, 0},
	} {
		c := testcluster.New(t, 1, testcluster.Options{Settings: tc.settings})
		got := 0
		for n := 1; n <= 40 && got == 0; n++ {
			r := c.Do(0, http.MethodGet, "/_security/_authenticate", testcluster.Basic(fmt.Sprint("nobody", n), "wrong-password"), nil)
			if r.Status == http.StatusTooManyRequests {
				got = n
			}
		}
		if got != tc.want429 {
			t.Errorf("%v: first 429 at attempt %d, want %d", tc.settings, got, tc.want429)
		}
	}
}
