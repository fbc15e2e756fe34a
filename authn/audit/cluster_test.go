package audit_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/node"
	"github.com/tokenstore/tokenstore/testcluster"
)

// auditRecord is one line of an audit file.
type auditRecord map[string]any

func (r auditRecord) str(path string) string {
	var v any = map[string]any(r)
	for _, k := range strings.Split(path, "/") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// readAudit reads every record of a node's audit files, rolled ones too.
func readAudit(t *testing.T, dir string) []auditRecord {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "logs", "*_audit*.json*"))
	var out []auditRecord
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		if strings.HasSuffix(f, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("gunzip %s: %v", f, err)
			}
			data, _ = io.ReadAll(zr)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var r auditRecord
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: a line that is not JSON: %q", f, sc.Text())
			}
			out = append(out, r)
		}
	}
	return out
}

func matching(recs []auditRecord, want map[string]string) []auditRecord {
	var out []auditRecord
	for _, r := range recs {
		ok := true
		for k, v := range want {
			if r.str(k) != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

// step is one request made on a follower and the one record it must leave
// in that follower's audit file (and in no other node's).
type step struct {
	method, path, auth string
	body               any
	status             int
	want               map[string]string
}

func TestAuditRecordsWrittenByTheFollowerThatServedTheRequest(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{Settings: node.Settings{"xpack.security.audit.enabled": "true"}})
	f := c.Followers()[0]
	const pw1, pw2, pw3 = "audit-first-Secret-1", "audit-second-Secret-2", "audit-third-Secret-3"
	do := func(s step) testcluster.Response {
		t.Helper()
		auth := s.auth
		if auth == "" {
			auth = testcluster.Elastic
		}
		r := c.Do(f, s.method, s.path, auth, s.body)
		if r.Status != s.status {
			t.Fatalf("%s %s: got %d %s, want %d", s.method, s.path, r.Status, r.Body, s.status)
		}
		return r
	}
	change := func(action string, kv ...string) map[string]string {
		m := map[string]string{"event.type": "security_config_change", "event.action": action}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	steps := []step{
		{"PUT", "/_security/user/audit_u1", "", map[string]any{"password": pw1, "roles": []string{"viewer"}, "full_name": "Audit One"}, 200,
			change("put_user", "put/user/name", "audit_u1", "put/user/has_password", "true", "put/user/roles", `["viewer"]`, "put/user/enabled", "true")},
		{"POST", "/_security/user/audit_u1/_password", "", map[string]any{"password": pw2}, 200,
			change("change_password", "change/password/user/name", "audit_u1")},
		{"PUT", "/_security/user/audit_u1/_disable", "", nil, 200, change("change_disable_user", "change/disable/user/name", "audit_u1")},
		{"PUT", "/_security/user/audit_u1/_enable", "", nil, 200, change("change_enable_user", "change/enable/user/name", "audit_u1")},
		{"PUT", "/_security/role/audit_r1", "", map[string]any{"cluster": []string{"monitor"}, "indices": []any{map[string]any{"names": []string{"logs-*"}, "privileges": []string{"read"}}}}, 200,
			change("put_role", "put/role/name", "audit_r1", "put/role/role_descriptor/cluster", `["monitor"]`,
				"put/role/role_descriptor/indices", `[{"names":["logs-*"],"privileges":["read"]}]`)},
		{"PUT", "/_security/privilege", "", map[string]any{"auditapp": map[string]any{"read": map[string]any{"actions": []string{"data:read/*"}}}}, 200,
			change("put_privileges", "put/privileges", `[{"actions":["data:read/*"],"application":"auditapp","metadata":{},"name":"read"}]`)},
		{"DELETE", "/_security/privilege/auditapp/read", "", nil, 200,
			change("delete_privileges", "delete/privileges/application", "auditapp", "delete/privileges/privileges", `["read"]`)},
		{"POST", "/_security/service/elastic/fleet-server/credential/token/audit-t1", "", nil, 200,
			change("create_service_token", "create/service_token/namespace", "elastic", "create/service_token/service", "fleet-server", "create/service_token/name", "audit-t1")},
		{"DELETE", "/_security/service/elastic/fleet-server/credential/token/audit-t1", "", nil, 200,
			change("delete_service_token", "delete/service_token/name", "audit-t1")},
	}
	var secrets []string
	for _, s := range steps {
		r := do(s)
		if tok, ok := r.JSON()["token"].(map[string]any); ok {
			secrets = append(secrets, tok["value"].(string))
		}
	}

	// API keys: created, granted, updated one and in bulk, invalidated.
	k1 := do(step{method: "POST", path: "/_security/api_key", body: map[string]any{"name": "audit-k1", "expiration": "36h"}, status: 200}).JSON()
	k2 := do(step{method: "POST", path: "/_security/api_key/grant", body: map[string]any{"grant_type": "password", "username": "audit_u1",
		"password": pw2, "api_key": map[string]any{"name": "audit-k2"}}, status: 200}).JSON()
	id1 := k1["id"].(string)
	for _, k := range []map[string]any{k1, k2} {
		secrets = append(secrets, k["api_key"].(string), k["encoded"].(string))
	}
	steps = append(steps,
		step{want: change("create_apikey", "create/apikey/name", "audit-k1", "create/apikey/id", id1, "create/apikey/expiration", "1.5d", "create/apikey/type", "rest")},
		step{want: change("create_apikey", "create/apikey/name", "audit-k2", "create/grant/type", "password", "create/grant/user/name", "audit_u1", "create/grant/user/has_password", "true")})
	more := []step{
		{"PUT", "/_security/api_key/" + id1, "", map[string]any{"metadata": map[string]any{"env": "one"}, "expiration": "7d"}, 200,
			change("change_apikey", "change/apikey/id", id1, "change/apikey/metadata", `{"env":"one"}`, "change/apikey/expiration", "7d")},
		{"POST", "/_security/api_key/_bulk_update", "", map[string]any{"ids": []string{id1}, "metadata": map[string]any{"env": "two"}}, 200,
			change("change_apikeys", "change/apikeys/ids", `["`+id1+`"]`, "change/apikeys/metadata", `{"env":"two"}`)},
		{"DELETE", "/_security/api_key", "", map[string]any{"ids": []string{id1}}, 200,
			change("invalidate_apikeys", "invalidate/apikeys/ids", `["`+id1+`"]`, "invalidate/apikeys/owned_by_authenticated_user", "false")},
		{"DELETE", "/_security/role/audit_r1", "", nil, 200, change("delete_role", "delete/role/name", "audit_r1")},
		// An authenticated user without the privilege, then a wrong password.
		{"PUT", "/_security/user/audit_u2", "", map[string]any{"password": pw3, "roles": []string{}}, 200,
			change("put_user", "put/user/name", "audit_u2")},
		{"GET", "/_security/user", testcluster.Basic("audit_u2", pw3), nil, 403,
			map[string]string{"event.type": "transport", "event.action": "access_denied", "user.name": "audit_u2", "user.realm": "default_native",
				"authentication.type": "REALM", "user.roles": "[]", "origin.type": "rest", "action": "cluster:admin/xpack/security/user/get"}},
		{"GET", "/_security/_authenticate?pretty", testcluster.Basic("audit_nobody", pw1), nil, 401,
			map[string]string{"event.type": "rest", "event.action": "authentication_failed", "user.name": "audit_nobody",
				"url.path": "/_security/_authenticate", "url.query": "pretty", "request.method": "GET", "origin.type": "rest"}},
		{"DELETE", "/_security/user/audit_u1", "", nil, 200, change("delete_user", "delete/user/name", "audit_u1")},
	}
	for _, s := range more {
		do(s)
	}
	steps = append(steps, more...)

	var recs []auditRecord
	c.Eventually(5*time.Second, "every record on the follower", func() bool {
		recs = readAudit(t, c.DataDir(f))
		for _, s := range steps {
			if len(matching(recs, s.want)) == 0 {
				return false
			}
		}
		return true
	})
	for _, s := range steps {
		got := matching(recs, s.want)
		if len(got) != 1 {
			t.Errorf("%v: got %d records on the follower, want 1", s.want, len(got))
			continue
		}
		r := got[0]
		if r.str("type") != "audit" || r.str("node.id") != c.ID(f) || r.str("request.id") == "" || r.str("timestamp") == "" {
			t.Errorf("%v: record lacks the common fields: %v", s.want, r)
		}
		for i := 0; i < c.Len(); i++ {
			if i == f {
				continue
			}
			if n := len(matching(readAudit(t, c.DataDir(i)), map[string]string{"request.id": r.str("request.id")})); n != 0 {
				t.Errorf("%v: node %d wrote %d records of the follower's request", s.want, i, n)
			}
		}
	}
	// A change and the access_granted that allowed it share the request's id.
	for _, w := range []struct {
		change map[string]string
		action string
	}{
		{steps[0].want, "cluster:admin/xpack/security/user/put"},
		{change("create_apikey", "create/apikey/name", "audit-k1"), "cluster:admin/xpack/security/api_key/create"},
		{change("create_apikey", "create/apikey/name", "audit-k2"), "cluster:admin/xpack/security/api_key/grant"},
	} {
		ch := matching(recs, w.change)
		if len(ch) != 1 {
			continue // reported above
		}
		granted := matching(recs, map[string]string{"event.action": "access_granted", "request.id": ch[0].str("request.id")})
		if len(granted) != 1 || granted[0].str("action") != w.action || granted[0].str("user.name") != "elastic" {
			t.Errorf("access_granted of the %s request: got %v", w.action, granted)
		}
	}
	// The stored hashes themselves, without their format's prefix.
	st := c.Node(f).Cluster().State()
	if u, ok := st.User("audit_u2"); ok {
		secrets = append(secrets, u.PasswordHash, u.PasswordHash[len(u.PasswordHash)-20:])
	} else {
		t.Error("audit_u2 is not in the state")
	}
	for _, id := range []string{id1, k2["id"].(string)} {
		if k, ok := st.APIKey(id); ok {
			h := k.StoredHash()
			secrets = append(secrets, h, h[len(h)-20:])
		} else {
			t.Errorf("api key %s is not in the state", id)
		}
	}
	scanForSecrets(t, c, append(secrets, pw1, pw2, pw3, testcluster.ElasticPassword))
}

// scanForSecrets reads every audit file of every node, rolled ones
// unzipped, for the workload's secrets and for any stored hash format.
func scanForSecrets(t *testing.T, c *testcluster.Cluster, secrets []string) {
	t.Helper()
	needles := append([]string{"{SSHA256}", "{PBKDF2", "$2a$", "$2b$", "$2y$", "password_hash"}, secrets...)
	for i := 0; i < c.Len(); i++ {
		files, _ := filepath.Glob(filepath.Join(c.DataDir(i), "logs", "*"))
		if len(files) == 0 {
			t.Errorf("node %d has no audit file", i)
		}
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(name, ".gz") {
				zr, err := gzip.NewReader(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				data, _ = io.ReadAll(zr)
			}
			for _, s := range needles {
				if bytes.Contains(data, []byte(s)) {
					t.Errorf("%s holds %q", name, s)
				}
			}
		}
	}
}
