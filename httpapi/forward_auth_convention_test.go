package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenstore/tokenstore/node"
	"github.com/tokenstore/tokenstore/testcluster"
)

// askForwardAuth calls the endpoint directly as a proxy would, and
// returns the status, the headers and the body.
func askForwardAuth(t *testing.T, c *testcluster.Cluster, method, path, auth string, hdr map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, c.URL(0)+path, strings.NewReader(body))
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
	data, _ := io.ReadAll(resp.Body)
	if len(data) > 64 {
		t.Errorf("%s %s: body of %d bytes, want a tiny one", method, path, len(data))
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusUnauthorized, http.StatusForbidden, http.StatusServiceUnavailable:
	default:
		t.Errorf("%s %s: status %d, outside 200/401/403/503", method, path, resp.StatusCode)
	}
	return resp.StatusCode, resp.Header, string(data)
}

// Acceptance 2, Traefik's ForwardAuth: it always sends GET to the
// configured address, with the original request in X-Forwarded-Method,
// -Uri and -Host, and passes every client header on (authRequestHeaders
// unset); any 2xx allows, anything else goes back to the client as is.
func TestForwardAuthTraefikConvention(t *testing.T) {
	c := forwardAuthCluster(t, 1)
	alice, bob := testcluster.Basic("alice", faPassword), testcluster.Basic("bob", faPassword)
	traefik := func(method, uri string) map[string]string {
		return map[string]string{"X-Forwarded-Method": method, "X-Forwarded-Uri": uri, "X-Forwarded-Host": "app.example.com",
			"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9",
			// Client headers Traefik passes on: no run-as refusal, no media-type check.
			"Es-Security-Runas-User": "someone", "Content-Type": "text/html"}
	}
	status, hdr, _ := askForwardAuth(t, c, http.MethodGet, "/_tokenstore/forward_auth", alice, traefik(http.MethodDelete, "/admin/users/7?force=1"), "")
	if status != http.StatusOK || hdr.Get("X-Auth-User") != "alice" || hdr.Get("X-Auth-Roles") != "myapp_admin" ||
		hdr.Get("X-Auth-Authentication-Type") != "realm" || hdr.Get("X-Auth-Realm") != "default_native" {
		t.Fatalf("alice on /admin: %d %v", status, hdr)
	}
	if status, hdr, _ := askForwardAuth(t, c, http.MethodGet, "/_tokenstore/forward_auth", bob, traefik(http.MethodDelete, "/admin/users/7"), ""); status != http.StatusForbidden || hdr.Get("X-Auth-User") != "" {
		t.Errorf("bob on /admin: %d %v", status, hdr)
	}
	if status, _, _ := askForwardAuth(t, c, http.MethodGet, "/_tokenstore/forward_auth", bob, traefik(http.MethodGet, "/reports"), ""); status != http.StatusOK {
		t.Errorf("bob on /reports: %d", status)
	}
	// A client that adds nginx's header to a Traefik request cannot choose
	// the URI the rules see.
	h := traefik(http.MethodGet, "/admin/users")
	h["X-Original-Uri"] = "/reports"
	if status, _, _ := askForwardAuth(t, c, http.MethodGet, "/_tokenstore/forward_auth", bob, h, ""); status != http.StatusForbidden {
		t.Errorf("conflicting URIs: %d, want 403", status)
	}
	for _, uri := range []string{"/public/%2e%2e/admin", "/public%2F..%2Fadmin", "/reports/../admin/x", `/reports\..\admin`} {
		if status, _, _ := askForwardAuth(t, c, http.MethodGet, "/_tokenstore/forward_auth", bob, traefik(http.MethodGet, uri), ""); status != http.StatusForbidden {
			t.Errorf("bob on %s: %d, want 403", uri, status)
		}
	}
	status, hdr, body := askForwardAuth(t, c, http.MethodGet, "/_tokenstore/forward_auth", "", traefik(http.MethodGet, "/reports"), "")
	if status != http.StatusUnauthorized || len(hdr.Values("WWW-Authenticate")) == 0 || hdr.Get("Location") != "" {
		t.Errorf("no credential: %d %v %q", status, hdr, body)
	}
}

// Acceptance 2, Envoy's ext_authz HTTP service with path_prefix: the
// original method and path arrive as the request's own, below the prefix;
// only a 200 allows, and the body is not needed (not sent by default).
func TestForwardAuthEnvoyConvention(t *testing.T) {
	c := forwardAuthCluster(t, 1)
	alice, bob := testcluster.Basic("alice", faPassword), testcluster.Basic("bob", faPassword)
	key := createKey(t, c, 0, testcluster.Elastic, map[string]any{"name": "envoy\r\nX-Injected: 1 é"})
	for _, tc := range []struct {
		method, path, auth string
		want               int
	}{
		{http.MethodPost, "/_tokenstore/forward_auth/admin/jobs?run=1", alice, http.StatusOK},
		{http.MethodPost, "/_tokenstore/forward_auth/admin/jobs?run=1", bob, http.StatusForbidden},
		{http.MethodGet, "/_tokenstore/forward_auth/admin", bob, http.StatusForbidden},
		{http.MethodGet, "/_tokenstore/forward_auth/public/../admin", bob, http.StatusForbidden},
		{http.MethodGet, "/_tokenstore/forward_auth//admin", bob, http.StatusForbidden},
		{http.MethodGet, "/_tokenstore/forward_auth/public", bob, http.StatusOK},
		{http.MethodPut, "/_tokenstore/forward_auth/public", bob, http.StatusOK},
		{http.MethodGet, "/_tokenstore/forward_auth/public", "Bearer nonsense", http.StatusUnauthorized},
		{http.MethodGet, "/_tokenstore/forward_auth/admin/x", keyAuth(key), http.StatusOK},
		{http.MethodHead, "/_tokenstore/forward_auth/public", bob, http.StatusOK},
		{http.MethodOptions, "/_tokenstore/forward_auth/public", bob, http.StatusOK},
	} {
		status, hdr, _ := askForwardAuth(t, c, tc.method, tc.path, tc.auth, nil, `{"not":"read"}`)
		if status != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, status, tc.want)
		}
		if status == http.StatusOK && hdr.Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: a decision a cache could keep", tc.method, tc.path)
		}
	}
	_, hdr, _ := askForwardAuth(t, c, http.MethodGet, "/_tokenstore/forward_auth/x", keyAuth(key), nil, "")
	if hdr.Get("X-Auth-Api-Key-Id") != key.ID || hdr.Get("X-Auth-Api-Key-Name") != "envoy%0D%0AX-Injected: 1 %C3%A9" ||
		hdr.Get("X-Injected") != "" || hdr.Get("X-Auth-Authentication-Type") != "api_key" {
		t.Errorf("api key headers: %v", hdr)
	}
	for k, v := range hdr {
		if strings.Contains(strings.ToLower(k), "auth") && strings.Contains(strings.Join(v, ""), key.APIKey) {
			t.Errorf("header %s carries the secret", k)
		}
	}
}

// Without a rule file any valid credential passes, and a throttled
// client gets a 401 with Retry-After, never a 429 nginx would turn into
// a 500.
func TestForwardAuthNoRulesAndThrottle(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.Options{Settings: node.Settings{"tokenstore.authc.throttle.address.burst": "3"}})
	putUser(t, c, "carol", faPassword, []string{}...)
	carol := testcluster.Basic("carol", faPassword)
	if status, hdr, _ := askForwardAuth(t, c, http.MethodDelete, "/_tokenstore/forward_auth/admin/all", carol, nil, ""); status != http.StatusOK || hdr.Get("X-Auth-User") != "carol" {
		t.Fatalf("no rules: %d %v", status, hdr)
	}
	var last http.Header
	for range 6 {
		status, hdr, _ := askForwardAuth(t, c, http.MethodGet, "/_tokenstore/forward_auth", testcluster.Basic("carol", "wrong"), nil, "")
		if status != http.StatusUnauthorized || len(hdr.Values("WWW-Authenticate")) == 0 {
			t.Fatalf("wrong password: %d %v", status, hdr)
		}
		last = hdr
	}
	if last.Get("Retry-After") == "" {
		t.Errorf("throttled: no Retry-After in %v", last)
	}
	if r := c.Do(0, http.MethodGet, "/_tokenstore/stats", testcluster.Elastic, nil); r.Status != http.StatusTooManyRequests {
		t.Errorf("failures through forward-auth did not count in the throttle: stats answered %d", r.Status)
	}
}
