package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/authn"
)

// Every refusal maps onto a status all three proxies honour.
func TestForwardAuthRefusalStatus(t *testing.T) {
	s := New(Config{TokensEnabled: true, APIKeysEnabled: true})
	for _, tc := range []struct {
		err        error
		want       int
		retryAfter string
	}{
		{&authn.Error{Kind: authn.Unauthenticated, Reason: "x"}, http.StatusUnauthorized, ""},
		{&authn.Error{Kind: authn.Forbidden, Reason: "x"}, http.StatusForbidden, ""},
		{&authn.Error{Kind: authn.Throttled, Type: "security_exception", RetryAfter: 1500 * time.Millisecond}, http.StatusUnauthorized, "2"},
		{&authn.Error{Kind: authn.Throttled, Type: "es_rejected_execution_exception"}, http.StatusServiceUnavailable, ""},
		{&authn.Error{Kind: authn.Unavailable, Reason: "no leader"}, http.StatusServiceUnavailable, ""},
		{&authn.Error{Kind: authn.Invalid, Reason: "x"}, http.StatusServiceUnavailable, ""},
		{context.Canceled, http.StatusServiceUnavailable, ""},
		{errors.New("anything"), http.StatusServiceUnavailable, ""},
	} {
		w := httptest.NewRecorder()
		s.writeForwardAuthRefusal(w, httptest.NewRequest(http.MethodGet, pathForwardAuth, nil), tc.err)
		if w.Code != tc.want || w.Header().Get("Retry-After") != tc.retryAfter || w.Body.Len() > 64 {
			t.Errorf("%v: %d %v %q, want %d", tc.err, w.Code, w.Header(), w.Body, tc.want)
		}
		if got := len(w.Header().Values("WWW-Authenticate")); (w.Code == http.StatusUnauthorized) != (got == 3) {
			t.Errorf("%v: %d WWW-Authenticate values with status %d", tc.err, got, w.Code)
		}
	}
}

func TestIdentityHeaderValues(t *testing.T) {
	if got := headerValue("a\r\nX: b\x00é%", 100); got != "a%0D%0AX: b%00%C3%A9%" {
		t.Errorf("got %q", got)
	}
	if got := headerValue(strings.Repeat("é", 300), maxKeyNameValue); len(got) > maxKeyNameValue || !strings.HasSuffix(got, "%A9...") {
		t.Errorf("not clipped: %d bytes", len(got))
	}
	if got := rolesValue([]string{"a,b", "c\n"}); got != "a%2Cb,c%0A" {
		t.Errorf("roles %q", got)
	}
	many := make([]string, 500)
	for i := range many {
		many[i] = "role_number"
	}
	got := rolesValue(many)
	if len(got) > maxRolesValue || strings.HasSuffix(got, ",") || strings.Count(got, ",") < 10 {
		t.Errorf("roles cut badly: %d bytes", len(got))
	}
	h := http.Header{}
	setIdentityHeaders(h, &authn.Authentication{Username: "u", Roles: []string{"r"}, Realm: authn.APIKeyRealm, Type: "api_key",
		APIKey: &authn.APIKeyRef{ID: "id1", Name: "n"}})
	if h.Get("X-Auth-Api-Key-Id") != "id1" || h.Get("X-Auth-Api-Key-Name") != "n" || len(h.Values("X-Auth-Token-Name")) != 1 || h.Get("X-Auth-Token-Name") != "" {
		t.Errorf("headers %v", h)
	}
}

// The original request's sources must agree.
func TestOriginalRequest(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, pathForwardAuth+"/a/b?x=1", nil)
	host, method, uri, conflict := originalRequest(r)
	if method != http.MethodGet || uri != "/a/b?x=1" || conflict != "" || host == "" {
		t.Errorf("envoy: %q %q %q %q", host, method, uri, conflict)
	}
	r = httptest.NewRequest(http.MethodGet, pathForwardAuth, nil)
	r.Header.Set("X-Forwarded-Uri", "/a")
	r.Header.Set("X-Original-Uri", "/a")
	r.Header.Set("X-Original-Method", "POST")
	r.Header.Set("X-Forwarded-Host", "h")
	if host, method, uri, conflict = originalRequest(r); host != "h" || method != "POST" || uri != "/a" || conflict != "" {
		t.Errorf("agreeing: %q %q %q %q", host, method, uri, conflict)
	}
	r.Header.Add("X-Forwarded-Method", "GET")
	if _, _, _, conflict = originalRequest(r); conflict == "" {
		t.Error("methods GET and POST did not conflict")
	}
	r = httptest.NewRequest(http.MethodGet, pathForwardAuth+"/b", nil)
	r.Header.Set("X-Forwarded-Uri", "/a")
	if _, _, _, conflict = originalRequest(r); conflict == "" {
		t.Error("a path below the endpoint and X-Forwarded-Uri did not conflict")
	}
}

func TestIsForwardAuth(t *testing.T) {
	for p, want := range map[string]bool{pathForwardAuth: true, pathForwardAuth + "/": true, pathForwardAuth + "/a/b": true,
		pathForwardAuth + "x": false, "/_tokenstore": false, pathForwardAuth + "%2Fa": false} {
		if isForwardAuth(p) != want {
			t.Errorf("%q: got %v", p, !want)
		}
	}
}
