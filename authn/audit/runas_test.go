package audit_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/node"
	"github.com/tokenstore/tokenstore/testcluster"
)

// Issue 14, item 9: run-as decisions are audited as Elasticsearch does,
// with the authenticating user as user.name and the run-as user beside it.
func TestAuditRunAs(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.Options{Settings: node.Settings{"xpack.security.audit.enabled": "true"}})
	for _, r := range []struct{ path string }{{"/_security/user/au_target"}, {"/_security/user/au_plain"}} {
		if res := c.Do(0, http.MethodPut, r.path, testcluster.Elastic, map[string]any{"password": "au-password", "roles": []string{"viewer"}}); res.Status != 200 {
			t.Fatalf("put user: %d %s", res.Status, res.Body)
		}
	}
	send := func(auth, target string, want int) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, c.URL(0)+"/_security/_authenticate", nil)
		req.Header.Set("Authorization", auth)
		req.Header.Set("es-security-runas-user", target)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("run as %s: %d, want %d", target, resp.StatusCode, want)
		}
	}
	send(testcluster.Elastic, "au_target", 200)
	send(testcluster.Basic("au_plain", "au-password"), "au_target", 403)
	const action = "cluster:admin/xpack/security/user/authenticate"
	wants := []map[string]string{
		{"event.type": "transport", "event.action": "run_as_granted", "user.name": "elastic", "user.realm": "reserved",
			"user.run_as.name": "au_target", "user.run_as.realm": "default_native", "user.roles": `["superuser"]`, "action": action, "origin.type": "rest"},
		{"event.type": "transport", "event.action": "run_as_denied", "user.name": "au_plain", "user.realm": "default_native",
			"user.run_as.name": "au_target", "user.roles": `["viewer"]`, "action": action},
	}
	var recs []auditRecord
	c.Eventually(5*time.Second, "the run-as records", func() bool {
		recs = readAudit(t, c.DataDir(0))
		for _, w := range wants {
			if len(matching(recs, w)) != 1 {
				return false
			}
		}
		return true
	})
}
