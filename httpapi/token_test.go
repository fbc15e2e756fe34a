package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/gettoken"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/invalidatetoken"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/accesstokengranttype"

	"github.com/tokenstore/tokenstore/testcluster"
)

type tokenPair struct{ access, refresh string }

func passwordGrant(t *testing.T, c *testcluster.Cluster, node int, user, password string) (tokenPair, map[string]any) {
	t.Helper()
	r := c.Do(node, http.MethodPost, "/_security/oauth2/token", testcluster.Elastic,
		map[string]string{"grant_type": "password", "username": user, "password": password})
	if r.Status != 200 {
		t.Fatalf("password grant on node %d: %d %s", node, r.Status, r.Body)
	}
	m := r.JSON()
	return tokenPair{m["access_token"].(string), m["refresh_token"].(string)}, m
}

func refreshGrant(c *testcluster.Cluster, node int, refresh string) testcluster.Response {
	r, _ := testcluster.Do(c.URL(node), http.MethodPost, "/_security/oauth2/token", testcluster.Elastic,
		map[string]string{"grant_type": "refresh_token", "refresh_token": refresh})
	return r
}

func bearerStatus(c *testcluster.Cluster, node int, access string) int {
	r, err := testcluster.Do(c.URL(node), http.MethodGet, "/_security/_authenticate", "Bearer "+access, nil)
	if err != nil {
		return 0
	}
	return r.Status
}

// Acceptance 1 and 2: a password grant on a follower works on every node at
// once; refresh gives a new pair; a replay within 30 s gives the same pair
// from any node, also when two clients race; after the window, an error.
func TestTokenGrantRefreshAndReplay(t *testing.T) {
	c := testcluster.New(t, 3)
	putRole(t, c, "mon", map[string]any{"cluster": []string{"monitor"}})
	putUser(t, c, "joe", "joe-password", "mon")
	f := c.Followers()[0]
	failures := 0
	var first tokenPair
	for n := 0; n < 200; n++ {
		p, m := passwordGrant(t, c, (f+n)%3, "joe", "joe-password")
		if n == 0 {
			first = p
			if m["type"] != "Bearer" || m["expires_in"] != float64(1200) || m["scope"] != nil ||
				m["authentication"].(map[string]any)["username"] != "joe" {
				t.Errorf("password grant answer: %v", m)
			}
		}
		for i := 0; i < 3; i++ {
			if st := bearerStatus(c, (f+n+1+i)%3, p.access); st != 200 {
				failures++
			}
		}
	}
	if failures > 0 {
		t.Fatalf("%d of 600 access token authentications failed", failures)
	}
	r := c.Do(0, http.MethodGet, "/_security/_authenticate", "Bearer "+first.access, nil)
	if r.JSON()["authentication_type"] != "token" || r.JSON()["username"] != "joe" {
		t.Errorf("authenticate with a token: %s", r.Body)
	}

	r1 := refreshGrant(c, 1, first.refresh)
	if r1.Status != 200 {
		t.Fatalf("refresh: %d %s", r1.Status, r1.Body)
	}
	m1 := r1.JSON()
	if m1["access_token"] == first.access || m1["refresh_token"] == first.refresh ||
		m1["authentication"].(map[string]any)["authentication_type"] != "token" {
		t.Errorf("refresh answer: %v", m1)
	}
	for node := 0; node < 3; node++ {
		r := refreshGrant(c, node, first.refresh)
		if r.Status != 200 || r.JSON()["access_token"] != m1["access_token"] || r.JSON()["refresh_token"] != m1["refresh_token"] {
			t.Errorf("replay within 30 s on node %d: %d %s", node, r.Status, r.Body)
		}
		if st := bearerStatus(c, node, m1["access_token"].(string)); st != 200 {
			t.Errorf("refreshed access token on node %d: %d", node, st)
		}
	}
	// Two clients race a fresh refresh token through different nodes.
	second, _ := passwordGrant(t, c, 0, "joe", "joe-password")
	var wg sync.WaitGroup
	answers := make([]testcluster.Response, 2)
	for k := 0; k < 2; k++ {
		wg.Add(1)
		go func() { defer wg.Done(); answers[k] = refreshGrant(c, k+1, second.refresh) }()
	}
	wg.Wait()
	if answers[0].Status != 200 || answers[1].Status != 200 ||
		answers[0].JSON()["access_token"] != answers[1].JSON()["access_token"] ||
		answers[0].JSON()["refresh_token"] != answers[1].JSON()["refresh_token"] {
		t.Errorf("racing refreshes got different answers: %s / %s", answers[0].Body, answers[1].Body)
	}
	// After the window: node 2's clock is 31 s ahead, so its replay comes
	// more than 30 s after the first use, in log order.
	c.SkewClock(2, 31*time.Second)
	r = refreshGrant(c, 2, first.refresh)
	if r.Status != 400 || r.JSON()["error"] != "invalid_grant" ||
		r.JSON()["error_description"] != "token has already been refreshed more than 30 seconds in the past" {
		t.Errorf("replay after the window: %d %s", r.Status, r.Body)
	}
}

// Acceptance 3: the token timeout setting; expiry on every node.
func TestTokenTimeoutSetting(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{Settings: map[string]string{"xpack.security.authc.token.timeout": "2s"}})
	putUser(t, c, "amy", "amy-password", "superuser")
	p, m := passwordGrant(t, c, 1, "amy", "amy-password")
	if m["expires_in"] != float64(2) {
		t.Fatalf("expires_in %v, want 2", m["expires_in"])
	}
	for i := 0; i < 3; i++ {
		if st := bearerStatus(c, i, p.access); st != 200 {
			t.Fatalf("fresh token on node %d: %d", i, st)
		}
	}
	time.Sleep(2100 * time.Millisecond)
	for i := 0; i < 3; i++ {
		r := c.Do(i, http.MethodGet, "/_security/_authenticate", "Bearer "+p.access, nil)
		if r.Status != 401 || !bytes.Contains(r.Body, []byte("token expired")) ||
			r.Header.Get("WWW-Authenticate") != `Bearer realm="security", error="invalid_token", error_description="The access token expired"` {
			t.Errorf("expired token on node %d: %d %s %v", i, r.Status, r.Body, r.Header["Www-Authenticate"])
		}
	}
}

// Acceptance 4: invalidation by token, refresh token, username and realm;
// disabling the user stops its tokens everywhere.
func TestTokenInvalidation(t *testing.T) {
	c := testcluster.New(t, 3)
	putUser(t, c, "joe", "joe-password", "superuser")
	putUser(t, c, "ann", "ann-password", "superuser")
	invalidate := func(node int, body map[string]any) testcluster.Response {
		t.Helper()
		return c.Do(node, http.MethodDelete, "/_security/oauth2/token", testcluster.Elastic, body)
	}
	goneEverywhere := func(access string) {
		t.Helper()
		for i := 0; i < 3; i++ {
			c.Eventually(time.Second, "token refused on node "+c.ID(i), func() bool { return bearerStatus(c, i, access) == 401 })
		}
	}
	a, _ := passwordGrant(t, c, 0, "joe", "joe-password")
	r := invalidate(1, map[string]any{"token": a.access})
	if r.Status != 200 || r.JSON()["invalidated_tokens"] != float64(1) || r.JSON()["previously_invalidated_tokens"] != float64(0) || r.JSON()["error_count"] != float64(0) {
		t.Fatalf("by token: %d %s", r.Status, r.Body)
	}
	goneEverywhere(a.access)
	if r := invalidate(2, map[string]any{"token": a.access}); r.Status != 200 || r.JSON()["previously_invalidated_tokens"] != float64(1) {
		t.Errorf("again by token: %d %s", r.Status, r.Body)
	}
	if r := invalidate(0, map[string]any{"refresh_token": a.refresh}); r.Status != 200 || r.JSON()["invalidated_tokens"] != float64(1) {
		t.Errorf("by refresh token: %d %s", r.Status, r.Body)
	}
	if r := refreshGrant(c, 1, a.refresh); r.Status != 400 || r.JSON()["error_description"] != "token has been invalidated" {
		t.Errorf("refresh of an invalidated refresh token: %d %s", r.Status, r.Body)
	}
	b, _ := passwordGrant(t, c, 1, "joe", "joe-password")
	d, _ := passwordGrant(t, c, 2, "joe", "joe-password")
	keep, _ := passwordGrant(t, c, 0, "ann", "ann-password")
	if r := invalidate(2, map[string]any{"username": "joe"}); r.Status != 200 || r.JSON()["invalidated_tokens"] != float64(4) {
		t.Errorf("by username: %d %s", r.Status, r.Body)
	}
	goneEverywhere(b.access)
	goneEverywhere(d.access)
	if bearerStatus(c, 0, keep.access) != 200 {
		t.Error("invalidating joe's tokens hit ann's")
	}
	if r := invalidate(0, map[string]any{"realm_name": "default_native"}); r.Status != 200 || r.JSON()["invalidated_tokens"] != float64(2) {
		t.Errorf("by realm: %d %s", r.Status, r.Body)
	}
	goneEverywhere(keep.access)
	if r := invalidate(1, map[string]any{"token": "dGhpcyBpcyBub3QgYSB0b2tlbg=="}); r.Status != 404 || r.JSON()["invalidated_tokens"] != float64(0) {
		t.Errorf("unknown token: %d %s", r.Status, r.Body)
	}
	if r := invalidate(1, map[string]any{"username": "nobody"}); r.Status != 200 || r.JSON()["invalidated_tokens"] != float64(0) {
		t.Errorf("unknown user: %d %s", r.Status, r.Body)
	}
	if r := invalidate(1, map[string]any{"token": "x", "username": "joe"}); r.Status != 400 {
		t.Errorf("token with username: %d %s", r.Status, r.Body)
	}
	e, _ := passwordGrant(t, c, 0, "joe", "joe-password")
	if r := c.Do(1, http.MethodPut, "/_security/user/joe/_disable", testcluster.Elastic, nil); r.Status != 200 {
		t.Fatal(string(r.Body))
	}
	goneEverywhere(e.access)
	// A token cannot change its own user's password.
	g, _ := passwordGrant(t, c, 0, "ann", "ann-password")
	if r := c.Do(0, http.MethodPost, "/_security/user/_password", "Bearer "+g.access, map[string]string{"password": "new-password"}); r.Status != 403 {
		t.Errorf("password change with a token: %d %s", r.Status, r.Body)
	}
}

// Validation errors of get token use the OAuth2 shape.
func TestGetTokenErrors(t *testing.T) {
	c := testcluster.New(t, 1)
	cases := []struct {
		body, code, desc string
	}{
		{`{"grant_type":"password","username":"x"}`, "invalid_request", "Validation Failed: 1: password is missing;"},
		{`{"grant_type":"magic"}`, "unsupported_grant_type", "Validation Failed: 1: grant_type only supports the values: [password, _kerberos, refresh_token, client_credentials];"},
		{`{"grant_type":"client_credentials","refresh_token":"x"}`, "invalid_request", "Validation Failed: 1: refresh_token is not supported with the client_credentials grant_type;"},
		{`{"grant_type":"refresh_token","refresh_token":"bm90IGEgdG9rZW4="}`, "invalid_grant", "could not refresh the requested token"},
	}
	for _, tc := range cases {
		r := c.Do(0, http.MethodPost, "/_security/oauth2/token", testcluster.Elastic, tc.body)
		if r.Status != 400 || r.JSON()["error"] != tc.code || r.JSON()["error_description"] != tc.desc {
			t.Errorf("%s: %d %s", tc.body, r.Status, r.Body)
		}
	}
	r := c.Do(0, http.MethodPost, "/_security/oauth2/token", testcluster.Elastic, `{"grant_type":"client_credentials"}`)
	if r.Status != 200 || r.JSON()["refresh_token"] != nil || r.JSON()["authentication"].(map[string]any)["username"] != "elastic" {
		t.Errorf("client_credentials: %d %s", r.Status, r.Body)
	}
	if r := c.Do(0, http.MethodPost, "/_security/oauth2/token", testcluster.Elastic, `{"grant_type":"password","username":"elastic","password":"wrong-password"}`); r.Status != 401 {
		t.Errorf("wrong password: %d %s", r.Status, r.Body)
	}
	// Garbage bearer values are 401 with the ES body, never 5xx.
	for name, v := range map[string]string{
		"not base64": "%%%", "1 MB": strings.Repeat("A", 1<<20),
		"wrong version": base64.StdEncoding.EncodeToString(append([]byte{1, 24}, bytes.Repeat([]byte{7}, 24)...)),
		"short":         base64.StdEncoding.EncodeToString([]byte{0xc3, 0xe1, 0x88, 0x04, 24, 1, 2}),
	} {
		r := c.Do(0, http.MethodGet, "/_security/_authenticate", "Bearer "+v, nil)
		if r.Status != 401 || r.JSON()["error"].(map[string]any)["type"] != "security_exception" {
			t.Errorf("bearer %s: %d %s", name, r.Status, r.Body)
		}
	}
}

// Acceptance 5: the official client's GetToken and InvalidateToken.
func TestTokensWithOfficialGoClient(t *testing.T) {
	c := testcluster.New(t, 1)
	es, err := elasticsearch.NewTypedClient(elasticsearch.Config{Addresses: []string{c.URL(0)}, Username: "elastic", Password: testcluster.ElasticPassword})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	user, pass := "elastic", testcluster.ElasticPassword
	tok, err := es.Security.GetToken().Request(&gettoken.Request{GrantType: &accesstokengranttype.Password, Username: &user, Password: &pass}).Do(ctx)
	if err != nil || tok.AccessToken == "" || tok.RefreshToken == nil || tok.ExpiresIn != 1200 || tok.Type != "Bearer" || tok.Authentication.Username != "elastic" {
		t.Fatalf("GetToken: %+v, %v", tok, err)
	}
	inv, err := es.Security.InvalidateToken().Request(&invalidatetoken.Request{Token: &tok.AccessToken}).Do(ctx)
	if err != nil || inv.InvalidatedTokens != 1 || inv.ErrorCount != 0 {
		t.Fatalf("InvalidateToken: %+v, %v", inv, err)
	}
}

// Acceptance 6: no token value under any data dir or in the logs.
func TestTokenValuesNeverRest(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{LogLevel: "trace"})
	putUser(t, c, "joe", "joe-password", "superuser")
	var values []string
	for n := 0; n < 10; n++ {
		p, _ := passwordGrant(t, c, n%3, "joe", "joe-password")
		values = append(values, p.access, p.refresh)
		r := refreshGrant(c, (n+1)%3, p.refresh)
		values = append(values, r.JSON()["access_token"].(string), r.JSON()["refresh_token"].(string))
		bearerStatus(c, (n+2)%3, p.access)
	}
	c.Node(c.Leader()).Cluster().Snapshot()
	for i := 0; i < 3; i++ {
		c.Stop(i)
	}
	scanned := 0
	for i := 0; i < 3; i++ {
		filepath.Walk(c.DataDir(i), func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			data, _ := os.ReadFile(path)
			scanned += len(data)
			for _, v := range values {
				raw, _ := base64.StdEncoding.DecodeString(v)
				if bytes.Contains(data, []byte(v)) || bytes.Contains(data, raw[len(raw)-24:]) {
					t.Errorf("%s contains a token", path)
				}
			}
			return nil
		})
	}
	if scanned < 10_000 {
		t.Fatalf("scanned only %d bytes", scanned)
	}
	t.Logf("scanned %d bytes for %d token values", scanned, len(values))
}

// No credential of a user changes that user's enabled status: a token or an
// API key of elastic is refused as elastic's password is (Elasticsearch
// compares the effective user, whatever the credential).
func TestOwnEnabledStatusIsRefusedWhateverTheCredential(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{})
	pair, _ := passwordGrant(t, c, 0, "elastic", testcluster.ElasticPassword)
	key := c.Do(1, http.MethodPost, "/_security/api_key", testcluster.Elastic, map[string]any{"name": "own-status"})
	if key.Status != 200 {
		t.Fatalf("create key: %d %s", key.Status, key.Body)
	}
	for i, cred := range []string{testcluster.Elastic, "Bearer " + pair.access, "ApiKey " + key.JSON()["encoded"].(string)} {
		r := c.Do(i%3, http.MethodPut, "/_security/user/elastic/_disable", cred, nil)
		if r.Status != 400 || !strings.Contains(string(r.Body), "users may not update the enabled status of their own account") {
			t.Errorf("credential %d: %d %s", i, r.Status, r.Body)
		}
	}
	if r := c.Do(2, http.MethodGet, "/_security/_authenticate", testcluster.Elastic, nil); r.Status != 200 {
		t.Errorf("elastic after the refusals: %d %s", r.Status, r.Body)
	}
}
