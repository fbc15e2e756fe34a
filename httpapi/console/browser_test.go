package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// shotWidth and shotHeight are every screenshot's size: the window the
// console is designed for.
const shotWidth, shotHeight = 1280, 800

// screenshotDir is the folder a test's screenshots go to and stay in after
// the run: $CONSOLE_SCREENSHOTS/<test>, or else testdata/screenshots/<test>
// in this package (git ignores it). It is emptied first, so it holds this
// run's pages only.
func screenshotDir(t *testing.T) string {
	base := os.Getenv("CONSOLE_SCREENSHOTS")
	if base == "" {
		base = filepath.Join("testdata", "screenshots")
	}
	dir, err := filepath.Abs(filepath.Join(base, t.Name()))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

func newTab(t *testing.T) *tab {
	path, err := exec.LookPath(chromiumPath)
	if err != nil {
		t.Fatalf("headless Chromium is needed (make test installs Debian's chromium): %v", err)
	}
	dir := screenshotDir(t)
	// Root in a container has no user namespace for the sandbox.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("headless", "new"), chromedp.WindowSize(shotWidth, shotHeight))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &tab{t: t, ctx: ctx, dir: dir}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(shotWidth, shotHeight)); err != nil {
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

// shot saves the page as name.png, which must be a shotWidth×shotHeight PNG.
func (b *tab) shot(name string) {
	b.t.Helper()
	img, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, img, 0o644); err != nil {
		b.t.Fatal(err)
	}
	checkPNG(b.t, path)
}

// checkPNG decodes the file as a PNG of the screenshots' size.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", path, err)
	}
	if sz := img.Bounds().Size(); sz.X != shotWidth || sz.Y != shotHeight {
		t.Errorf("screenshot %s is %dx%d, want %dx%d", path, sz.X, sz.Y, shotWidth, shotHeight)
	}
}

// wantShots checks that the folder holds a screenshot of every page named,
// each a PNG of the screenshots' size.
func (b *tab) wantShots(names ...string) {
	b.t.Helper()
	for _, n := range names {
		path := filepath.Join(b.dir, n+".png")
		if _, err := os.Stat(path); err != nil {
			b.t.Errorf("no screenshot of %s: %v", n, err)
			continue
		}
		checkPNG(b.t, path)
	}
}

// count is how many elements match sel.
func (b *tab) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Nodes(chromedp.CSSAll(sel), chromedp.AtLeast(0)))
	if err != nil {
		b.t.Fatalf("query %s: %v", sel, err)
	}
	return len(n)
}

// eval runs a script in the page and decodes its (awaited) result into v.
func (b *tab) eval(script string, v any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](script, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("script: %v", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		b.t.Fatalf("script result %s: %v", raw, err)
	}
}

// forcePost sends a form the page does not offer, from the page itself,
// with the session's own CSRF token (so only the API can refuse it), and
// returns the console's status and body.
func (b *tab) forcePost(path string, form [][2]string) (int, string) {
	b.t.Helper()
	p, _ := json.Marshal(path)
	f, _ := json.Marshal(form)
	var res struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}
	b.eval(fmt.Sprintf(`(async () => {
  const body = new URLSearchParams(%s);
  body.set("csrf", document.querySelector('meta[name="csrf"]').content);
  const r = await fetch(%s, {method: "POST", body, credentials: "same-origin", redirect: "manual"});
  return {status: r.status, body: await r.text()};
})()`, f, p), &res)
	return res.Status, res.Body
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
// Elasticsearch's reason; a forged cross-site POST changes nothing; each
// page offers only what its user may do; a session that died signs in
// again from the page that says so; a node that does not answer is shown;
// a node without a leader shows its 503. Every page is photographed.
func TestConsoleInBrowser(t *testing.T) {
	c := testcluster.New(t, 3)
	seed(t, c)
	kimKey := ownKeysUser(t, c)
	b := newTab(t)
	base0 := c.URL(0)

	b.do(chromedp.Navigate(base0+"/_console/signin"), chromedp.WaitVisible(chromedp.ID("username")))
	b.shot("signin")
	if st := b.signIn(base0, "elastic", testcluster.ElasticPassword); st != 200 {
		t.Fatalf("sign in: %d", st)
	}
	b.do(chromedp.WaitVisible(chromedp.ID("nodes")))
	if nodes := b.text("#nodes tbody"); strings.Count(nodes, "node-") != 3 || !strings.Contains(nodes, "leader") {
		t.Errorf("cluster page nodes: %q", nodes)
	}
	clusterPageRefreshes(t, c, b)
	b.shot("cluster")

	keyAcrossNodes(t, c, b)
	superuserPages(t, b, base0, kimKey.id)

	signOutAndWrongPassword(t, b, base0)

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

	ownKeysReader(t, c, b, kimKey.id)
	readOnlyKey(t, c, b, kimKey)
	nodeDown(t, c, b, base0)
	noLeader(t, c, b, base0)

	b.wantShots("signin", "cluster", "api_keys", "api_key", "api_key_created", "api_keys_invalidate_confirm",
		"api_keys_invalidated", "tokens", "service_accounts", "service_account", "users", "user", "user_builtin",
		"roles", "role", "api_keys_own", "api_keys_read_security", "signin_session_ended", "service_account_node_down", "no_leader")
}

// superuserPages visits every page elastic may use, photographs each, and
// checks that the API key page offers update only on elastic's own keys.
func superuserPages(t *testing.T, b *tab, base, otherKey string) {
	t.Helper()
	for _, p := range []struct{ path, want, name string }{
		{"/_console/tokens", "#invalidate-tokens", "tokens"},
		{"/_console/service-accounts", "#service-accounts", "service_accounts"},
		{"/_console/service-accounts/elastic/fleet-server", "#index-tokens", "service_account"},
		{"/_console/users", "#users", "users"},
		{"/_console/users/jacknich", "#toggle-user", "user"},
		{"/_console/users/kibana_system", "#toggle-user", "user_builtin"},
		{"/_console/roles", "#roles", "roles"},
		{"/_console/roles/my_admin_role", "#edit-role", "role"},
	} {
		b.do(chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS("main h1")))
		if !b.has(p.want) {
			t.Errorf("%s: no %s", p.path, p.want)
		}
		b.shot(p.name)
	}
	// elastic's own key: the update form; another user's key: invalidate
	// only (the update API takes only the caller's own keys).
	b.do(chromedp.Navigate(base+"/_console/api-keys?q=grafana-read"), chromedp.Click(chromedp.CSS(`tr[data-key-name="grafana-read"] a`)),
		chromedp.WaitVisible(chromedp.CSS("dl.facts")))
	if !b.has("#update-key") || !b.has("#invalidate-key") {
		t.Errorf("elastic's own key: update offered %v, invalidation %v; want both", b.has("#update-key"), b.has("#invalidate-key"))
	}
	b.shot("api_key")
	b.do(chromedp.Navigate(base+"/_console/api-keys/"+otherKey), chromedp.WaitVisible(chromedp.CSS("dl.facts")))
	if b.has("#update-key") || !b.has("#invalidate-key") {
		t.Errorf("kim's key page for elastic: update offered %v, invalidation %v; want invalidation only (the update API takes only one's own keys)",
			b.has("#update-key"), b.has("#invalidate-key"))
	}
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
	secretNotKept(t, b, encoded)
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
	b.shot("api_keys_invalidated")
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
	return userWithKey(t, c, "kim", "own_keys", "manage_own_api_key", "manage_token")
}

// userWithKey makes user (password user+"-password") with one role of the
// cluster privileges given, and a key of their own named user+"-key".
func userWithKey(t *testing.T, c *testcluster.Cluster, user, role string, cluster ...string) key {
	t.Helper()
	for _, r := range []testcluster.Response{
		c.Do(0, http.MethodPut, "/_security/role/"+role, testcluster.Elastic, map[string]any{"cluster": cluster}),
		c.Do(0, http.MethodPut, "/_security/user/"+user, testcluster.Elastic, map[string]any{"password": user + "-password", "roles": []string{role}}),
	} {
		if r.Status != 200 {
			t.Fatalf("set up %s: %d %s", user, r.Status, r.Body)
		}
	}
	r := c.Do(0, http.MethodPost, "/_security/api_key", testcluster.Basic(user, user+"-password"), map[string]any{"name": user + "-key"})
	if r.Status != 200 {
		t.Fatalf("%s's key: %d %s", user, r.Status, r.Body)
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
	b.poll("node 0 without a leader", func() bool {
		if b.submit(chromedp.Navigate(base+"/_console/api-keys")) != 503 {
			return false
		}
		if got := b.text("#error"); !strings.Contains(got, "503") || len(got) < 20 {
			t.Errorf("503 page: %q, want the status and its reason", got)
		}
		b.shot("no_leader")
		return true
	})
}

// poll runs try every half second until it reports done, for 30 seconds.
func (b *tab) poll(what string, try func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !try() {
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: not after 30 s", what)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// clusterPageRefreshes: the cluster page gives every node an applied
// index, counts API keys as the state holds them, and shows a key created
// meanwhile over REST by refreshing itself, with no navigation.
func clusterPageRefreshes(t *testing.T, c *testcluster.Cluster, b *tab) {
	t.Helper()
	var applied []string
	b.eval(`[...document.querySelectorAll("#nodes tbody tr")].map(r => r.cells[3].textContent.trim())`, &applied)
	for i, a := range applied {
		if n, err := strconv.ParseUint(a, 10, 64); err != nil || n == 0 {
			t.Errorf("cluster page: node row %d applied index %q", i, a)
		}
	}
	keys := func() int {
		var n string
		b.eval(`(([...document.querySelectorAll("#counts tbody tr")].find(r => r.cells[0].textContent.trim() === "api_keys") || {cells: [0, {textContent: ""}]}).cells[1].textContent.trim())`, &n)
		v, _ := strconv.Atoi(n)
		return v
	}
	before := keys()
	listed := c.Do(1, http.MethodGet, "/_security/api_key", testcluster.Elastic, nil).JSON()["api_keys"].([]any)
	if before == 0 || before != len(listed) {
		t.Errorf("cluster page counts %d API keys; GET /_security/api_key lists %d", before, len(listed))
	}
	createKey(t, c, "refresh-probe")
	b.poll("the cluster page counting the new key by itself", func() bool { return keys() == before+1 })
}
