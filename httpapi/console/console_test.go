package console_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/node"
	"github.com/tokenstore/tokenstore/testcluster"
)

// client is a browser without a browser: a cookie jar, no redirects
// followed (so each answer's cookies can be read).
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: testcluster.TestCAPool()}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(method, path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf" content="([^"]*)">`)

// csrf is the token of the page at path.
func (c *client) csrf(path string) string {
	c.t.Helper()
	_, body := c.do(http.MethodGet, path, nil)
	m := csrfMeta.FindStringSubmatch(body)
	if m == nil || m[1] == "" {
		c.t.Fatalf("no CSRF token on %s: %.300s", path, body)
	}
	return m[1]
}

func (c *client) signIn(user, password string) *http.Response {
	c.t.Helper()
	resp, _ := c.do(http.MethodPost, "/_console/signin", url.Values{"username": {user}, "password": {password}, "csrf": {c.csrf("/_console/signin")}})
	return resp
}

func cookieOf(resp *http.Response, name string) *http.Cookie {
	for _, ck := range resp.Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

func createKey(t *testing.T, c *testcluster.Cluster, name string) (id, encoded string) {
	t.Helper()
	r := c.Do(0, http.MethodPost, "/_security/api_key", testcluster.Elastic, map[string]any{"name": name})
	if r.Status != 200 {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	return r.JSON()["id"].(string), r.JSON()["encoded"].(string)
}

func keyStatus(t *testing.T, c *testcluster.Cluster, i int, encoded string) int {
	t.Helper()
	return c.Do(i, http.MethodGet, "/_security/_authenticate", "ApiKey "+encoded, nil).Status
}

// The console's answers carry the safety headers, its cookies are HttpOnly,
// SameSite=Strict and (under TLS) Secure, and a state-changing form without
// the session's CSRF token changes nothing.
// Three nodes: a session works on every node, so sign-out is checked on each.
func TestConsoleHeadersCookiesAndCSRF(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{TLS: true, Settings: node.Settings{"xpack.security.authc.token.timeout": "2s"}})
	b := newClient(t, c.URL(0))

	resp, _ := b.do(http.MethodGet, "/_console/signin", nil)
	for h, want := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s: got %q, want %q", h, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy: got %q", csp)
	}

	// Wrong password shows the reason.
	{
		resp, body := b.do(http.MethodPost, "/_console/signin", url.Values{"username": {"elastic"}, "password": {"nope"}, "csrf": {b.csrf("/_console/signin")}})
		if resp.StatusCode != 401 || !strings.Contains(body, "unable to authenticate user [elastic]") {
			t.Errorf("got %d %.500s, want 401 with Elasticsearch's reason", resp.StatusCode, body)
		}
	}
	// Sign-in without the form token is refused.
	{
		resp, _ := b.do(http.MethodPost, "/_console/signin", url.Values{"username": {"elastic"}, "password": {testcluster.ElasticPassword}})
		if resp.StatusCode != 403 || cookieOf(resp, "ts_console_credential") != nil {
			t.Errorf("got %d with cookies %v, want 403 and no credential", resp.StatusCode, resp.Cookies())
		}
	}

	resp = b.signIn("elastic", testcluster.ElasticPassword)
	cred := cookieOf(resp, "ts_console_credential")
	if resp.StatusCode != http.StatusSeeOther || cred == nil {
		t.Fatalf("sign in: got %d %v", resp.StatusCode, resp.Cookies())
	}
	for _, name := range []string{"ts_console_credential", "ts_console_refresh", "ts_console_session"} {
		ck := cookieOf(resp, name)
		if ck == nil || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/_console" {
			t.Errorf("cookie %s: got %+v, want HttpOnly, Secure, SameSite=Strict, Path=/_console", name, ck)
		}
	}

	csrfRefusal(t, c, b)

	tokenRefresh(t, c, b)

	signOut(t, c, b)
}

func csrfRefusal(t *testing.T, c *testcluster.Cluster, b *client) {
	id, encoded := createKey(t, c, "csrf-target")
	other := newClient(t, c.URL(0))
	other.signIn("elastic", testcluster.ElasticPassword)
	for what, token := range map[string]string{"none": "", "another session's": other.csrf("/_console/api-keys")} {
		form := url.Values{"id": {id}, "confirm": {"yes"}}
		if token != "" {
			form.Set("csrf", token)
		}
		if resp, _ := b.do(http.MethodPost, "/_console/api-keys/invalidate", form); resp.StatusCode != 403 {
			t.Errorf("%s token: got %d, want 403", what, resp.StatusCode)
		}
		if st := keyStatus(t, c, 0, encoded); st != 200 {
			t.Errorf("%s token: the key answers %d, want 200 (still valid)", what, st)
		}
	}
	form := url.Values{"id": {id}, "confirm": {"yes"}, "csrf": {b.csrf("/_console/api-keys")}}
	if resp, body := b.do(http.MethodPost, "/_console/api-keys/invalidate", form); resp.StatusCode != 200 || !strings.Contains(body, "1 invalidated") {
		t.Errorf("with the token: got %d %.300s", resp.StatusCode, body)
	}
	if st := keyStatus(t, c, 0, encoded); st != 401 {
		t.Errorf("after invalidation the key answers %d, want 401", st)
	}
}

func tokenRefresh(t *testing.T, c *testcluster.Cluster, b *client) {
	// Past half the token's life, a page's own background request does not
	// refresh it (an idle tab is not use); the next request of the user does.
	fresh := newClient(t, c.URL(0))
	fresh.signIn("elastic", testcluster.ElasticPassword)
	time.Sleep(1200 * time.Millisecond)
	req, _ := http.NewRequest(http.MethodGet, c.URL(0)+"/_console/cluster", nil)
	req.Header.Set("X-Console-Background", "1")
	resp, err := fresh.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || cookieOf(resp, "ts_console_credential") != nil {
		t.Errorf("background request past half-life: %d, cookies %v; want 200 and no new credential", resp.StatusCode, resp.Cookies())
	}
	before := jarValue(fresh.http.Jar.Cookies(mustURL(c.URL(0)+"/_console/")), "ts_console_credential")
	if resp, _ := fresh.do(http.MethodGet, "/_console/cluster", nil); resp.StatusCode != 200 || cookieOf(resp, "ts_console_credential") == nil {
		t.Errorf("user's request past half-life: %d, cookies %v; want 200 and a new credential", resp.StatusCode, resp.Cookies())
	}
	replaced := accessOf(before)
	if st := c.Do(0, http.MethodGet, "/_security/_authenticate", "Bearer "+replaced, nil).Status; st != 401 {
		t.Errorf("the replaced access token: %d, want 401 (invalidated by the refresh)", st)
	}
	// The token lives 2 s here; a page every 200 ms for 3 s outlives it.
	first := b.http.Jar.Cookies(mustURL(c.URL(0) + "/_console/"))
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if resp, body := b.do(http.MethodGet, "/_console/api-keys", nil); resp.StatusCode != 200 {
			t.Fatalf("page while in use: %d %.300s", resp.StatusCode, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	now := b.http.Jar.Cookies(mustURL(c.URL(0) + "/_console/"))
	if jarValue(first, "ts_console_credential") == jarValue(now, "ts_console_credential") {
		t.Errorf("the credential cookie never changed")
	}
}

func signOut(t *testing.T, c *testcluster.Cluster, b *client) {
	// The page that gives the form token may refresh the pair (it lives
	// 2 s here); the cookies after it are the pair sign-out invalidates.
	csrf := b.csrf("/_console/api-keys")
	old := b.http.Jar.Cookies(mustURL(c.URL(0) + "/_console/"))
	if resp, _ := b.do(http.MethodPost, "/_console/signout", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	// A session works on every node, so sign-out must end it on every node.
	access := accessOf(jarValue(old, "ts_console_credential"))
	for i := range c.Len() {
		replay := newClient(t, c.URL(i))
		replay.http.Jar.SetCookies(mustURL(c.URL(i)+"/_console/"), old)
		if resp, _ := replay.do(http.MethodGet, "/_console/api-keys", nil); resp.StatusCode != 401 {
			t.Errorf("old session cookie after sign-out on node %d: got %d, want 401", i, resp.StatusCode)
		}
		if r := c.Do(i, http.MethodGet, "/_security/_authenticate", "Bearer "+access, nil); r.Status != 401 {
			t.Errorf("old access token over REST on node %d: got %d, want 401", i, r.Status)
		}
	}
	r := c.Do(0, http.MethodPost, "/_security/oauth2/token", testcluster.Elastic,
		map[string]string{"grant_type": "refresh_token", "refresh_token": jarValue(old, "ts_console_refresh")})
	if r.Status != 400 {
		t.Errorf("old refresh token: got %d %s, want 400 invalid_grant", r.Status, r.Body)
	}
}

// The console's page (HTML, script and style) stays under 100 KB: the
// cluster page /_console/ leads to, and each list page with rows in it.
func TestConsolePageWeight(t *testing.T) {
	c := testcluster.New(t, 1)
	for i := range 20 {
		createKey(t, c, fmt.Sprintf("weight-%d", i))
	}
	b := newClient(t, c.URL(0))
	b.signIn("elastic", testcluster.ElasticPassword)
	size := func(p string) int {
		resp, body := b.do(http.MethodGet, p, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
		return len(body)
	}
	assets := size("/_console/static/console.js") + size("/_console/static/console.css")
	for _, p := range []string{"/_console/cluster", "/_console/api-keys", "/_console/users", "/_console/roles",
		"/_console/service-accounts", "/_console/tokens"} {
		total := size(p) + assets
		if total >= 100*1024 {
			t.Errorf("page weight of %s: got %d bytes, want under 100 KB", p, total)
		}
		t.Logf("page weight of %s (page, script, style): %d bytes", p, total)
	}
}

// accessOf is the access token in a credential cookie's value
// (t.<session id>.<expiry>.<lifetime>.<access token>).
func accessOf(credential string) string {
	parts := strings.SplitN(credential, ".", 5)
	if len(parts) != 5 {
		return ""
	}
	return parts[4]
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func jarValue(cs []*http.Cookie, name string) string {
	for _, ck := range cs {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// The API keys page's search box, filters, sort and paging are the query
// API's, run on the server.
func TestConsoleAPIKeyListFilters(t *testing.T) {
	c := testcluster.New(t, 1)
	var first string
	for i := range 23 {
		id, _ := createKey(t, c, fmt.Sprintf("k-%02d", i))
		if i == 0 {
			first = id
		}
	}
	if r := c.Do(0, http.MethodDelete, "/_security/api_key", testcluster.Elastic, map[string]any{"ids": []string{first}}); r.Status != 200 {
		t.Fatalf("invalidate: %d %s", r.Status, r.Body)
	}
	b := newClient(t, c.URL(0))
	b.signIn("elastic", testcluster.ElasticPassword)
	rowName := regexp.MustCompile(`data-key-name="([^"]*)"`)
	for _, tc := range []struct {
		query    string
		rows     int
		firstRow string
		shown    string
	}{
		{"sort=name&order=asc", 20, "k-00", "1–20 of 23"},
		{"sort=name&order=asc&page=1", 3, "k-20", "21–23 of 23"},
		{"sort=name&order=desc", 20, "k-22", "1–20 of 23"},
		{"q=K-1&sort=name&order=asc", 10, "k-10", "1–10 of 10"},
		{"state=invalidated", 1, "k-00", "1–1 of 1"},
		{"state=active&sort=name&order=asc", 20, "k-01", "1–20 of 22"},
		{"created_before=2000-01-01", 0, "", ""},
		{"owner=nobody", 0, "", ""},
	} {
		resp, body := b.do(http.MethodGet, "/_console/api-keys?"+tc.query, nil)
		rows := rowName.FindAllStringSubmatch(body, -1)
		if resp.StatusCode != 200 || len(rows) != tc.rows {
			t.Errorf("%s: got %d with %d rows, want 200 with %d", tc.query, resp.StatusCode, len(rows), tc.rows)
			continue
		}
		if tc.rows > 0 && (rows[0][1] != tc.firstRow || !strings.Contains(body, tc.shown)) {
			t.Errorf("%s: first row %q, want %q, and range %q", tc.query, rows[0][1], tc.firstRow, tc.shown)
		}
	}
	// The Next and Previous links, resolved as a browser does, lead to the
	// other page of the same list.
	page := "/_console/api-keys?sort=name&order=asc"
	for _, step := range []struct{ link, shown string }{{"next", "21–23 of 23"}, {"prev", "1–20 of 23"}} {
		_, body := b.do(http.MethodGet, page, nil)
		m := regexp.MustCompile(`<a href="([^"]*)" id="` + step.link + `">`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("%s: no %s link", page, step.link)
		}
		ref, _ := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
		u := mustURL(c.URL(0) + page).ResolveReference(ref)
		page = u.RequestURI()
		if resp, body := b.do(http.MethodGet, page, nil); resp.StatusCode != 200 || !strings.Contains(body, step.shown) {
			t.Errorf("%s link %s: got %d, want %q", step.link, page, resp.StatusCode, step.shown)
		}
	}
}

// post sends a console form with the session's CSRF token.
func (c *client) post(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	form.Set("csrf", c.csrf("/_console/signin"))
	return c.do(http.MethodPost, path, form)
}

// The management forms change what the REST API then shows.
func TestConsoleManagementForms(t *testing.T) {
	c := testcluster.New(t, 1)
	b := newClient(t, c.URL(0))
	b.signIn("elastic", testcluster.ElasticPassword)
	rest := func(method, path, auth string, body any) testcluster.Response {
		return c.Do(0, method, path, auth, body)
	}
	expect := func(what string, resp *http.Response, body string, status int, contains string) {
		t.Helper()
		if resp.StatusCode != status || !strings.Contains(body, contains) {
			t.Errorf("%s: got %d %.300s, want %d containing %q", what, resp.StatusCode, body, status, contains)
		}
	}

	id, _ := createKey(t, c, "to-update")
	resp, body := b.do(http.MethodGet, "/_console/api-keys/"+id, nil)
	expect("key details", resp, body, 200, "to-update")
	resp, body = b.post("/_console/api-keys/"+id, url.Values{"metadata": {`{"env": "prod"`}})
	expect("key update with bad JSON", resp, body, 400, "not valid JSON")
	resp, body = b.post("/_console/api-keys/"+id, url.Values{"metadata": {`{"env": "prod"}`}, "role_descriptors": {`{"r": {"cluster": ["monitor"]}}`}})
	expect("key update", resp, body, http.StatusSeeOther, "")
	if got := string(rest(http.MethodGet, "/_security/api_key?id="+id, testcluster.Elastic, nil).Body); !strings.Contains(got, `"env":"prod"`) || !strings.Contains(got, `"monitor"`) {
		t.Errorf("key after update: %s", got)
	}

	resp, body = b.post("/_console/users", url.Values{"username": {"ann"}, "password": {"ann-password-1"}, "roles": {"viewer, editor"}})
	expect("create user", resp, body, http.StatusSeeOther, "")
	if got := string(rest(http.MethodGet, "/_security/user/ann", testcluster.Elastic, nil).Body); !strings.Contains(got, `"roles":["viewer","editor"]`) {
		t.Errorf("ann: %s", got)
	}
	b.post("/_console/users/ann/save", url.Values{"roles": {"viewer"}, "full_name": {"Ann Example"}})
	b.post("/_console/users/ann/disable", url.Values{})
	if got := string(rest(http.MethodGet, "/_security/user/ann", testcluster.Elastic, nil).Body); !strings.Contains(got, `"enabled":false`) || !strings.Contains(got, "Ann Example") {
		t.Errorf("ann after edit and disable: %s", got)
	}
	b.post("/_console/users/ann/enable", url.Values{})
	builtInUsers(t, c, b)
	b.post("/_console/users/ann/password", url.Values{"password": {"ann-password-2"}})
	if st := rest(http.MethodGet, "/_security/_authenticate", testcluster.Basic("ann", "ann-password-2"), nil).Status; st != 200 {
		t.Errorf("ann with the new password: %d", st)
	}

	pair := rest(http.MethodPost, "/_security/oauth2/token", testcluster.Elastic, map[string]string{"grant_type": "password", "username": "ann", "password": "ann-password-2"})
	access, _ := pair.JSON()["access_token"].(string)
	resp, body = b.post("/_console/tokens/invalidate", url.Values{"username": {"ann"}})
	expect("invalidate ann's tokens", resp, body, 200, "2 tokens invalidated")
	if st := rest(http.MethodGet, "/_security/_authenticate", "Bearer "+access, nil).Status; st != 401 {
		t.Errorf("ann's token after invalidation: %d", st)
	}
	// By realm: ann's (default_native) go, elastic's (reserved) stay.
	pair = rest(http.MethodPost, "/_security/oauth2/token", testcluster.Elastic, map[string]string{"grant_type": "password", "username": "ann", "password": "ann-password-2"})
	access, _ = pair.JSON()["access_token"].(string)
	mine := rest(http.MethodPost, "/_security/oauth2/token", testcluster.Elastic, map[string]string{"grant_type": "client_credentials"})
	elastics, _ := mine.JSON()["access_token"].(string)
	resp, body = b.post("/_console/tokens/invalidate", url.Values{"realm_name": {"default_native"}})
	expect("invalidate the default_native realm's tokens", resp, body, 200, "2 tokens invalidated")
	if st := rest(http.MethodGet, "/_security/_authenticate", "Bearer "+access, nil).Status; st != 401 {
		t.Errorf("ann's token after invalidating her realm's: %d", st)
	}
	if st := rest(http.MethodGet, "/_security/_authenticate", "Bearer "+elastics, nil).Status; st != 200 {
		t.Errorf("elastic's token after invalidating default_native's: %d", st)
	}

	resp, body = b.post("/_console/users/ann/delete", url.Values{})
	expect("delete user", resp, body, http.StatusSeeOther, "")
	if st := rest(http.MethodGet, "/_security/user/ann", testcluster.Elastic, nil).Status; st != 404 {
		t.Errorf("ann after delete: %d", st)
	}

	resp, body = b.post("/_console/roles", url.Values{"name": {"r1"}, "descriptor": {`{"cluster": ["no_such_privilege"]}`}})
	expect("role the API refuses", resp, body, 400, "no_such_privilege")
	resp, body = b.post("/_console/roles", url.Values{"name": {"r1"}, "descriptor": {`{"cluster": ["monitor"]}`}})
	expect("save role", resp, body, http.StatusSeeOther, "")
	if got := string(rest(http.MethodGet, "/_security/role/r1", testcluster.Elastic, nil).Body); !strings.Contains(got, `"cluster":["monitor"]`) {
		t.Errorf("r1: %s", got)
	}
	// A refused save of an existing role is shown on the role's own page.
	resp, body = b.post("/_console/roles/r1", url.Values{"descriptor": {`{"cluster": ["no_such_privilege"]}`}})
	expect("role page save the API refuses", resp, body, 400, "no_such_privilege")
	if !strings.Contains(body, "<h1>Role r1</h1>") || !strings.Contains(body, `id="edit-role"`) {
		t.Errorf("refused role save: not the role's page: %.500s", body)
	}
	resp, body = b.post("/_console/roles/r1", url.Values{"descriptor": {`{"cluster": ["manage_token"]}`}})
	expect("role page save", resp, body, http.StatusSeeOther, "")
	if got := string(rest(http.MethodGet, "/_security/role/r1", testcluster.Elastic, nil).Body); !strings.Contains(got, `"cluster":["manage_token"]`) {
		t.Errorf("r1 after the role page's save: %s", got)
	}
	b.post("/_console/roles/r1/delete", url.Values{})
	if st := rest(http.MethodGet, "/_security/role/r1", testcluster.Elastic, nil).Status; st != 404 {
		t.Errorf("r1 after delete: %d", st)
	}

	resp, body = b.post("/_console/service-accounts/elastic/fleet-server/tokens", url.Values{"name": {"t1"}})
	value := regexp.MustCompile(`id="service-token-value">([^<]+)<`).FindStringSubmatch(body)
	if resp.StatusCode != 200 || value == nil {
		t.Fatalf("create service token: %d %.300s", resp.StatusCode, body)
	}
	if st := rest(http.MethodGet, "/_security/_authenticate", "Bearer "+value[1], nil).Status; st != 200 {
		t.Errorf("service token over REST: %d", st)
	}
	b.post("/_console/service-accounts/elastic/fleet-server/tokens/t1/delete", url.Values{})
	if st := rest(http.MethodGet, "/_security/_authenticate", "Bearer "+value[1], nil).Status; st != 401 {
		t.Errorf("service token after delete: %d", st)
	}
}

// builtInUsers: a built-in user cannot be edited or deleted, but the API
// enables and disables it, so the console offers that; nobody is offered to
// change their own account's status, which the API refuses.
func builtInUsers(t *testing.T, c *testcluster.Cluster, b *client) {
	t.Helper()
	_, body := b.do(http.MethodGet, "/_console/users/kibana_system", nil)
	if !strings.Contains(body, `action="/_console/users/kibana_system/disable"`) || strings.Contains(body, "/kibana_system/save") ||
		strings.Contains(body, "/kibana_system/delete") {
		t.Errorf("kibana_system's page: want disable only, got %.1500s", body)
	}
	if resp, _ := b.post("/_console/users/kibana_system/disable", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("disable kibana_system: %d", resp.StatusCode)
	}
	if got := string(c.Do(0, http.MethodGet, "/_security/user/kibana_system", testcluster.Elastic, nil).Body); !strings.Contains(got, `"enabled":false`) {
		t.Errorf("kibana_system after disable: %s", got)
	}
	if _, body := b.do(http.MethodGet, "/_console/users/kibana_system", nil); !strings.Contains(body, `action="/_console/users/kibana_system/enable"`) {
		t.Errorf("disabled kibana_system's page offers no enable: %.1500s", body)
	}
	b.post("/_console/users/kibana_system/enable", url.Values{})
	if got := string(c.Do(0, http.MethodGet, "/_security/user/kibana_system", testcluster.Elastic, nil).Body); !strings.Contains(got, `"enabled":true`) {
		t.Errorf("kibana_system after enable: %s", got)
	}
	if _, body := b.do(http.MethodGet, "/_console/users/elastic", nil); strings.Contains(body, `id="toggle-user"`) {
		t.Errorf("elastic is offered to change its own status")
	}
}

// A read_security API key signs in, sees the security pages without their
// forms, and a write it sends anyway is the API's 403.
func TestConsoleReadOnlyAPIKey(t *testing.T) {
	c := testcluster.New(t, 1)
	r := c.Do(0, http.MethodPost, "/_security/api_key", testcluster.Elastic,
		map[string]any{"name": "reader", "role_descriptors": map[string]any{"ro": map[string]any{"cluster": []string{"read_security"}}}})
	encoded, _ := r.JSON()["encoded"].(string)
	b := newClient(t, c.URL(0))
	resp, _ := b.do(http.MethodPost, "/_console/signin", url.Values{"api_key": {encoded}, "csrf": {b.csrf("/_console/signin")}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in with an API key: %d", resp.StatusCode)
	}
	resp, body := b.do(http.MethodGet, "/_console/users", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "elastic") || strings.Contains(body, `id="create-user"`) || strings.Contains(body, `href="/_console/tokens"`) {
		t.Errorf("users page for read_security: %d %.500s", resp.StatusCode, body)
	}
	resp, _ = b.post("/_console/users", url.Values{"username": {"mallory"}, "password": {"mallory-password"}})
	if resp.StatusCode != 403 {
		t.Errorf("create user as read_security: %d, want the API's refusal", resp.StatusCode)
	}
	if st := c.Do(0, http.MethodGet, "/_security/user/mallory", testcluster.Elastic, nil).Status; st != 404 {
		t.Errorf("mallory exists after a refused create: %d", st)
	}
}
