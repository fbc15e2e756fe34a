package httpapi_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/fsm"
	"github.com/tokenstore/tokenstore/testcluster"
)

// digest43 is a well-formed SHA-256 in unpadded base64url, the shape of
// the digests and document ids the service generates.
func digest43(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// forgeBoth forges p and then its compact version (fsm.Compact), which the
// leader must hold to the same checks: the answer is the compact one's,
// and a different status for the two fails the test.
func forgeBoth(t *testing.T, c *testcluster.Cluster, auth, subject string, p fsm.Payload) testcluster.Response {
	t.Helper()
	r := forge(t, c, auth, subject, p)
	compact, ok := fsm.Compact(p)
	if !ok {
		t.Fatalf("%T has no compact version", p)
	}
	rc := forge(t, c, auth, subject, compact)
	if rc.Status != r.Status {
		t.Errorf("%T answered %d, its compact version %d %s", p, r.Status, rc.Status, rc.Body)
	}
	return rc
}

// Issue 12, finding 10: the leader checked who proposed a forwarded event
// but not what it said. A manage_token user forged a token living until
// 2100; a manage_own_api_key user forged a "_system" cross_cluster key
// "created" by someone else with reserved metadata. The leader now holds
// forwarded content to what the public API would have written.
func TestForwardedEventContentIsValidated(t *testing.T) {
	c := testcluster.New(t, 1)
	putRole(t, c, "keys_and_tokens", map[string]any{"cluster": []string{"manage_own_api_key", "manage_token"}})
	bob := putUser(t, c, "bob", "bob-password", "keys_and_tokens")
	st := c.Node(0).Cluster().State()
	role, _ := st.Role("keys_and_tokens")
	now := time.Now().UnixMilli()
	year2100 := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

	pair := func(seed string, creation int64) fsm.TokenPair {
		return fsm.TokenPair{DocID: "token_" + digest43(seed+"doc"), AccessHash: digest43(seed), Creation: creation,
			GrantTime: creation, AccessExpiry: creation + 20*60_000, Username: "bob", Realm: "default_native",
			RealmType: "native", Client: "default_native/bob"}
	}
	if r := forgeBoth(t, c, bob, "", fsm.TokenIssuedV1{Pair: pair("fresh", now)}); r.Status != http.StatusOK {
		t.Fatalf("a token as get token would issue it was refused: %d %s", r.Status, r.Body)
	}
	badTokens := map[string]fsm.TokenPair{"created in 2100": pair("t2100", year2100)}
	p := pair("badid", now)
	p.DocID = "token_x"
	badTokens["malformed document id"] = p
	p = pair("realmtype", now)
	p.RealmType = "reserved"
	badTokens["another realm type"] = p
	for what, p := range badTokens {
		if r := forgeBoth(t, c, bob, "", fsm.TokenIssuedV1{Pair: p}); r.Status != http.StatusForbidden {
			t.Errorf("token %s: %d %s", what, r.Status, r.Body)
		}
		if _, ok := st.Token(p.DocID); ok {
			t.Errorf("token %s reached the state", what)
		}
	}

	seq := 0
	key := func(mutate func(*fsm.APIKey)) fsm.APIKey {
		seq++
		k := fsm.APIKey{ID: fmt.Sprintf("forgedkey%011d", seq), Name: "ok", Type: "rest",
			Hash:     "{SSHA256}AAAAAAAAAAA=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
			Creation: now, RoleDescriptors: map[string]fsm.RoleDescriptor{}, LimitedBy: map[string]fsm.RoleDescriptor{"keys_and_tokens": role.Descriptor},
			Creator: fsm.Creator{Principal: "bob", Realm: "default_native", RealmType: "native"}}
		mutate(&k)
		return k
	}
	if k := key(func(*fsm.APIKey) {}); forgeBoth(t, c, bob, "", fsm.APIKeyCreatedV1{Key: k}).Status != http.StatusOK {
		t.Fatalf("a key as create would write it was refused")
	}
	superuser := "Elastic Superuser"
	badKeys := map[string]func(*fsm.APIKey){
		"named _system":          func(k *fsm.APIKey) { k.Name = "_system" },
		"of type cross_cluster":  func(k *fsm.APIKey) { k.Type = "cross_cluster" },
		"with reserved metadata": func(k *fsm.APIKey) { k.Metadata = json.RawMessage(`{"_reserved":true}`) },
		"by another creator":     func(k *fsm.APIKey) { k.Creator.FullName = &superuser },
		"created in 2100":        func(k *fsm.APIKey) { k.Creation = year2100 },
		"with a malformed id":    func(k *fsm.APIKey) { k.ID = "x" },
		"with a malformed hash":  func(k *fsm.APIKey) { k.Hash = "plain" },
		"already invalidated":    func(k *fsm.APIKey) { k.Invalidated, k.Invalidation = true, year2100 },
	}
	for what, mutate := range badKeys {
		k := key(mutate)
		if r := forgeBoth(t, c, bob, "", fsm.APIKeyCreatedV1{Key: k}); r.Status != http.StatusForbidden {
			t.Errorf("key %s: %d %s", what, r.Status, r.Body)
		}
		if _, ok := st.APIKey(k.ID); ok {
			t.Errorf("key %s reached the state", what)
		}
	}

	own := createKey(t, c, 0, bob, map[string]any{"name": "own"})
	reserved := json.RawMessage(`{"_reserved":true}`)
	update := fsm.APIKeyUpdatedV2{IDs: []string{own.ID}, Metadata: &reserved,
		LimitedBy: map[string]fsm.RoleDescriptor{"keys_and_tokens": role.Descriptor}, Owner: "bob", OwnerRealm: "default_native"}
	if r := forge(t, c, bob, "", update); r.Status != http.StatusForbidden {
		t.Errorf("update with reserved metadata: %d %s", r.Status, r.Body)
	}
	if k, _ := st.APIKey(own.ID); string(k.Metadata) == string(reserved) {
		t.Errorf("reserved metadata reached the key")
	}
	if r := forgeBoth(t, c, bob, "", fsm.APIKeysInvalidatedV1{IDs: []string{own.ID}, Time: year2100}); r.Status != http.StatusForbidden {
		t.Errorf("invalidation dated 2100: %d %s", r.Status, r.Body)
	}
	if r := forge(t, c, testcluster.Elastic, "", fsm.RolePutV1{Name: "superuser", Descriptor: fsm.RoleDescriptor{}}); r.Status != http.StatusForbidden {
		t.Errorf("overwriting a reserved role: %d %s", r.Status, r.Body)
	}
}
