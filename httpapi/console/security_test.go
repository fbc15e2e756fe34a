package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
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
	t.Run("names in paths", func(t *testing.T) { namesInPaths(t, c) })
	t.Run("client headers", func(t *testing.T) { clientHeaders(t, c) })
	t.Run("headers on every answer", func(t *testing.T) { headersEverywhere(t, c) })
	t.Run("disabled user", func(t *testing.T) { disabledUserSession(t, c) })
	t.Run("too many keys at once", func(t *testing.T) { tooManyKeysAtOnce(t, c) })
}

// tooManyKeysAtOnce: a forged invalidation naming thousands of ids gets a
// short 400, not a confirmation page listing them all.
func tooManyKeysAtOnce(t *testing.T, c *testcluster.Cluster) {
	b := newClient(t, c.URL(0))
	b.signIn("elastic", testcluster.ElasticPassword)
	form := url.Values{"csrf": {b.csrf("/_console/api-keys")}}
	for i := range 5000 {
		form.Add("id", strings.Repeat("x", 20)+strconv.Itoa(i))
	}
	resp, body := b.do(http.MethodPost, "/_console/api-keys/invalidate", form)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "at most 1000") || len(body) > 64<<10 {
		t.Errorf("5,000 ids: %d, %d bytes", resp.StatusCode, len(body))
	}
}

// clientHeaders: the console calls the API with the session's credential
// only; an Authorization or run-as header the browser sends is not passed
// on to act with other rights.
func clientHeaders(t *testing.T, c *testcluster.Cluster) {
	r := c.Do(0, http.MethodPost, "/_security/api_key", testcluster.Elastic,
		map[string]any{"name": "own-keys", "role_descriptors": map[string]any{"own": map[string]any{"cluster": []string{"manage_own_api_key"}}}})
	encoded, _ := r.JSON()["encoded"].(string)
	b := newClient(t, c.URL(0))
	if resp, _ := b.do(http.MethodPost, "/_console/signin", url.Values{"api_key": {encoded}, "csrf": {b.csrf("/_console/signin")}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in with the key: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, c.URL(0)+"/_console/users", nil)
	req.Header.Set("Authorization", testcluster.Elastic)
	req.Header.Set("es-security-runas-user", "elastic")
	resp, err := b.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("users page of a manage_own_api_key key sent with elastic's Authorization and run-as: got %d, want the API's 403", resp.StatusCode)
	}
}

// headersEverywhere: every console answer can be neither framed nor
// sniffed and runs no inline script: pages, errors, redirects, static
// files, a refused method.
func headersEverywhere(t *testing.T, c *testcluster.Cluster) {
	b := newClient(t, c.URL(0))
	for _, p := range []struct{ method, path string }{{"GET", "/_console"}, {"GET", "/_console/api-keys"}, {"GET", "/_console/nope"},
		{"GET", "/_console/static/console.js"}, {"GET", "/_console/static/nope.js"}, {"GET", "/_console/signout"},
		{"POST", "/_console/api-keys/invalidate"}, {"GET", "/_console/status.json"}} {
		resp, _ := b.do(p.method, p.path, url.Values{})
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s %s (%d): headers %v", p.method, p.path, resp.StatusCode, resp.Header)
		}
	}
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

// namesInPaths: a role or user name may hold '?', '#' and '%' (printable
// ASCII but '/'): the console's links and forms must name that role or
// user, not cut the name at the '?' and act on another.
func namesInPaths(t *testing.T, c *testcluster.Cluster) {
	for _, name := range []string{"ops", "ops?x", "ops%3Fx"} {
		if r := c.Do(0, http.MethodPut, "/_security/role/"+url.PathEscape(name), testcluster.Elastic,
			map[string]any{"cluster": []string{"monitor"}}); r.Status != 200 {
			t.Fatalf("put role %q: %d %s", name, r.Status, r.Body)
		}
	}
	b := newClient(t, c.URL(0))
	b.signIn("elastic", testcluster.ElasticPassword)
	_, list := b.do(http.MethodGet, "/_console/roles", nil)
	action := regexp.MustCompile(`<form method="post" action="([^"]*)" class="card" id="edit-role">`)
	for _, name := range []string{"ops?x", "ops%3Fx"} {
		link := `href="/_console/roles/` + url.PathEscape(name) + `"`
		if !strings.Contains(list, link) {
			t.Errorf("roles page: no link %s", link)
		}
		_, page := b.do(http.MethodGet, "/_console/roles/"+url.PathEscape(name), nil)
		m := action.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("role %q: no edit form in %.800s", name, page)
		}
		resp, _ := b.post(m[1], url.Values{"descriptor": {`{"cluster": ["manage_token"]}`}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("role %q: saving its form (action %q) answered %d", name, m[1], resp.StatusCode)
		}
		if got := string(c.Do(0, http.MethodGet, "/_security/role/"+url.PathEscape(name), testcluster.Elastic, nil).Body); !strings.Contains(got, "manage_token") {
			t.Errorf("role %q after its form's save: %s", name, got)
		}
	}
	if got := string(c.Do(0, http.MethodGet, "/_security/role/ops", testcluster.Elastic, nil).Body); !strings.Contains(got, `"cluster":["monitor"]`) {
		t.Errorf("role ops changed by another role's form: %s", got)
	}

	if r := c.Do(0, http.MethodPost, "/_security/user/"+url.PathEscape("ann?x"), testcluster.Elastic,
		map[string]any{"password": "ann-password-1", "roles": []string{}}); r.Status != 200 {
		t.Fatalf("put user: %d %s", r.Status, r.Body)
	}
	_, page := b.do(http.MethodGet, "/_console/users/"+url.PathEscape("ann?x"), nil)
	for _, want := range []string{`action="/_console/users/ann%3Fx/save"`, `action="/_console/users/ann%3Fx/disable"`,
		`action="/_console/users/ann%3Fx/password"`} {
		if !strings.Contains(page, want) {
			t.Errorf("user ann?x's page: no %s in %.1500s", want, page)
		}
	}
	if _, users := b.do(http.MethodGet, "/_console/users", nil); !strings.Contains(users, `href="/_console/users/ann%3Fx"`) {
		t.Errorf("users page: no link to ann?x")
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
