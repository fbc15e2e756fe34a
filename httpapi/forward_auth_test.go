package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenstore/tokenstore/node"
	"github.com/tokenstore/tokenstore/testcluster"
)

// forwardAuthRules guard /admin with myapp's admin privilege and let any
// valid credential reach the rest.
const forwardAuthRules = `{"application": "myapp", "rules": [
  {"path": "/admin", "privileges": ["admin"]},
  {"path": "/", "privileges": []}]}`

const faPassword = "fa-passw0rd"

// forwardAuthCluster starts n nodes with the rules above, myapp's admin
// privilege, alice (who has it) and bob (who has no role). The address
// throttle is wide: every request reaches the nodes from nginx's address.
func forwardAuthCluster(t *testing.T, n int) *testcluster.Cluster {
	t.Helper()
	rules := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(rules, []byte(forwardAuthRules), 0o600); err != nil {
		t.Fatal(err)
	}
	c := testcluster.New(t, n, testcluster.Options{Settings: node.Settings{
		"tokenstore.forward_auth.rules": rules, "tokenstore.authc.throttle.address.burst": "10000"}})
	if r := c.Do(0, http.MethodPut, "/_security/privilege", testcluster.Elastic,
		map[string]any{"myapp": map[string]any{"admin": map[string]any{"actions": []string{"admin:*"}}}}); r.Status != 200 {
		t.Fatalf("put privileges: %d %s", r.Status, r.Body)
	}
	putRole(t, c, "myapp_admin", map[string]any{"applications": []map[string]any{
		{"application": "myapp", "privileges": []string{"admin"}, "resources": []string{"*"}}}})
	putUser(t, c, "alice", faPassword, "myapp_admin")
	putUser(t, c, "bob", faPassword, []string{}...)
	return c
}

// echoUpstream is the service behind the proxy: it answers with the path
// and the identity headers it received.
func echoUpstream(t testing.TB) *httptest.Server {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen := map[string]string{"path": r.URL.Path, "Authorization": r.Header.Get("Authorization")}
		for _, h := range nginxIdentityHeaders {
			if v := r.Header.Values(h); len(v) > 0 {
				seen[h] = strings.Join(v, "|")
			}
		}
		json.NewEncoder(w).Encode(seen)
	}))
	t.Cleanup(up.Close)
	return up
}

// through sends a request through a proxy and returns the status and what
// the upstream saw.
func through(t *testing.T, base, method, path, auth string, hdr map[string]string) (int, http.Header, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var seen map[string]string
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &seen); err != nil {
			t.Fatalf("%s %s: not the upstream's answer: %.200s", method, path, body)
		}
	}
	return resp.StatusCode, resp.Header, seen
}

// noRedirects shows a redirect as it is: the endpoint must never send one.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Acceptance 1: a real nginx with auth_request in front of an upstream,
// asking each node of a three-node cluster.
func TestForwardAuthNginx(t *testing.T) {
	c := forwardAuthCluster(t, 3)
	up := echoUpstream(t)
	nodes := make([]string, 3)
	for i := range nodes {
		nodes[i] = strings.TrimPrefix(c.URL(i), "http://")
	}
	front := startNginx(t, nodes, strings.TrimPrefix(up.URL, "http://"))

	key := createKey(t, c, 0, testcluster.Elastic, map[string]any{"name": "fa-key"})
	pair, _ := passwordGrant(t, c, 1, "bob", faPassword)
	_, svc := createServiceToken(t, c, 2, "/_security/service/elastic/fleet-server/credential/token/fa-token")
	valid := []struct {
		name, auth string
		want       map[string]string
	}{
		{"api key", keyAuth(key), map[string]string{"X-Auth-User": "elastic", "X-Auth-Authentication-Type": "api_key",
			"X-Auth-Api-Key-Id": key.ID, "X-Auth-Api-Key-Name": "fa-key", "X-Auth-Realm": "_es_api_key"}},
		{"bearer token", "Bearer " + pair.access, map[string]string{"X-Auth-User": "bob", "X-Auth-Authentication-Type": "token",
			"X-Auth-Realm": "default_native", "X-Auth-Roles": ""}},
		{"service token", "Bearer " + svc, map[string]string{"X-Auth-User": "elastic/fleet-server",
			"X-Auth-Token-Name": "fa-token", "X-Auth-Realm": "_service_account"}},
		{"native user", testcluster.Basic("alice", faPassword), map[string]string{"X-Auth-User": "alice",
			"X-Auth-Authentication-Type": "realm", "X-Auth-Roles": "myapp_admin"}},
	}
	for i, front := range front.Guarded {
		for _, v := range valid {
			// A client's own identity headers never reach the upstream.
			status, _, seen := through(t, front, http.MethodGet, "/hello", v.auth, map[string]string{"X-Auth-Token-Name": "spoofed", "X-Auth-Api-Key-Id": "spoofed"})
			if status != http.StatusOK || seen["path"] != "/hello" {
				t.Fatalf("node %d, %s: %d %v", i, v.name, status, seen)
			}
			for h, want := range v.want {
				if seen[h] != want {
					t.Errorf("node %d, %s: upstream saw %s=%q, want %q (all: %v)", i, v.name, h, seen[h], want, seen)
				}
			}
			if seen["Authorization"] != "" {
				t.Errorf("node %d, %s: the credential reached the upstream", i, v.name)
			}
			if strings.Contains(strings.Join([]string{seen["X-Auth-Token-Name"], seen["X-Auth-Api-Key-Id"]}, ""), "spoofed") {
				t.Errorf("node %d, %s: a client's identity header reached the upstream: %v", i, v.name, seen)
			}
		}
		status, hdr, _ := through(t, front, http.MethodGet, "/hello", "ApiKey "+wrongKey(key), nil)
		if status != http.StatusUnauthorized || hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("node %d, wrong key: %d %v", i, status, hdr)
		}
		// The rules: alice has myapp's admin privilege, bob has not.
		if status, _, _ := through(t, front, http.MethodPost, "/admin/users", testcluster.Basic("alice", faPassword), nil); status != http.StatusOK {
			t.Errorf("node %d, alice on /admin: %d", i, status)
		}
		if status, _, _ := through(t, front, http.MethodPost, "/admin/users", testcluster.Basic("bob", faPassword), nil); status != http.StatusForbidden {
			t.Errorf("node %d, bob on /admin: %d, want 403", i, status)
		}
		if status, _, _ := through(t, front, http.MethodGet, "/public/../admin/users", "Bearer "+pair.access, nil); status == http.StatusOK {
			t.Errorf("node %d, bob's token on /public/../admin: let through", i)
		}
		if status, _, _ := through(t, front, http.MethodGet, "/administrator", "Bearer "+pair.access, nil); status != http.StatusOK {
			t.Errorf("node %d, bob on /administrator (not under /admin): %d", i, status)
		}
	}

	// An invalidated key is refused on every node as soon as the
	// invalidation is acknowledged.
	doomed := createKey(t, c, 1, testcluster.Elastic, map[string]any{"name": "fa-doomed"})
	for i, f := range front.Guarded {
		if status, _, _ := through(t, f, http.MethodGet, "/x", keyAuth(doomed), nil); status != http.StatusOK {
			t.Fatalf("node %d: new key %d", i, status)
		}
	}
	if r := c.Do(2, http.MethodDelete, "/_security/api_key", testcluster.Elastic, map[string]any{"ids": []string{doomed.ID}}); r.Status != 200 {
		t.Fatalf("invalidate: %d %s", r.Status, r.Body)
	}
	for i, f := range front.Guarded {
		if status, hdr, _ := through(t, f, http.MethodGet, "/x", keyAuth(doomed), nil); status != http.StatusUnauthorized || hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("node %d: invalidated key %d", i, status)
		}
	}

	// Nothing a client sends as a credential makes nginx answer 500.
	for _, auth := range badCredentials(key) {
		for i, f := range front.Guarded {
			resp := rawGet(t, f, "/hello", auth)
			want := http.StatusUnauthorized
			if len(auth) > 8000 {
				want = http.StatusBadRequest // nginx's own limit on a header line
			}
			if resp.StatusCode != want {
				t.Errorf("node %d, credential %.60q: %d, want %d", i, auth, resp.StatusCode, want)
			}
		}
	}
}

// wrongKey is key's id with another secret.
func wrongKey(k createdKey) string {
	return b64(k.ID + ":" + strings.Repeat("x", len(k.APIKey)))
}

// badCredentials is the harness's table of refused Authorization values.
func badCredentials(k createdKey) []string {
	return []string{
		"", "Basic", "Basic ", "Basic !!!", "Basic " + b64("nocolon"), "Basic " + b64(":"), "Basic " + b64("elastic:wrong"),
		"Basic " + b64("nosuchuser:x"), "Basic " + b64("bob:"+faPassword+"\x00"),
		"Bearer", "Bearer ", "Bearer x", "Bearer " + strings.Repeat("A", 4000), "bearer lower",
		"ApiKey", "ApiKey ###", "ApiKey " + b64(k.ID+":"), "ApiKey " + b64(":secret"), "ApiKey " + b64(k.ID),
		"ApiKey " + wrongKey(k) + "=", "Negotiate abc", "Digest username=\"elastic\"", "Basic\t" + b64("elastic:x"),
		"ApiKey \x01" + k.Encoded, "Basic \x7f", "Bearer a\x0bb", "\xff\xfe\xfd", "Basic " + b64("ünïcödé:pässwörd"),
		"Bearer é", strings.Repeat("Basic ", 100), "Basic " + strings.Repeat("=", 3000),
		"ApiKey " + strings.Repeat("Q", 9000),
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
