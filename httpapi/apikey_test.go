package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

type createdKey struct {
	ID, Name, APIKey, Encoded string
}

func createKey(t *testing.T, c *testcluster.Cluster, node int, auth string, body map[string]any) createdKey {
	t.Helper()
	r := c.Do(node, http.MethodPost, "/_security/api_key", auth, body)
	if r.Status != http.StatusOK {
		t.Fatalf("create api key on node %d: %d %s", node, r.Status, r.Body)
	}
	m := r.JSON()
	k := createdKey{ID: m["id"].(string), Name: m["name"].(string), APIKey: m["api_key"].(string), Encoded: m["encoded"].(string)}
	if want := base64.StdEncoding.EncodeToString([]byte(k.ID + ":" + k.APIKey)); k.Encoded != want {
		t.Fatalf("encoded %q, want %q", k.Encoded, want)
	}
	if len(k.ID) != 20 || len(k.APIKey) != 22 {
		t.Fatalf("id %q / secret length %d, want 20 / 22 characters", k.ID, len(k.APIKey))
	}
	return k
}

func keyAuth(k createdKey) string { return "ApiKey " + k.Encoded }

func keyWorks(c *testcluster.Cluster, i int, k createdKey) (int, []byte) {
	r, err := testcluster.Do(c.URL(i), http.MethodGet, "/_security/_authenticate", keyAuth(k), nil)
	if err != nil {
		return 0, []byte(err.Error())
	}
	return r.Status, r.Body
}

func putUser(t testing.TB, c *testcluster.Cluster, name, password string, roles ...string) string {
	t.Helper()
	if r := c.Do(0, http.MethodPut, "/_security/user/"+name, testcluster.Elastic, map[string]any{"password": password, "roles": roles}); r.Status != 200 {
		t.Fatalf("put user %s: %d %s", name, r.Status, r.Body)
	}
	return testcluster.Basic(name, password)
}

func putRole(t testing.TB, c *testcluster.Cluster, name string, body map[string]any) {
	t.Helper()
	if r := c.Do(0, http.MethodPut, "/_security/role/"+name, testcluster.Elastic, body); r.Status != 200 {
		t.Fatalf("put role %s: %d %s", name, r.Status, r.Body)
	}
}

// Acceptance 1: keys created on rotating nodes authenticate on every node
// immediately, and the authenticate answer is Elasticsearch's.
func TestAPIKeyCreatedAnywhereWorksEverywhereAtOnce(t *testing.T) {
	c := testcluster.New(t, 3)
	failures := 0
	for n := 0; n < 200; n++ {
		k := createKey(t, c, n%3, testcluster.Elastic, map[string]any{"name": fmt.Sprintf("k%d", n)})
		for i := 0; i < 3; i++ {
			if st, body := keyWorks(c, (n+1+i)%3, k); st != http.StatusOK {
				failures++
				t.Errorf("key %d from node %d on node %d: %d %s", n, n%3, (n+1+i)%3, st, body)
			}
		}
	}
	if failures > 0 {
		t.Fatalf("%d of 600 authentications failed", failures)
	}
	k := createKey(t, c, 1, testcluster.Elastic, map[string]any{"name": "shape"})
	r := c.Do(2, http.MethodGet, "/_security/_authenticate", keyAuth(k), nil)
	m := r.JSON()
	realm := m["authentication_realm"].(map[string]any)
	ak := m["api_key"].(map[string]any)
	if m["username"] != "elastic" || m["authentication_type"] != "api_key" || realm["name"] != "_es_api_key" ||
		ak["id"] != k.ID || ak["name"] != "shape" || len(m["roles"].([]any)) != 0 {
		t.Errorf("authenticate as api key: %s", r.Body)
	}
}

// Acceptance 2: invalidation by id, name, owner and username; every node
// rejects afterwards; counts as Elasticsearch reports them.
func TestAPIKeyInvalidation(t *testing.T) {
	c := testcluster.New(t, 3)
	putRole(t, c, "own_keys", map[string]any{"cluster": []string{"manage_own_api_key"}})
	amy := putUser(t, c, "amy", "amy-password", "own_keys")
	byID := createKey(t, c, 0, testcluster.Elastic, map[string]any{"name": "by-id"})
	byName := createKey(t, c, 1, testcluster.Elastic, map[string]any{"name": "by-name"})
	amy1 := createKey(t, c, 2, amy, map[string]any{"name": "amy-1"})
	amy2 := createKey(t, c, 0, amy, map[string]any{"name": "amy-2"})
	amy3 := createKey(t, c, 1, amy, map[string]any{"name": "amy-3"})

	invalidate := func(node int, auth string, body map[string]any) map[string]any {
		t.Helper()
		r := c.Do(node, http.MethodDelete, "/_security/api_key", auth, body)
		if r.Status != http.StatusOK {
			t.Fatalf("invalidate %v: %d %s", body, r.Status, r.Body)
		}
		return r.JSON()
	}
	// A node that has not applied the invalidation yet still accepts the
	// key; the bound is the replication lag, measured here and in make bench.
	rejectedEverywhere := func(k createdKey) {
		t.Helper()
		acked := time.Now()
		for i := 0; i < 3; i++ {
			c.Eventually(time.Second, "invalidation of "+k.Name+" on node "+c.ID(i), func() bool {
				st, body := keyWorks(c, i, k)
				return st == http.StatusUnauthorized && bytes.Contains(body, []byte("has been invalidated"))
			})
		}
		t.Logf("%s rejected on every node %v after the acknowledgement", k.Name, time.Since(acked))
	}
	res := invalidate(1, testcluster.Elastic, map[string]any{"ids": []string{byID.ID}})
	if fmt.Sprint(res["invalidated_api_keys"]) != "["+byID.ID+"]" || res["error_count"] != float64(0) {
		t.Errorf("by id: %v", res)
	}
	rejectedEverywhere(byID)
	res = invalidate(2, testcluster.Elastic, map[string]any{"ids": []string{byID.ID}})
	if fmt.Sprint(res["previously_invalidated_api_keys"]) != "["+byID.ID+"]" || len(res["invalidated_api_keys"].([]any)) != 0 {
		t.Errorf("again by id: %v", res)
	}
	res = invalidate(0, testcluster.Elastic, map[string]any{"name": "by-name"})
	if fmt.Sprint(res["invalidated_api_keys"]) != "["+byName.ID+"]" {
		t.Errorf("by name: %v", res)
	}
	rejectedEverywhere(byName)
	// amy, with manage_own_api_key only, invalidates her own by owner.
	res = invalidate(1, amy, map[string]any{"owner": "true", "name": "amy-1"})
	if fmt.Sprint(res["invalidated_api_keys"]) != "["+amy1.ID+"]" {
		t.Errorf("by owner: %v", res)
	}
	rejectedEverywhere(amy1)
	res = invalidate(2, testcluster.Elastic, map[string]any{"username": "amy"})
	if len(res["invalidated_api_keys"].([]any)) != 2 || len(res["previously_invalidated_api_keys"].([]any)) != 1 {
		t.Errorf("by username: %v", res)
	}
	rejectedEverywhere(amy2)
	rejectedEverywhere(amy3)
	res = invalidate(0, testcluster.Elastic, map[string]any{"ids": []string{"no-such-key"}})
	if len(res["invalidated_api_keys"].([]any)) != 0 || res["error_count"] != float64(0) {
		t.Errorf("unknown id: %v", res)
	}
	if r := c.Do(0, http.MethodDelete, "/_security/api_key", testcluster.Elastic, map[string]any{}); r.Status != 400 ||
		!bytes.Contains(r.Body, []byte("One of [api key id, api key name, username, realm name] must be specified")) {
		t.Errorf("no criteria: %d %s", r.Status, r.Body)
	}
}

// Acceptance 3: ownership and the intersection of a key's permissions.
func TestAPIKeyOwnershipAndIntersection(t *testing.T) {
	c := testcluster.New(t, 3)
	putRole(t, c, "own_keys", map[string]any{"cluster": []string{"manage_own_api_key", "monitor"},
		"indices": []any{map[string]any{"names": []string{"*"}, "privileges": []string{"all"}}}})
	amy := putUser(t, c, "amy", "amy-password", "own_keys")
	bob := putUser(t, c, "bob", "bob-password", "own_keys")
	bobKey := createKey(t, c, 1, bob, map[string]any{"name": "bob-key"})
	amyKey := createKey(t, c, 2, amy, map[string]any{"name": "amy-key"})

	r := c.Do(0, http.MethodGet, "/_security/api_key?owner=true", amy, nil)
	if r.Status != 200 || bytes.Contains(r.Body, []byte(bobKey.ID)) || !bytes.Contains(r.Body, []byte(amyKey.ID)) {
		t.Errorf("amy lists her keys: %d %s", r.Status, r.Body)
	}
	if r := c.Do(0, http.MethodGet, "/_security/api_key", amy, nil); r.Status != 403 {
		t.Errorf("amy lists all keys without owner=true: %d %s", r.Status, r.Body)
	}
	if r := c.Do(1, http.MethodGet, "/_security/api_key?owner=true&id="+bobKey.ID, amy, nil); r.Status != 404 {
		t.Errorf("amy gets bob's key by id: %d %s", r.Status, r.Body)
	}
	r = c.Do(1, http.MethodPost, "/_security/_query/api_key", amy, map[string]any{})
	if r.Status != 200 || r.JSON()["total"] != float64(1) || bytes.Contains(r.Body, []byte(bobKey.ID)) {
		t.Errorf("amy queries keys: %d %s", r.Status, r.Body)
	}
	r = c.Do(2, http.MethodDelete, "/_security/api_key", amy, map[string]any{"ids": []string{bobKey.ID}})
	if r.Status != http.StatusForbidden || !bytes.Contains(r.Body, []byte("this action is granted by the cluster privileges [manage_api_key,manage_security,all]")) {
		t.Errorf("amy invalidates bob's key: %d %s", r.Status, r.Body)
	}
	r = c.Do(2, http.MethodDelete, "/_security/api_key", amy, map[string]any{"owner": true, "ids": []string{bobKey.ID}})
	if r.Status != 200 || len(r.JSON()["invalidated_api_keys"].([]any)) != 0 {
		t.Errorf("amy invalidates bob's key as owner: %d %s", r.Status, r.Body)
	}
	if st, _ := keyWorks(c, 0, bobKey); st != 200 {
		t.Fatal("bob's key stopped working after amy's attempts")
	}
	// A narrower key: index-b only, no cluster privileges.
	narrow := createKey(t, c, 0, amy, map[string]any{"name": "narrow", "role_descriptors": map[string]any{
		"role-b": map[string]any{"index": []any{map[string]any{"names": []string{"index-b"}, "privileges": []string{"all"}}}}}})
	r = c.Do(1, http.MethodPost, "/_security/user/_has_privileges", keyAuth(narrow), map[string]any{
		"cluster": []string{"monitor"},
		"index":   []any{map[string]any{"names": []string{"index-b", "*"}, "privileges": []string{"read", "write"}}}})
	m := r.JSON()
	idx := m["index"].(map[string]any)
	if r.Status != 200 || m["username"] != "amy" || m["has_all_requested"] != false || m["cluster"].(map[string]any)["monitor"] != false ||
		idx["index-b"].(map[string]any)["read"] != true || idx["index-b"].(map[string]any)["write"] != true || idx["*"].(map[string]any)["read"] != false {
		t.Errorf("has_privileges for the narrow key: %d %s", r.Status, r.Body)
	}
	if r := c.Do(2, http.MethodGet, "/_cluster/health", keyAuth(narrow), nil); r.Status != http.StatusForbidden {
		t.Errorf("narrow key calls health: %d, want 403", r.Status)
	}
	if r := c.Do(2, http.MethodGet, "/_security/api_key?owner=true", keyAuth(narrow), nil); r.Status != http.StatusForbidden {
		t.Errorf("narrow key lists keys: %d, want 403", r.Status)
	}
	// A key with the owner's permissions can do what the owner can, not more.
	full := createKey(t, c, 0, amy, map[string]any{"name": "full"})
	if r := c.Do(2, http.MethodGet, "/_cluster/health", keyAuth(full), nil); r.Status != 200 {
		t.Errorf("full key calls health: %d, want 200", r.Status)
	}
	if r := c.Do(2, http.MethodGet, "/_security/user", keyAuth(full), nil); r.Status != http.StatusForbidden {
		t.Errorf("full key reads users: %d, want 403", r.Status)
	}
	// Derived keys must have explicitly empty descriptors.
	for _, body := range []map[string]any{{"name": "d1"}, {"name": "d2", "role_descriptors": map[string]any{}},
		{"name": "d3", "role_descriptors": map[string]any{"x": map[string]any{"cluster": []string{"monitor"}}}}} {
		if r := c.Do(0, http.MethodPost, "/_security/api_key", keyAuth(full), body); r.Status != 400 ||
			!bytes.Contains(r.Body, []byte("creating derived api keys requires an explicit role descriptor that is empty")) {
			t.Errorf("derived key %v: %d %s", body, r.Status, r.Body)
		}
	}
	derived := createKey(t, c, 1, keyAuth(full), map[string]any{"name": "d4", "role_descriptors": map[string]any{"x": map[string]any{}}})
	if r := c.Do(2, http.MethodGet, "/_cluster/health", keyAuth(derived), nil); r.Status != http.StatusForbidden {
		t.Errorf("derived key calls health: %d, want 403", r.Status)
	}
	// Only the owner updates, and not through a key.
	if r := c.Do(0, http.MethodPut, "/_security/api_key/"+amyKey.ID, bob, map[string]any{"metadata": map[string]any{"x": 1}}); r.Status != 404 {
		t.Errorf("bob updates amy's key: %d %s", r.Status, r.Body)
	}
	if r := c.Do(0, http.MethodPut, "/_security/api_key/"+amyKey.ID, keyAuth(full), nil); r.Status != 400 {
		t.Errorf("update through a key: %d %s", r.Status, r.Body)
	}
	if r := c.Do(1, http.MethodPut, "/_security/api_key/"+amyKey.ID, amy, map[string]any{"metadata": map[string]any{"x": 1}}); r.Status != 200 || r.JSON()["updated"] != true {
		t.Errorf("amy updates her key: %d %s", r.Status, r.Body)
	}
	if r := c.Do(2, http.MethodPut, "/_security/api_key/"+amyKey.ID, amy, nil); r.Status != 200 || r.JSON()["updated"] != false {
		t.Errorf("no-op update: %d %s", r.Status, r.Body)
	}
}

// Acceptance 4: expiry by each node's clock, and purge by a leader event.
func TestAPIKeyExpiryAndPurge(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{Settings: map[string]string{
		"xpack.security.authc.api_key.delete.retention_period": "1s",
		"xpack.security.authc.api_key.delete.interval":         "1s",
	}})
	short := createKey(t, c, 1, testcluster.Elastic, map[string]any{"name": "short", "expiration": "2s"})
	for i := 0; i < 3; i++ {
		if st, body := keyWorks(c, i, short); st != 200 {
			t.Fatalf("fresh 2s key on node %d: %d %s", i, st, body)
		}
	}
	c.Eventually(5*time.Second, "2s key expires", func() bool { st, _ := keyWorks(c, 0, short); return st == 401 })
	for i := 0; i < 3; i++ {
		if st, body := keyWorks(c, i, short); st != 401 || !bytes.Contains(body, []byte("api key is expired")) {
			t.Errorf("expired key on node %d: %d %s", i, st, body)
		}
	}
	gone := createKey(t, c, 2, testcluster.Elastic, map[string]any{"name": "gone"})
	if r := c.Do(0, http.MethodDelete, "/_security/api_key", testcluster.Elastic, map[string]any{"ids": []string{gone.ID}}); r.Status != 200 {
		t.Fatal(string(r.Body))
	}
	if r := c.Do(1, http.MethodGet, "/_security/api_key?id="+gone.ID, testcluster.Elastic, nil); r.Status != 200 || r.JSON()["api_keys"].([]any)[0].(map[string]any)["invalidated"] != true {
		t.Fatalf("invalidated key right after: %d %s", r.Status, r.Body)
	}
	for i := 0; i < 3; i++ {
		c.Eventually(10*time.Second, "purged key disappears on node "+c.ID(i), func() bool {
			r := c.Do(i, http.MethodGet, "/_security/api_key?id="+gone.ID, testcluster.Elastic, nil)
			return r.Status == http.StatusNotFound && string(r.Body) == `{"api_keys":[]}`
		})
		if r := c.Do(i, http.MethodGet, "/_security/api_key?id="+short.ID, testcluster.Elastic, nil); r.Status != 404 {
			t.Errorf("expired key still listed on node %d", i)
		}
	}
}

// Acceptance 6: bad input gets an Elasticsearch error and changes nothing.
func TestAPIKeyBadInput(t *testing.T) {
	c := testcluster.New(t, 1)
	before := stateFingerprint(t, c)
	headers := map[string]string{
		"not base64": "ApiKey !!!not-base64!!!",
		"no colon":   "ApiKey " + base64.StdEncoding.EncodeToString([]byte("justanid")),
		"1 MB":       "ApiKey " + strings.Repeat("QUFB", 1<<18),
		"unknown id": "ApiKey " + base64.StdEncoding.EncodeToString([]byte("VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw")),
	}
	for name, h := range headers {
		r := c.Do(0, http.MethodGet, "/_security/_authenticate", h, nil)
		if r.Status != 401 || r.JSON()["error"].(map[string]any)["type"] != "security_exception" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	long := strings.Repeat("n", 257)
	bodies := map[string]string{
		"unknown field":          `{"name":"x","colour":"red"}`,
		"bad expiration":         `{"name":"x","expiration":"forever"}`,
		"negative expiration":    `{"name":"x","expiration":"-1d"}`,
		"name over 256":          `{"name":"` + long + `"}`,
		"name starting with _":   `{"name":"_x"}`,
		"name with space at end": `{"name":"x "}`,
		"no name":                `{}`,
		"metadata key with _":    `{"name":"x","metadata":{"_secret":1}}`,
		"unknown privilege":      `{"name":"x","role_descriptors":{"r":{"cluster":["launch_missiles"]}}}`,
		"duplicate key":          `{"name":"x","name":"y"}`,
	}
	for name, body := range bodies {
		r := c.Do(0, http.MethodPost, "/_security/api_key", testcluster.Elastic, body)
		e, ok := r.JSON()["error"].(map[string]any)
		if r.Status != 400 || !ok || e["type"] == nil || e["reason"] == nil {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if !bytes.Equal(before, stateFingerprint(t, c)) {
		t.Fatal("bad input changed the state")
	}
}

// Acceptance 7 (and issue 6's 5): no API key or service token secret, nor
// any encoded value, anywhere under the data dirs or in the logs.
func TestCredentialSecretsNeverRest(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{LogLevel: "trace"})
	var secrets []string
	for n := 0; n < 20; n++ {
		k := createKey(t, c, n%3, testcluster.Elastic, map[string]any{"name": fmt.Sprintf("k%d", n)})
		secrets = append(secrets, k.APIKey, k.Encoded)
		keyWorks(c, (n+1)%3, k)
	}
	for n := 0; n < 5; n++ {
		_, value := createServiceToken(t, c, n%3, fmt.Sprintf("/_security/service/elastic/fleet-server/credential/token/t%d", n))
		raw, _ := base64.RawStdEncoding.DecodeString(value)
		secrets = append(secrets, value, string(raw[bytes.LastIndexByte(raw, ':')+1:]))
		c.Do((n+1)%3, http.MethodGet, "/_security/_authenticate", "Bearer "+value, nil)
	}
	c.Do(0, http.MethodDelete, "/_security/api_key", testcluster.Elastic, map[string]any{"name": "k1*"})
	c.Node(c.Leader()).Cluster().Snapshot()
	for i := 0; i < c.Len(); i++ {
		c.Stop(i)
	}
	scanned := 0
	for i := 0; i < c.Len(); i++ {
		filepath.Walk(c.DataDir(i), func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			scanned += len(data)
			for _, s := range secrets {
				if bytes.Contains(data, []byte(s)) {
					t.Errorf("%s contains an API key secret", path)
				}
			}
			return nil
		})
	}
	if scanned < 10_000 {
		t.Fatalf("scanned only %d bytes: the check would prove nothing", scanned)
	}
	t.Logf("scanned %d bytes of data dirs and logs", scanned)
}
