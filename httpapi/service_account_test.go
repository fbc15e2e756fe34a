package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/testcluster"
)

func createServiceToken(t *testing.T, c *testcluster.Cluster, node int, path string) (string, string) {
	t.Helper()
	r := c.Do(node, http.MethodPost, path, testcluster.Elastic, nil)
	if r.Status != 200 || r.JSON()["created"] != true {
		t.Fatalf("create service token %s on node %d: %d %s", path, node, r.Status, r.Body)
	}
	tok := r.JSON()["token"].(map[string]any)
	return tok["name"].(string), tok["value"].(string)
}

// Acceptance 1: an index token created through a follower works on every
// node at once; deleted, it fails everywhere; credentials list and count.
func TestServiceTokenLifecycleAcrossNodes(t *testing.T) {
	c := testcluster.New(t, 3)
	f := c.Followers()[0]
	name, value := createServiceToken(t, c, f, "/_security/service/elastic/fleet-server/credential/token/token1")
	if name != "token1" || !bytes.HasPrefix([]byte(value), []byte("AAEAAWVsYXN0aWMv")) {
		t.Fatalf("token %q value %q", name, value)
	}
	for i := 0; i < 3; i++ {
		r := c.Do(i, http.MethodGet, "/_security/_authenticate", "Bearer "+value, nil)
		m := r.JSON()
		tok, _ := m["token"].(map[string]any)
		if r.Status != 200 || m["username"] != "elastic/fleet-server" || tok["name"] != "token1" || tok["type"] != "_service_account_index" ||
			m["authentication_type"] != "token" || m["authentication_realm"].(map[string]any)["name"] != "_service_account" {
			t.Fatalf("authenticate on node %d: %d %s", i, r.Status, r.Body)
		}
	}
	genName, _ := createServiceToken(t, c, 0, "/_security/service/elastic/fleet-server/credential/token")
	if !authn.ValidServiceTokenName(genName) || len(genName) != 20 {
		t.Errorf("generated name %q", genName)
	}
	if r := c.Do(1, http.MethodPut, "/_security/service/elastic/fleet-server/credential/token/token1", testcluster.Elastic, nil); r.Status != http.StatusConflict {
		t.Errorf("duplicate name: %d %s", r.Status, r.Body)
	}
	r := c.Do(2, http.MethodGet, "/_security/service/elastic/fleet-server/credential", testcluster.Elastic, nil)
	m := r.JSON()
	if r.Status != 200 || m["count"] != float64(2) || len(m["tokens"].(map[string]any)) != 2 || m["service_account"] != "elastic/fleet-server" {
		t.Errorf("credentials: %d %s", r.Status, r.Body)
	}
	// The service account can do what its role allows, and nothing else.
	if r := c.Do(0, http.MethodGet, "/_cluster/health", "Bearer "+value, nil); r.Status != 200 {
		t.Errorf("fleet-server health: %d", r.Status)
	}
	r = c.Do(0, http.MethodDelete, "/_security/user/x", "Bearer "+value, nil)
	if r.Status != 403 || !bytes.Contains(r.Body, []byte("is unauthorized for user [elastic/fleet-server], this action is granted by the cluster privileges [manage_security,all]")) {
		t.Errorf("fleet-server deletes a user: %d %s", r.Status, r.Body)
	}
	if r := c.Do(0, http.MethodPost, "/_security/api_key", "Bearer "+value, map[string]any{"name": "fleet-key"}); r.Status != 200 {
		t.Errorf("fleet-server creates its own api key: %d %s", r.Status, r.Body)
	}
	if r := c.Do(1, http.MethodDelete, "/_security/service/elastic/fleet-server/credential/token/token1", testcluster.Elastic, nil); r.Status != 200 || r.JSON()["found"] != true {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	for i := 0; i < 3; i++ {
		c.Eventually(time.Second, "deleted token refused on node "+c.ID(i), func() bool {
			return c.Do(i, http.MethodGet, "/_security/_authenticate", "Bearer "+value, nil).Status == 401
		})
	}
	if r := c.Do(1, http.MethodDelete, "/_security/service/elastic/fleet-server/credential/token/token1", testcluster.Elastic, nil); r.Status != 404 || r.JSON()["found"] != false {
		t.Errorf("second delete: %d %s", r.Status, r.Body)
	}
}

// Acceptance 3: malformed service tokens are refused with ES bodies.
func TestServiceTokenBadInput(t *testing.T) {
	c := testcluster.New(t, 1)
	raw := func(prefix []byte, rest string) string {
		return "Bearer " + base64.RawStdEncoding.EncodeToString(append(prefix, rest...))
	}
	ok := []byte{0, 1, 0, 1}
	bearers := map[string]string{
		"short secret":         raw(ok, "elastic/fleet-server/token1:short"),
		"unknown account":      raw(ok, "elastic/no-such-svc/token1:abcdefghijklmnopqrstuv"),
		"other namespace":      raw(ok, "acme/fleet-server/token1:abcdefghijklmnopqrstuv"),
		"wrong version prefix": raw([]byte{0, 1, 0, 2}, "elastic/fleet-server/token1:abcdefghijklmnopqrstuv"),
		"name with slash":      raw(ok, "elastic/fleet-server/a/b:abcdefghijklmnopqrstuv"),
		"name starting with _": raw(ok, "elastic/fleet-server/_x:abcdefghijklmnopqrstuv"),
		"wrong secret":         raw(ok, "elastic/fleet-server/token1:abcdefghijklmnopqrstuv"),
		"not base64":           "Bearer !!!!",
		"1 MB":                 "Bearer " + string(bytes.Repeat([]byte("A"), 1<<20)),
	}
	for name, h := range bearers {
		r := c.Do(0, http.MethodGet, "/_security/_authenticate", h, nil)
		e, _ := r.JSON()["error"].(map[string]any)
		if r.Status != 401 || e["type"] != "security_exception" || r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	for _, path := range []string{"/_security/service/elastic/fleet-server/credential/token/_x",
		"/_security/service/elastic/fleet-server/credential/token/a%2Fb"} {
		if r := c.Do(0, http.MethodPost, path, testcluster.Elastic, nil); r.Status != 400 || !bytes.Contains(r.Body, []byte("invalid service token name")) {
			t.Errorf("create %s: %d %s", path, r.Status, r.Body)
		}
	}
	if r := c.Do(0, http.MethodPost, "/_security/service/elastic/nope/credential/token/t", testcluster.Elastic, nil); r.Status != 404 {
		t.Errorf("unknown account: %d %s", r.Status, r.Body)
	}
}

// Acceptance 4: the official typed client.
func TestServiceAccountsWithOfficialGoClient(t *testing.T) {
	c := testcluster.New(t, 1)
	es, err := elasticsearch.NewTypedClient(elasticsearch.Config{Addresses: []string{c.URL(0)}, Username: "elastic", Password: testcluster.ElasticPassword})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	accounts, err := es.Security.GetServiceAccounts().Do(ctx)
	if err != nil || len(accounts) < 3 {
		t.Fatalf("GetServiceAccounts: %v, %v", accounts, err)
	}
	if _, ok := accounts["elastic/fleet-server"]; !ok {
		t.Fatalf("no fleet-server in %v", accounts)
	}
	one, err := es.Security.GetServiceAccounts().Namespace("elastic").Service("kibana").Do(ctx)
	if err != nil || len(one) != 1 {
		t.Fatalf("GetServiceAccounts elastic/kibana: %v, %v", one, err)
	}
	created, err := es.Security.CreateServiceToken("elastic", "fleet-server").Name("client-token").Do(ctx)
	if err != nil || !created.Created || created.Token.Name != "client-token" || created.Token.Value == "" {
		t.Fatalf("CreateServiceToken: %+v, %v", created, err)
	}
	creds, err := es.Security.GetServiceCredentials("elastic", "fleet-server").Do(ctx)
	if err != nil || creds.Count != 1 || creds.ServiceAccount != "elastic/fleet-server" || creds.NodesCredentials.NodeStats.Total != 1 {
		t.Fatalf("GetServiceCredentials: %+v, %v", creds, err)
	}
	if _, ok := creds.Tokens["client-token"]; !ok {
		t.Fatalf("GetServiceCredentials tokens: %+v", creds.Tokens)
	}
	del, err := es.Security.DeleteServiceToken("elastic", "fleet-server", "client-token").Do(ctx)
	if err != nil || !del.Found {
		t.Fatalf("DeleteServiceToken: %+v, %v", del, err)
	}
}

// File tokens in process: a token written to the node's config dir works
// within 2 s; a broken file keeps the old tokens; removal takes effect.
// (cmd/tokenstore tests the same through the CLI and a process.)
func TestFileServiceTokensReload(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.Options{LogLevel: "trace"})
	dir := filepath.Join(c.DataDir(0), "config")
	secret, hash, err := authn.NewFileServiceTokenSecret()
	if err != nil {
		t.Fatal(err)
	}
	if err := authn.WriteServiceTokensFile(dir, authn.FileTokens{"elastic/fleet-server/file1": hash}); err != nil {
		t.Fatal(err)
	}
	bearer := "Bearer " + authn.ServiceTokenValue("elastic/fleet-server/file1", secret)
	c.Eventually(2*time.Second, "file token works", func() bool {
		return c.Do(0, http.MethodGet, "/_security/_authenticate", bearer, nil).Status == 200
	})
	r := c.Do(0, http.MethodGet, "/_security/_authenticate", bearer, nil)
	if r.JSON()["token"].(map[string]any)["type"] != "_service_account_file" {
		t.Fatalf("file token type: %s", r.Body)
	}
	creds := c.Do(0, http.MethodGet, "/_security/service/elastic/fleet-server/credential", testcluster.Elastic, nil).JSON()
	nodes := creds["nodes_credentials"].(map[string]any)["file_tokens"].(map[string]any)["file1"].(map[string]any)["nodes"].([]any)
	if creds["count"] != float64(1) || len(nodes) != 1 || nodes[0] != c.ID(0) {
		t.Errorf("credentials with a file token: %v", creds)
	}
	if err := os.WriteFile(filepath.Join(dir, authn.ServiceTokensFile), []byte("elastic/fleet-server/file1:"+hash+"\nthis line is broken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond) // two reload periods
	if r := c.Do(0, http.MethodGet, "/_security/_authenticate", bearer, nil); r.Status != 200 {
		t.Fatalf("a broken file dropped the old tokens: %d", r.Status)
	}
	logs, _ := os.ReadFile(filepath.Join(c.DataDir(0), "node.log"))
	if !bytes.Contains(logs, []byte("line 2")) {
		t.Errorf("the malformed file's line number is not in the log")
	}
	if err := authn.WriteServiceTokensFile(dir, authn.FileTokens{}); err != nil {
		t.Fatal(err)
	}
	c.Eventually(2*time.Second, "removed file token refused", func() bool {
		return c.Do(0, http.MethodGet, "/_security/_authenticate", bearer, nil).Status == 401
	})
	if bytes.Contains(logs, []byte(secret)) {
		t.Error("the log contains a file token secret")
	}
}
