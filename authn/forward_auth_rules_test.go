package authn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sampleRules = `{"application": "myapp", "rules": [
  {"host": "API.example.com", "path": "/admin", "methods": ["DELETE"], "privileges": ["admin"], "resource": "admin"},
  {"path": "/admin/", "privileges": ["read"]},
  {"path": "/", "privileges": []}]}`

func TestParseForwardAuthRules(t *testing.T) {
	rs, err := ParseForwardAuthRules([]byte(sampleRules))
	if err != nil {
		t.Fatal(err)
	}
	if rs.Rules[0].Host != "api.example.com" {
		t.Errorf("host not lowered: %q", rs.Rules[0].Host)
	}
	for _, tc := range []struct{ host, method, path, want string }{
		{"api.example.com", "DELETE", "/admin", "/admin"},
		{"api.example.com", "DELETE", "/admin/x", "/admin"},
		{"api.example.com", "GET", "/admin/x", "/admin/"},
		{"other", "DELETE", "/admin/x", "/admin/"},
		{"api.example.com", "DELETE", "/administrator", "/"},
		{"", "GET", "/", "/"},
	} {
		r := rs.match(tc.host, tc.method, tc.path)
		if r == nil || r.Path != tc.want {
			t.Errorf("%s %s %s: got %+v, want rule %s", tc.host, tc.method, tc.path, r, tc.want)
		}
	}
}

func TestParseForwardAuthRulesRefuses(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{``, "not a rule set"},
		{`{"application": "myapp", "rules": [{"path": "/"}]} {}`, "data after"},
		{`{"application": "myapp", "rules": [{"path": "/", "extra": 1}]}`, "unknown field"},
		{`{"application": "x", "rules": [{"path": "/"}]}`, "application [x]"},
		{`{"application": "myapp", "rules": []}`, "between 1 and 1000 rules"},
		{`{"application": "myapp", "rules": [{"path": "admin"}]}`, "rule 0: path [admin]"},
		{`{"application": "myapp", "rules": [{"path": "/a/../b"}]}`, "rule 0: path"},
		{`{"application": "myapp", "rules": [{"path": "/a//b"}]}`, "rule 0: path"},
		{`{"application": "myapp", "rules": [{"path": "/", "host": "a:80"}]}`, "host [a:80]"},
		{`{"application": "myapp", "rules": [{"path": "/", "methods": ["get"]}]}`, "method [get]"},
		{`{"application": "myapp", "rules": [{"path": "/", "privileges": [""]}]}`, "privilege []"},
		{`{"application": "myapp", "rules": [{"path": "/", "privileges": ["` + strings.Repeat("p", 300) + `"]}]}`, "must be 1-256 bytes"},
		{`{"application": "myapp", "rules": [` + strings.Repeat(`{"path": "/"},`, 1000) + `{"path": "/"}]}`, "got 1001"},
	} {
		_, err := ParseForwardAuthRules([]byte(tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%.60s: got %v, want one line with %q", tc.body, err, tc.want)
		}
	}
}

func TestLoadForwardAuthRulesBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, []byte(strings.Repeat(" ", maxRulesFileBytes+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadForwardAuthRules(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v", err)
	}
	if _, err := LoadForwardAuthRules(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing file loaded")
	}
	ok := filepath.Join(dir, "ok.json")
	os.WriteFile(ok, []byte(sampleRules), 0o600)
	if _, err := LoadForwardAuthRules(ok); err != nil {
		t.Error(err)
	}
}

func TestRequestPath(t *testing.T) {
	for uri, want := range map[string]string{
		"":                     "/",
		"/":                    "/",
		"/a/b?x=/admin":        "/a/b",
		"/public/../admin":     "/admin",
		"/public/./x/":         "/public/x/",
		"//admin":              "/admin",
		"/caf%C3%A9":           "/café",
		"/a%20b#frag":          "/a b",
		"/public/..":           "/",
		"/x/%61dmin":           "/x/admin",
		"/public/%2e%2e/admin": "",
		"/public%2F..%2Fadmin": "",
		`/public\..\admin`:     "",
		"/bad%zz":              "",
		"/ctl%0A":              "",
		"http://h/admin":       "",
	} {
		got, err := requestPath(uri)
		if want == "" {
			if err == nil {
				t.Errorf("%q: got %q, want a refusal", uri, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", uri, got, err, want)
		}
	}
}

func TestRequestHost(t *testing.T) {
	for h, want := range map[string]string{"API.example.com:443": "api.example.com", "[::1]:80": "::1", "a.b": "a.b", "[::1]": "::1"} {
		if got := requestHost(h); got != want {
			t.Errorf("%q: got %q, want %q", h, got, want)
		}
	}
}
