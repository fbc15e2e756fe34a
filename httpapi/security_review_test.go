package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tokenstore/tokenstore/testcluster"
)

// Adversarial review of run-as, profiles and forward auth, on three nodes.
func TestReviewRunAsAndProfiles(t *testing.T) {
	c := testcluster.New(t, 3)
	// rv_runner may run as rv_middle only; rv_middle may create tokens and
	// run as rv_boss, who holds everything.
	putRole(t, c, "rv_runner", map[string]any{"run_as": []string{"rv_middle"}})
	putRole(t, c, "rv_middle", map[string]any{"cluster": []string{"manage_token"}, "run_as": []string{"rv_boss"}})
	runner := putUser(t, c, "rv_runner", "runner-password", "rv_runner")
	putUser(t, c, "rv_middle", "middle-password", "rv_middle")
	putUser(t, c, "rv_boss", "boss-password", "superuser")

	t.Run("a token made under run-as does not run as again", func(t *testing.T) { runAsTokenIsNoChain(t, c, runner) })
	t.Run("forward auth ignores a run-as smuggled in the credential", func(t *testing.T) { forwardAuthNoSmuggledRunAs(t, c, runner) })
	t.Run("a repeated profile uid answers once", func(t *testing.T) { profileUIDsAnswerOnce(t, c) })
}

// runAsTokenIsNoChain: Elasticsearch refuses chained run-as, and a token
// made under run-as keeps its run-as authentication, so it cannot run as
// anyone. Before the fix the token was a plain token of rv_middle: it ran
// as rv_boss, a superuser rv_runner was never given.
func runAsTokenIsNoChain(t *testing.T, c *testcluster.Cluster, runner string) {
	r := runAsDo(t, c, 0, http.MethodPost, "/_security/oauth2/token", runner, "rv_middle", map[string]any{"grant_type": "client_credentials"})
	token, _ := r.JSON()["access_token"].(string)
	if r.Status != 200 || token == "" {
		t.Fatalf("client_credentials as rv_middle: %d %s", r.Status, r.Body)
	}
	for i := range 3 {
		if r := c.Do(i, http.MethodGet, "/_security/_authenticate", "Bearer "+token, nil); r.Status != 200 || r.JSON()["username"] != "rv_middle" {
			t.Fatalf("node %d: the token authenticates rv_middle: %d %s", i, r.Status, r.Body)
		}
		r := runAsDo(t, c, i, http.MethodGet, "/_security/_authenticate", "Bearer "+token, "rv_boss", nil)
		if r.Status != 403 || r.JSON()["username"] == "rv_boss" {
			t.Fatalf("node %d: the token ran as rv_boss: %d %s", i, r.Status, r.Body)
		}
	}
	// rv_middle's own token still runs as rv_boss, as Elasticsearch's does.
	r = c.Do(1, http.MethodPost, "/_security/oauth2/token", testcluster.Basic("rv_middle", "middle-password"), map[string]any{"grant_type": "client_credentials"})
	own, _ := r.JSON()["access_token"].(string)
	if r := runAsDo(t, c, 2, http.MethodGet, "/_security/_authenticate", "Bearer "+own, "rv_boss", nil); r.Status != 200 || r.JSON()["username"] != "rv_boss" {
		t.Fatalf("rv_middle's own token as rv_boss: %d %s", r.Status, r.Body)
	}
}

// forwardAuthNoSmuggledRunAs: forward auth ignores run-as (SECURITY.md),
// and the separator nodes use to carry a run-as between them is no
// credential a client may send. Before the fix a tab and "run-as:" after
// the credential made forward auth answer for the run-as user.
func forwardAuthNoSmuggledRunAs(t *testing.T, c *testcluster.Cluster, runner string) {
	for i := range 3 {
		req, _ := http.NewRequest(http.MethodGet, c.URL(i)+"/_tokenstore/forward_auth", nil)
		req.Header.Set("Authorization", runner+"\trun-as:rv_middle")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if user := resp.Header.Get("X-Auth-User"); resp.StatusCode != 401 || user != "" {
			t.Fatalf("node %d: %d as [%s]", i, resp.StatusCode, user)
		}
	}
}

// profileUIDsAnswerOnce: a uid named many times is answered once. Before
// the fix each copy repeated the profile's labels and data (up to 1 MiB),
// so 10,000 copies of one uid made an answer of up to 10 GiB.
func profileUIDsAnswerOnce(t *testing.T, c *testcluster.Cluster) {
	r := c.Do(0, http.MethodPost, "/_security/profile/_activate", testcluster.Elastic,
		map[string]any{"grant_type": "password", "username": "rv_middle", "password": "middle-password"})
	uid, _ := r.JSON()["uid"].(string)
	if r.Status != 200 || uid == "" {
		t.Fatalf("activate: %d %s", r.Status, r.Body)
	}
	big := strings.Repeat("x", 20_000)
	if r := c.Do(1, http.MethodPost, "/_security/profile/"+uid+"/_data", testcluster.Elastic,
		map[string]any{"labels": map[string]any{"app": big}, "data": map[string]any{"app": big}}); r.Status != 200 {
		t.Fatalf("update data: %d %s", r.Status, r.Body)
	}
	uids := strings.TrimSuffix(strings.Repeat(uid+",", 2_000), ",")
	for i := range 3 {
		r := c.Do(i, http.MethodGet, "/_security/profile/"+uids+"?data=*", testcluster.Elastic, nil)
		profiles, _ := r.JSON()["profiles"].([]any)
		if r.Status != 200 || len(profiles) != 1 || len(r.Body) > 100_000 {
			t.Fatalf("node %d: %d, %d profiles, %d bytes", i, r.Status, len(profiles), len(r.Body))
		}
	}
}
