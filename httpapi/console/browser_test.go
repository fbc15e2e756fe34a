package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/tokenstore/tokenstore/testcluster"
)

// chromiumPath is Debian's chromium, which make test installs.
const chromiumPath = "/usr/bin/chromium"

// tab is one browser tab driven by the test; every step fails the test on
// error, and shots go to dir.
type tab struct {
	t   *testing.T
	ctx context.Context
	dir string
}

func newTab(t *testing.T) *tab {
	path, err := exec.LookPath(chromiumPath)
	if err != nil {
		t.Fatalf("headless Chromium is needed (make test installs Debian's chromium): %v", err)
	}
	dir := os.Getenv("CONSOLE_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	// Root in a container has no user namespace for the sandbox.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("headless", "new"), chromedp.WindowSize(1280, 800))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &tab{t: t, ctx: ctx, dir: dir}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return b
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// submit runs steps that load a page and returns its HTTP status.
func (b *tab) submit(steps ...chromedp.Action[chromedp.Void]) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return resp.Status
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (b *tab) has(sel string) bool {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Nodes(chromedp.CSSAll(sel), chromedp.AtLeast(0)))
	if err != nil {
		b.t.Fatalf("query %s: %v", sel, err)
	}
	return len(n) > 0
}

func (b *tab) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *tab) cookies(url string) []*network.Cookie {
	b.t.Helper()
	res, err := chromedp.Run(b.ctx, func(ctx context.Context, t *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	})
	if err != nil {
		b.t.Fatalf("cookies: %v", err)
	}
	return res.Cookies
}

func (b *tab) setCookies(url string, cs []*network.Cookie) {
	b.t.Helper()
	var params []*network.CookieParam
	for _, c := range cs {
		params = append(params, &network.CookieParam{Name: c.Name, Value: c.Value, URL: url, Path: c.Path,
			HTTPOnly: c.HTTPOnly, SameSite: c.SameSite})
	}
	b.do(func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, network.SetCookies, network.SetCookiesParams{Cookies: params})
		return chromedp.Void{}, err
	})
}

func (b *tab) signIn(base, user, password string) int64 {
	b.t.Helper()
	b.do(chromedp.Navigate(base+"/_console/signin"), chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), user), chromedp.SendKeys(chromedp.ID("password"), password))
	return b.submit(chromedp.Click(chromedp.ID("signin")))
}

func restAuth(c *testcluster.Cluster, i int, encoded string) int {
	r, err := testcluster.Do(c.URL(i), http.MethodGet, "/_security/_authenticate", "ApiKey "+encoded, nil)
	if err != nil {
		return 0
	}
	return r.Status
}

// The console in a real browser against three nodes: a key made on node 0's
// console works over REST on node 2, is found and invalidated on node 1's
// console, and is then refused everywhere; sign-out kills the session;
// a manage_own_api_key user sees only their keys; a wrong password shows
// Elasticsearch's reason; a forged cross-site POST changes nothing; a node
// without a leader shows its 503.
func TestConsoleInBrowser(t *testing.T) {
	c := testcluster.New(t, 3)
	seed(t, c)
	b := newTab(t)
	base0 := c.URL(0)

	if st := b.signIn(base0, "elastic", testcluster.ElasticPassword); st != 200 {
		t.Fatalf("sign in: %d", st)
	}
	b.do(chromedp.WaitVisible(chromedp.ID("nodes")))
	if nodes := b.text("#nodes tbody"); strings.Count(nodes, "node-") != 3 || !strings.Contains(nodes, "leader") {
		t.Errorf("cluster page nodes: %q", nodes)
	}
	b.shot("cluster")

	keyAcrossNodes(t, c, b)

	for _, p := range []struct{ path, wait, name string }{
		{"/_console/tokens", "invalidate-tokens", "tokens"},
		{"/_console/service-accounts", "service-accounts", "service_accounts"},
		{"/_console/service-accounts/elastic/fleet-server", "index-tokens", "service_account"},
		{"/_console/users", "users", "users"},
		{"/_console/roles", "roles", "roles"},
	} {
		b.do(chromedp.Navigate(base0+p.path), chromedp.WaitVisible(chromedp.ID(p.wait)))
		b.shot(p.name)
	}

	signOutAndWrongPassword(t, b, base0)

	kimKey := ownKeysUser(t, c)
	b.signIn(base0, "kim", "kim-password")
	b.do(chromedp.WaitVisible(chromedp.ID("keys")))
	if page := b.text("#keys"); !strings.Contains(page, "kim-key") || strings.Contains(page, "console-key") {
		t.Errorf("kim's keys page: %q", page)
	}
	if b.has("#nav-users") || b.has("a[href='/_console/cluster']") {
		t.Errorf("kim is offered pages kim may not use")
	}
	b.shot("api_keys_own")

	forgedPost(t, b, base0, kimKey.id)
	if st := restAuth(c, 0, kimKey.encoded); st != 200 {
		t.Errorf("after the forged POST kim's key answers %d, want 200", st)
	}

	noLeader(t, c, b, base0)
}

// keyAcrossNodes creates a key on node 0's console (a JSON mistake and the
// API's own validation shown in place first), uses it over REST on node 2,
// and finds and invalidates it on node 1's console; every node then
// refuses it.
func keyAcrossNodes(t *testing.T, c *testcluster.Cluster, b *tab) {
	t.Helper()
	base0, base1 := c.URL(0), c.URL(1)
	b.do(chromedp.Navigate(base0+"/_console/api-keys"), chromedp.Click(chromedp.ID("create-key-open")),
		chromedp.WaitVisible(chromedp.ID("key-name")), chromedp.SendKeys(chromedp.ID("key-name"), "console-key"), chromedp.SetValue(chromedp.ID("key-roles"), `{"r1": {"cluster": [`))
	if st := b.submit(chromedp.Click(chromedp.ID("create-key-button"))); st != 400 || !strings.Contains(b.text("#key-roles-error"), "not valid JSON") {
		t.Errorf("bad JSON: status %d, error %q", st, b.text("#key-roles-error"))
	}
	b.do(chromedp.SetValue(chromedp.ID("key-roles"), `{"r1": {"cluster": ["no_such_privilege"]}}`))
	if st := b.submit(chromedp.Click(chromedp.ID("create-key-button"))); st != 400 || !strings.Contains(b.text("#key-api-error"), "no_such_privilege") {
		t.Errorf("refused descriptor: status %d, error %q", st, b.text("#key-api-error"))
	}
	b.do(chromedp.SetValue(chromedp.ID("key-roles"), `{"r1": {"cluster": ["monitor"]}}`),
		chromedp.SetValue(chromedp.ID("key-metadata"), `{"team": "console"}`))
	b.submit(chromedp.Click(chromedp.ID("create-key-button")))
	encoded := b.text("#encoded")
	b.shot("api_key_created")
	if st := restAuth(c, 2, encoded); st != 200 {
		t.Fatalf("the console's key over REST on node 2: %d", st)
	}

	// Node 1's console: the same session (its cookies are the session).
	b.do(chromedp.Navigate(base1+"/_console/api-keys?q=console"), chromedp.WaitVisible(chromedp.ID("keys")))
	row := `tr[data-key-name="console-key"]`
	if !b.has(row) {
		t.Fatalf("node 1's console does not list the key: %.2000s", b.text("#keys"))
	}
	b.do(chromedp.Navigate(base1+"/_console/api-keys"), chromedp.WaitVisible(chromedp.ID("keys")))
	b.shot("api_keys")
	b.do(chromedp.Click(chromedp.CSS(row + ` input.pick`)))
	b.submit(chromedp.Click(chromedp.ID("invalidate-selected")))
	b.shot("api_keys_invalidate_confirm")
	b.submit(chromedp.Click(chromedp.ID("confirm")))
	if got := b.text("#invalidated-count"); !strings.HasPrefix(got, "1 invalidated") {
		t.Errorf("invalidation answer: %q", got)
	}
	for i := 0; i < 3; i++ {
		if st := restAuth(c, i, encoded); st != 401 {
			t.Errorf("invalidated key over REST on node %d: %d, want 401", i, st)
		}
	}

}

// signOutAndWrongPassword: after sign-out the old cookies are refused, and
// a wrong password shows Elasticsearch's reason.
func signOutAndWrongPassword(t *testing.T, b *tab, base0 string) {
	t.Helper()
	// Sign out; the old cookies are refused afterwards.
	old := b.cookies(base0 + "/_console/")
	b.submit(chromedp.Click(chromedp.ID("signout")))
	b.setCookies(base0+"/_console/", old)
	if st := b.submit(chromedp.Navigate(base0 + "/_console/api-keys")); st != 401 || !b.has("#signin-password") {
		t.Errorf("old session after sign-out: status %d, want 401 and the sign-in page", st)
	}

	if st := b.signIn(base0, "elastic", "wrong-password"); st != 401 || !strings.Contains(b.text("#error"), "unable to authenticate user [elastic]") {
		t.Errorf("wrong password: status %d, error %q", st, b.text("#error"))
	}

}

// seed gives the pages (and their screenshots) something to show.
func seed(t *testing.T, c *testcluster.Cluster) {
	t.Helper()
	reqs := []struct {
		method, path string
		body         any
	}{
		{http.MethodPut, "/_security/role/my_admin_role", map[string]any{"cluster": []string{"monitor"},
			"indices": []any{map[string]any{"names": []string{"index1", "index2"}, "privileges": []string{"read"}}}}},
		{http.MethodPut, "/_security/user/jacknich", map[string]any{"password": "l0ng-r4nd0m-p@ssw0rd", "roles": []string{"my_admin_role"},
			"full_name": "Jack Nicholson", "email": "jacknich@example.com"}},
		{http.MethodPost, "/_security/api_key", map[string]any{"name": "ci-deploy", "expiration": "30d"}},
		{http.MethodPost, "/_security/api_key", map[string]any{"name": "grafana-read", "metadata": map[string]any{"team": "sre"}}},
		{http.MethodPost, "/_security/api_key", map[string]any{"name": "backup-job", "expiration": "1d"}},
		{http.MethodPost, "/_security/service/elastic/fleet-server/credential/token/fleet-1", nil},
	}
	for _, r := range reqs {
		if got := c.Do(0, r.method, r.path, testcluster.Elastic, r.body); got.Status != 200 {
			t.Fatalf("seed %s %s: %d %s", r.method, r.path, got.Status, got.Body)
		}
	}
	id, _ := createKey(t, c, "old-ingest")
	if r := c.Do(0, http.MethodDelete, "/_security/api_key", testcluster.Elastic, map[string]any{"ids": []string{id}}); r.Status != 200 {
		t.Fatalf("seed invalidation: %d", r.Status)
	}
}

type key struct{ id, encoded string }

// ownKeysUser makes kim, who may manage only their own keys (and obtain
// tokens, which a password sign-in is), with one key of their own.
func ownKeysUser(t *testing.T, c *testcluster.Cluster) key {
	t.Helper()
	for _, r := range []testcluster.Response{
		c.Do(0, http.MethodPut, "/_security/role/own_keys", testcluster.Elastic, map[string]any{"cluster": []string{"manage_own_api_key", "manage_token"}}),
		c.Do(0, http.MethodPut, "/_security/user/kim", testcluster.Elastic, map[string]any{"password": "kim-password", "roles": []string{"own_keys"}}),
	} {
		if r.Status != 200 {
			t.Fatalf("set up kim: %d %s", r.Status, r.Body)
		}
	}
	r := c.Do(0, http.MethodPost, "/_security/api_key", testcluster.Basic("kim", "kim-password"), map[string]any{"name": "kim-key"})
	if r.Status != 200 {
		t.Fatalf("kim's key: %d %s", r.Status, r.Body)
	}
	return key{r.JSON()["id"].(string), r.JSON()["encoded"].(string)}
}

// forgedPost loads a page of another origin that posts the invalidation
// form to the console without the CSRF token; the browser sends the
// session's cookies with it (the same host is the same site), and the
// console refuses it.
func forgedPost(t *testing.T, b *tab, base, id string) {
	t.Helper()
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<form method="post" action="%s/_console/api-keys/invalidate"><input name="id" value="%s"><input name="confirm" value="yes"></form>
<script>document.forms[0].submit()</script>`, base, id)
	}))
	defer evil.Close()
	b.do(chromedp.Navigate(evil.URL))
	b.do(chromedp.WaitVisible(chromedp.ID("error")))
	if got := b.text("#error"); !strings.Contains(got, "403") || !strings.Contains(got, "CSRF") {
		t.Errorf("forged POST: %q, want the 403 CSRF refusal", got)
	}
}

// noLeader stops the other two nodes: node 0's console then shows the 503
// and its reason, not an empty page.
func noLeader(t *testing.T, c *testcluster.Cluster, b *tab, base string) {
	t.Helper()
	c.Kill(1)
	c.Kill(2)
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := b.submit(chromedp.Navigate(base + "/_console/api-keys"))
		if st == 503 {
			if got := b.text("#error"); !strings.Contains(got, "503") || len(got) < 20 {
				t.Errorf("503 page: %q, want the status and its reason", got)
			}
			b.shot("no_leader")
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 0 without a leader still answers %d", st)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
