package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenstore/tokenstore/testcluster"
)

// A distinctive password, so a leak is found by grepping for it.
const leakCanary = "Canary-Passw0rd-7f3a"

func stateFingerprint(t *testing.T, c *testcluster.Cluster) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Node(0).Cluster().State().WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Acceptance 5: bad input gets an Elasticsearch error and a 4xx, changes
// nothing, leaves the node healthy and leaks no secret.
func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.Options{LogLevel: "trace"})
	deep := `{"password":"` + leakCanary + `","roles":[],"metadata":{"a":` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `}}`
	huge := `{"password":"` + leakCanary + `","roles":[],"full_name":"` + strings.Repeat("x", 20<<20) + `"}`
	noColon := "Basic " + base64.StdEncoding.EncodeToString([]byte("elastic"+leakCanary))
	cases := []struct {
		name, method, path, auth, body string
		want                           int
	}{
		{"truncated JSON", "PUT", "/_security/user/bob", testcluster.Elastic, `{"password":"` + leakCanary + `","roles":[`, 400},
		{"wrong type for password", "PUT", "/_security/user/bob", testcluster.Elastic, `{"password":123456789,"roles":[]}`, 400},
		{"wrong type for roles", "PUT", "/_security/user/bob", testcluster.Elastic, `{"password":"` + leakCanary + `","roles":"admin"}`, 400},
		{"unknown field", "PUT", "/_security/user/bob", testcluster.Elastic, `{"password":"` + leakCanary + `","roles":[],"foo":1}`, 400},
		{"duplicate key", "PUT", "/_security/user/bob", testcluster.Elastic, `{"password":"` + leakCanary + `","password":"other-passw0rd","roles":[]}`, 400},
		{"100000-deep nesting", "PUT", "/_security/user/bob", testcluster.Elastic, deep, 400},
		{"20 MB body", "PUT", "/_security/user/bob", testcluster.Elastic, huge, 413},
		{"invalid UTF-8", "PUT", "/_security/user/bob", testcluster.Elastic, "{\"password\":\"" + leakCanary + "\xff\xfe\",\"roles\":[]}", 400},
		{"NUL in user name", "PUT", "/_security/user/bad%00name", testcluster.Elastic, `{"password":"` + leakCanary + `","roles":[]}`, 400},
		{"../ in user name", "PUT", "/_security/user/../../etc", testcluster.Elastic, `{"password":"` + leakCanary + `","roles":[]}`, 400},
		{"encoded ../ in user name", "PUT", "/_security/user/..%2F..%2Fetc", testcluster.Elastic, `{"password":"` + leakCanary + `","roles":[]}`, 400},
		{"../ in role name", "PUT", "/_security/role/..%2Fadmin", testcluster.Elastic, `{"cluster":["all"]}`, 400},
		{"Basic without colon", "GET", "/_security/_authenticate", noColon, "", 401},
		{"Basic not base64", "GET", "/_security/_authenticate", "Basic %%%not-base64", "", 401},
		{"short password", "PUT", "/_security/user/bob", testcluster.Elastic, `{"password":"abc","roles":[]}`, 400},
		{"reserved user name", "PUT", "/_security/user/kibana_system", testcluster.Elastic, `{"password":"` + leakCanary + `","roles":[]}`, 400},
		{"username differs from path", "PUT", "/_security/user/bob", testcluster.Elastic, `{"username":"alice","password":"` + leakCanary + `","roles":[]}`, 400},
		{"password and hash together", "PUT", "/_security/user/bob", testcluster.Elastic, `{"password":"` + leakCanary + `","password_hash":"$2a$10$abc","roles":[]}`, 400},
		{"hash of another algorithm", "PUT", "/_security/user/bob", testcluster.Elastic, `{"password_hash":"{PBKDF2}10000$c2FsdA==$a2V5","roles":[]}`, 400},
		{"metadata key with _", "PUT", "/_security/user/bob", testcluster.Elastic, `{"password":"` + leakCanary + `","roles":[],"metadata":{"_x":1}}`, 400},
		{"unknown cluster privilege", "PUT", "/_security/role/r", testcluster.Elastic, `{"cluster":["launch_missiles"]}`, 400},
		{"unknown index privilege", "PUT", "/_security/role/r", testcluster.Elastic, `{"indices":[{"names":["*"],"privileges":["launch"]}]}`, 400},
		{"reserved role name", "PUT", "/_security/role/superuser", testcluster.Elastic, `{"cluster":["monitor"]}`, 400},
		{"empty body on put user", "PUT", "/_security/user/bob", testcluster.Elastic, ``, 400},
		{"unsupported content type", "PUT", "/_security/user/bob", testcluster.Elastic, "text:" + leakCanary, 406},
		{"no handler", "GET", "/_nothing_here", testcluster.Elastic, "", 400},
		{"wrong method", "PATCH", "/_security/user/bob", testcluster.Elastic, "", 405},
	}
	before := stateFingerprint(t, c)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, c.URL(0)+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", tc.auth)
			if strings.HasPrefix(tc.body, "text:") {
				req.Header.Set("Content-Type", "text/plain")
			} else if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			raw := new(bytes.Buffer)
			raw.ReadFrom(resp.Body)
			if resp.StatusCode != tc.want {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, raw, tc.want)
			}
			if resp.StatusCode >= 300 && resp.StatusCode < 400 {
				t.Fatalf("got a redirect to %s", resp.Header.Get("Location"))
			}
			if err := json.Unmarshal(raw.Bytes(), &body); err != nil {
				t.Fatalf("error body is not JSON: %q", raw)
			}
			if int(body["status"].(float64)) != tc.want {
				t.Errorf("body status %v, want %d", body["status"], tc.want)
			}
			if e, ok := body["error"].(map[string]any); ok {
				if e["type"] == nil || e["reason"] == nil {
					t.Errorf("error without type or reason: %s", raw)
				}
			} else if _, ok := body["error"].(string); !ok {
				t.Errorf("body has no error: %s", raw)
			}
			if strings.Contains(raw.String(), leakCanary) || strings.Contains(raw.String(), "$2a$") {
				t.Errorf("error body leaks a secret: %s", raw)
			}
			if resp.Header.Get("X-Elastic-Product") != "Elasticsearch" {
				t.Error("missing X-Elastic-Product header")
			}
		})
	}
	if !bytes.Equal(before, stateFingerprint(t, c)) {
		t.Fatal("bad input changed the state")
	}
	if r := c.Do(0, "GET", "/_cluster/health", testcluster.Elastic, nil); r.Status != 200 || r.JSON()["status"] != "green" {
		t.Fatalf("node unhealthy after bad input: %d %s", r.Status, r.Body)
	}
	// A good request with the canary password, and a failed login with it,
	// must not put it or its hash in the log either.
	if r := c.Do(0, "PUT", "/_security/user/canary", testcluster.Elastic, map[string]any{"password": leakCanary, "roles": []string{}}); r.Status != 200 {
		t.Fatalf("put canary user: %d %s", r.Status, r.Body)
	}
	c.Do(0, "GET", "/_security/_authenticate", testcluster.Basic("canary", leakCanary+"x"), nil)
	u, _ := c.Node(0).Cluster().State().User("canary")
	logs, err := os.ReadFile(filepath.Join(c.DataDir(0), "node.log"))
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) == 0 {
		t.Fatal("trace log is empty: the leak check would prove nothing")
	}
	for _, secret := range []string{leakCanary, u.PasswordHash} {
		if bytes.Contains(logs, []byte(secret)) {
			t.Errorf("log contains a secret (%d bytes of log)", len(logs))
		}
	}
}
