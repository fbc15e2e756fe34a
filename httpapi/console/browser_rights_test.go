package console_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tokenstore/tokenstore/testcluster"
)

// secretNotKept: the page that shows a new key's encoded value keeps it
// nowhere else in the browser: not in local or session storage, not in
// its address (neither the encoded value nor the secret inside it).
func secretNotKept(t *testing.T, b *tab, encoded string) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(encoded)
	_, secret, ok := strings.Cut(string(raw), ":")
	if err != nil || !ok || secret == "" {
		t.Fatalf("encoded key %q is not base64 of id:secret", encoded)
	}
	var st struct {
		Local   int    `json:"local"`
		Session int    `json:"session"`
		Href    string `json:"href"`
	}
	b.eval(`({local: localStorage.length, session: sessionStorage.length, href: location.href})`, &st)
	if st.Local != 0 || st.Session != 0 {
		t.Errorf("after creating a key: %d entries in localStorage, %d in sessionStorage; want none", st.Local, st.Session)
	}
	for _, s := range []string{encoded, url.QueryEscape(encoded), secret} {
		if strings.Contains(st.Href, s) {
			t.Errorf("the address %q holds the key's secret", st.Href)
		}
	}
}

// ownKeysReader: rita reads every key (read_security) but manages only her
// own (manage_own_api_key). The list offers selection on her key alone,
// another's key page offers neither update nor invalidation, her own
// offers both, and invalidating her key from the list works.
func ownKeysReader(t *testing.T, c *testcluster.Cluster, b *tab, otherKey string) {
	t.Helper()
	rita := userWithKey(t, c, "rita", "own_keys_reader", "read_security", "manage_own_api_key", "manage_token")
	id, encoded := rita.id, rita.encoded
	base := c.URL(0)
	b.signIn(base, "rita", "rita-password")
	b.do(chromedp.Navigate(base+"/_console/api-keys"), chromedp.WaitVisible(chromedp.ID("keys")))
	if rows, picks := b.count("#keys tbody tr[data-key-id]"), b.count("input.pick"); rows < 2 || picks != 1 || !b.has(`tr[data-key-id="`+id+`"] input.pick`) {
		t.Errorf("rita's list: %d rows, %d selectable; want only rita-key selectable", rows, picks)
	}
	b.do(chromedp.Navigate(base+"/_console/api-keys/"+otherKey), chromedp.WaitVisible(chromedp.CSS("dl.facts")))
	if b.has("#update-key") || b.has("#invalidate-key") {
		t.Errorf("rita is offered to change kim's key")
	}
	b.do(chromedp.Navigate(base+"/_console/api-keys/"+id), chromedp.WaitVisible(chromedp.CSS("dl.facts")))
	if !b.has("#update-key") || !b.has("#invalidate-key") {
		t.Errorf("rita's own key: update offered %v, invalidation %v; want both", b.has("#update-key"), b.has("#invalidate-key"))
	}

	b.do(chromedp.Navigate(base+"/_console/api-keys"), chromedp.WaitVisible(chromedp.ID("keys")),
		chromedp.Click(chromedp.CSS(`tr[data-key-id="`+id+`"] input.pick`)))
	b.submit(chromedp.Click(chromedp.ID("invalidate-selected")))
	if st := b.submit(chromedp.Click(chromedp.ID("confirm"))); st != 200 || !b.has("#invalidated-count") {
		t.Errorf("rita invalidates her key: %d %q", st, b.text("main"))
	} else if got := b.text("#invalidated-count"); !strings.HasPrefix(got, "1 invalidated") {
		t.Errorf("rita's invalidation: %q", got)
	}
	if st := restAuth(c, 0, encoded); st != 401 {
		t.Errorf("rita's invalidated key answers %d, want 401", st)
	}
}

// readOnlyKey signs in with a read_security API key: no page offers it a
// create, invalidate, role save or service token form, and each of those
// posted anyway (with the session's own CSRF token) is the API's 403 and
// changes nothing. Then the key is invalidated: the next page is the
// sign-in form with the API's reason, and signing in from it works.
func readOnlyKey(t *testing.T, c *testcluster.Cluster, b *tab, other key) {
	t.Helper()
	r := c.Do(0, http.MethodPost, "/_security/api_key", testcluster.Elastic,
		map[string]any{"name": "reader", "role_descriptors": map[string]any{"ro": map[string]any{"cluster": []string{"read_security"}}}})
	if r.Status != 200 {
		t.Fatalf("reader key: %d %s", r.Status, r.Body)
	}
	readerID, encoded := r.JSON()["id"].(string), r.JSON()["encoded"].(string)
	base := c.URL(0)
	b.do(chromedp.Navigate(base+"/_console/signin"), chromedp.WaitVisible(chromedp.ID("api_key")), chromedp.SendKeys(chromedp.ID("api_key"), encoded))
	if st := b.submit(chromedp.Click(chromedp.ID("signin-key"))); st != 200 {
		t.Fatalf("sign in with the read_security key: %d", st)
	}
	offered := map[string][]string{
		"/_console/api-keys":                              {"#create-key", "input.pick", "#invalidate-selected"},
		"/_console/api-keys/" + other.id:                  {"#update-key", "#invalidate-key"},
		"/_console/roles":                                 {"#create-role"},
		"/_console/roles/my_admin_role":                   {"#edit-role", "form[action$='/delete']"},
		"/_console/service-accounts/elastic/fleet-server": {"form[action$='/tokens']", "#index-tokens form"},
		"/_console/users":                                 {"#create-user", "a[href='/_console/tokens']"},
		"/_console/users/jacknich":                        {"#toggle-user", "#delete-user"},
	}
	for path, sels := range offered {
		b.do(chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.CSS("main h1")))
		for _, sel := range sels {
			if b.has(sel) {
				t.Errorf("%s offers %s to a read_security key", path, sel)
			}
		}
	}
	b.do(chromedp.Navigate(base+"/_console/api-keys"), chromedp.WaitVisible(chromedp.ID("keys")))
	b.shot("api_keys_read_security")
	forcedWrites(t, c, b, other)

	if r := c.Do(0, http.MethodDelete, "/_security/api_key", testcluster.Elastic, map[string]any{"ids": []string{readerID}}); r.Status != 200 {
		t.Fatalf("invalidate the reader key: %d", r.Status)
	}
	if st := b.submit(chromedp.Navigate(base + "/_console/roles")); st != 401 || !b.has("#signin-password") {
		t.Fatalf("page after the session's key was invalidated: %d, want 401 and the sign-in form", st)
	}
	b.shot("signin_session_ended")
	b.do(chromedp.SendKeys(chromedp.ID("username"), "elastic"), chromedp.SendKeys(chromedp.ID("password"), testcluster.ElasticPassword))
	if st := b.submit(chromedp.Click(chromedp.ID("signin"))); st != 200 || !b.has("#user") || b.text("#user") != "elastic" {
		t.Errorf("sign in from the page of the ended session: %d, want 200 and elastic signed in", st)
		b.signIn(base, "elastic", testcluster.ElasticPassword)
	}
}

// forcedWrites posts each form the read_security key is not offered; each
// is the API's 403 and the REST API shows nothing changed.
func forcedWrites(t *testing.T, c *testcluster.Cluster, b *tab, other key) {
	t.Helper()
	for _, f := range []struct {
		path string
		form [][2]string
	}{
		{"/_console/api-keys", [][2]string{{"name", "forced-key"}}},
		{"/_console/api-keys/invalidate", [][2]string{{"id", other.id}, {"confirm", "yes"}}},
		{"/_console/roles", [][2]string{{"name", "my_admin_role"}, {"descriptor", `{"cluster": ["all"]}`}}},
		{"/_console/roles/my_admin_role", [][2]string{{"descriptor", `{"cluster": ["all"]}`}}},
		{"/_console/service-accounts/elastic/fleet-server/tokens", [][2]string{{"name", "forced-token"}}},
	} {
		if st, body := b.forcePost(f.path, f.form); st != 403 || !strings.Contains(body, "is unauthorized") {
			t.Errorf("forced POST %s: %d %.300q, want the API's 403", f.path, st, body)
		}
	}
	if st := restAuth(c, 0, other.encoded); st != 200 {
		t.Errorf("kim's key after a forced invalidation: %d, want 200", st)
	}
	if got := string(c.Do(0, http.MethodGet, "/_security/role/my_admin_role", testcluster.Elastic, nil).Body); !strings.Contains(got, `"cluster":["monitor"]`) {
		t.Errorf("my_admin_role after a forced save: %s", got)
	}
	if got := string(c.Do(0, http.MethodGet, "/_security/service/elastic/fleet-server/credential", testcluster.Elastic, nil).Body); strings.Contains(got, "forced-token") {
		t.Errorf("service token made by a forced POST: %s", got)
	}
	if got := c.Do(0, http.MethodGet, "/_security/api_key?name=forced-key", testcluster.Elastic, nil); !strings.Contains(string(got.Body), `"api_keys":[]`) {
		t.Errorf("API key made by a forced POST: %s", got.Body)
	}
}

// nodeDown kills node 2: the service account page says a node did not
// answer, since its file tokens are then missing from the list.
func nodeDown(t *testing.T, c *testcluster.Cluster, b *tab, base string) {
	t.Helper()
	c.Kill(2)
	b.poll("the service account page with node 2 down", func() bool {
		st := b.submit(chromedp.Navigate(base + "/_console/service-accounts/elastic/fleet-server"))
		return st == 200 && b.has("#file-tokens-failed")
	})
	if got := b.text("#file-tokens-failed"); !strings.HasPrefix(got, "1 of 3 nodes did not answer") {
		t.Errorf("node down notice: %q", got)
	}
	b.shot("service_account_node_down")
}
