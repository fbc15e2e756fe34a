package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/node"
	"github.com/tokenstore/tokenstore/testcluster"
)

// Adversarial checks of the console, one cluster for all of them.
func TestConsoleSecurity(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.Options{Settings: node.Settings{"xpack.security.authc.token.timeout": "2s"}})
	t.Run("planted session cookie", func(t *testing.T) { plantedSessionCookie(t, c) })
	t.Run("disabled user", func(t *testing.T) { disabledUserSession(t, c) })
}

// plantedSessionCookie: a site that can set cookies on the console's host
// (another port of the same host, a sibling subdomain: cookies are not
// isolated by port, and SameSite sees such a site as same-site) plants a
// session id cookie it knows, with a longer path so the browser sends it
// first. The CSRF token of that id is one the attacker can get (from its
// own sign-in page): it must not let the attacker's form act in the
// victim's signed-in session.
func plantedSessionCookie(t *testing.T, c *testcluster.Cluster) {
	victim := newClient(t, c.URL(0))
	victim.signIn("elastic", testcluster.ElasticPassword)
	id, encoded := createKey(t, c, "planted-target")

	attacker := newClient(t, c.URL(0))
	token := attacker.csrf("/_console/signin")
	planted := jarValue(attacker.http.Jar.Cookies(mustURL(c.URL(0)+"/_console/")), "ts_console_session")

	form := url.Values{"id": {id}, "confirm": {"yes"}, "csrf": {token}}
	req, _ := http.NewRequest(http.MethodPost, c.URL(0)+"/_console/api-keys/invalidate", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "ts_console_session", Value: planted})
	for _, ck := range victim.http.Jar.Cookies(mustURL(c.URL(0) + "/_console/")) {
		req.AddCookie(ck)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("form with a planted session id's token: got %d, want 403", resp.StatusCode)
	}
	if st := keyStatus(t, c, 0, encoded); st != 200 {
		t.Errorf("the key answers %d after the planted-cookie form, want 200 (still valid)", st)
	}
	// The victim's own form still works.
	resp, body := victim.do(http.MethodPost, "/_console/api-keys/invalidate",
		url.Values{"id": {id}, "confirm": {"yes"}, "csrf": {victim.csrf("/_console/api-keys")}})
	if resp.StatusCode != 200 || !strings.Contains(body, "1 invalidated") {
		t.Errorf("the victim's own form: got %d %.300s", resp.StatusCode, body)
	}
}

// disabledUserSession: the console refreshes a session's token while the
// tab is used; a user disabled meanwhile must not be kept signed in by it.
func disabledUserSession(t *testing.T, c *testcluster.Cluster) {
	if r := c.Do(0, http.MethodPut, "/_security/role/token_user", testcluster.Elastic,
		map[string]any{"cluster": []string{"manage_token", "manage_own_api_key"}}); r.Status != 200 {
		t.Fatalf("put role: %d %s", r.Status, r.Body)
	}
	if r := c.Do(0, http.MethodPost, "/_security/user/bea", testcluster.Elastic,
		map[string]any{"password": "bea-password-1", "roles": []string{"token_user"}}); r.Status != 200 {
		t.Fatalf("put user: %d %s", r.Status, r.Body)
	}
	b := newClient(t, c.URL(0))
	if resp := b.signIn("bea", "bea-password-1"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("bea signs in: %d", resp.StatusCode)
	}
	if resp, _ := b.do(http.MethodGet, "/_console/api-keys", nil); resp.StatusCode != 200 {
		t.Fatalf("bea's page: %d", resp.StatusCode)
	}
	if r := c.Do(0, http.MethodPut, "/_security/user/bea/_disable", testcluster.Elastic, nil); r.Status != 200 {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	time.Sleep(1200 * time.Millisecond) // past half the token's life: the next page tries a refresh
	resp, _ := b.do(http.MethodGet, "/_console/api-keys", nil)
	if resp.StatusCode != http.StatusUnauthorized || cookieOf(resp, "ts_console_credential") != nil {
		t.Errorf("disabled bea's page: got %d with cookies %v, want 401 and no new credential", resp.StatusCode, resp.Cookies())
	}
}
