package bench

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseRefusesWithTheFlagsName(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	ok := []string{"--url", "http://127.0.0.1:9200", "--user", "elastic:changeme"}
	with := func(workload string, extra ...string) []string {
		return append(append([]string{workload}, ok...), extra...)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no workload", nil, "needs a workload"},
		{"a flag first", []string{"--url", "http://x"}, "needs a workload"},
		{"unknown workload", with("delete"), `unknown workload "delete"`},
		{"no url", []string{"create", "--user", "elastic:changeme"}, "--url is required"},
		{"url without scheme", []string{"create", "--url", "127.0.0.1:9200", "--user", "e:p"}, "want http:// or https://"},
		{"url with credentials", []string{"create", "--url", "http://e:p@h:1", "--user", "e:p"}, "not in the URL"},
		{"url with a path", []string{"create", "--url", "http://h:1/_security", "--user", "e:p"}, "has no path"},
		{"second url bad", []string{"create", "--url", "http://h:1,ftp://h:2", "--user", "e:p"}, `"ftp://h:2"`},
		{"no user", []string{"create", "--url", "http://h:1"}, "--user is required"},
		{"no password", []string{"create", "--url", "http://h:1", "--user", "elastic"}, "no password"},
		{"password twice", with("create", "--password", "x"), "given twice"},
		{"no clients", with("create", "--clients", "0"), "--clients must be at least 1"},
		{"no duration", with("create", "--duration", "0s"), "--duration must be positive"},
		{"bad duration", with("create", "--duration", "ten"), "invalid value"},
		{"negative rate", with("create", "--rate", "-5"), "--rate must not be negative"},
		{"mix 0", with("mixed", "--mix", "0"), "between 0 and 100"},
		{"mix 100", with("mixed", "--mix", "100"), "between 0 and 100"},
		{"mix on create", with("create", "--mix", "50"), "--mix is for the mixed workload"},
		{"credential on grant", with("grant", "--credential", "ApiKey x"), "--credential is for authenticate and mixed"},
		{"ca not PEM", with("create", "--ca-cert", notPEM), "--ca-cert"},
		{"ca missing", with("create", "--ca-cert", filepath.Join(t.TempDir(), "none")), "--ca-cert"},
		{"an argument left", with("create", "extra"), `unexpected argument "extra"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := parse(c.args, func(string) string { return "" }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
		})
	}
}

func TestParseTakesThePasswordFromOnePlace(t *testing.T) {
	base := []string{"refresh", "--url", "http://a:1,https://b:2/", "--clients", "8", "--duration", "3s", "--rate", "100"}
	cases := []struct {
		name     string
		args     []string
		env      string
		user, pw string
	}{
		{"in --user", []string{"--user", "jack:s3cret:with-colon"}, "from-env", "jack", "s3cret:with-colon"},
		{"--password", []string{"--user", "jack", "--password", "flag-pw"}, "from-env", "jack", "flag-pw"},
		{"environment", []string{"--user", "jack"}, "from-env", "jack", "from-env"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			getenv := func(name string) string {
				if name == passwordEnv {
					return c.env
				}
				return ""
			}
			cfg, _, err := parse(append(base, c.args...), getenv, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.User != c.user || cfg.Password != c.pw {
				t.Fatalf("got %q/%q, want %q/%q", cfg.User, cfg.Password, c.user, c.pw)
			}
			if len(cfg.URLs) != 2 || cfg.Clients != 8 || cfg.Duration != 3*time.Second || cfg.Rate != 100 || cfg.Workload != Refresh {
				t.Fatalf("got %+v", cfg)
			}
		})
	}
}

// authenticate with a credential of its own needs no user.
func TestParseAuthenticateWithACredentialNeedsNoUser(t *testing.T) {
	cfg, asJSON, err := parse([]string{"authenticate", "--url", "http://a:1", "--credential", "ApiKey abc", "--json"},
		func(string) string { return "" }, io.Discard)
	if err != nil || !asJSON || cfg.Credential != "ApiKey abc" {
		t.Fatalf("got %+v %v %v", cfg, asJSON, err)
	}
}
