package httpapi_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/tokenstore/tokenstore/fsm"
	"github.com/tokenstore/tokenstore/testcluster"
)

// forge sends an event straight to the leader's internal propose endpoint,
// as a follower would forward it, with the caller's and a subject's headers.
func forge(t *testing.T, c *testcluster.Cluster, auth, subject string, p fsm.Payload) testcluster.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.URL(c.Leader())+"/_tokenstore/internal/propose", bytes.NewReader(fsm.MustEncode(p)))
	req.Header.Set("Authorization", auth)
	if subject != "" {
		req.Header.Set("X-Tokenstore-Subject", subject)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return testcluster.Response{Status: resp.StatusCode, Body: b.Bytes()}
}

// Forged forwarded events must not give anyone more than the same request
// would get through the API (regressions for the review's exploits).
func TestForgedForwardedEventsAreRefused(t *testing.T) {
	c := testcluster.New(t, 1)
	putRole(t, c, "keys_and_tokens", map[string]any{"cluster": []string{"manage_own_api_key", "manage_token"}})
	bob := putUser(t, c, "bob", "bob-password", "keys_and_tokens")
	before := stateFingerprint(t, c)

	superuser := map[string]fsm.RoleDescriptor{"superuser": {Cluster: []string{"all"}}}
	bobCreator := fsm.Creator{Principal: "bob", Realm: "default_native", RealmType: "native"}
	key := fsm.APIKey{ID: "forgedforgedforged01", Name: "x", Type: "rest", Hash: "{SSHA256}AAAAAAAAAAA=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
		RoleDescriptors: map[string]fsm.RoleDescriptor{}, LimitedBy: superuser, Creator: bobCreator}
	if r := forge(t, c, bob, "", fsm.APIKeyCreatedV1{Key: key}); r.Status != 403 {
		t.Errorf("api key with a superuser limited_by: %d %s", r.Status, r.Body)
	}
	elasticKey := createKey(t, c, 0, testcluster.Elastic, map[string]any{"name": "elastic-key"})
	forgedToken := fsm.TokenPair{DocID: "token_forged", AccessHash: "x", Creation: 1, GrantTime: 1, AccessExpiry: 2,
		Username: "elastic", Realm: "_es_api_key", APIKeyID: elasticKey.ID, Client: "default_native/bob"}
	if r := forge(t, c, bob, "", fsm.TokenIssuedV1{Pair: forgedToken}); r.Status != 403 {
		t.Errorf("token standing for elastic's key: %d %s", r.Status, r.Body)
	}
	bobTokens := c.Do(0, http.MethodPost, "/_security/oauth2/token", bob, map[string]string{"grant_type": "password", "username": "bob", "password": "bob-password"})
	refresh := bobTokens.JSON()["refresh_token"].(string)
	var docID string
	for _, p := range c.Node(0).Cluster().State().Tokens(func(*fsm.TokenPair) bool { return true }) {
		docID = p.DocID
	}
	refreshed := fsm.TokenRefreshedV1{DocID: docID, Time: 5, Salt: "s", NewPair: fsm.TokenPair{DocID: "token_mine", AccessHash: "x",
		Username: "elastic", Realm: "reserved", RealmType: "reserved", Client: "default_native/bob", Creation: 5, GrantTime: 5, AccessExpiry: 6}}
	if r := forge(t, c, bob, "Refresh "+refresh, refreshed); r.Status != 403 {
		t.Errorf("refresh into a token for elastic: %d %s", r.Status, r.Body)
	}
	if r := forge(t, c, bob, "", fsm.TokenIssuedV1{Pair: fsm.TokenPair{DocID: "token_forgedpair", AccessHash: "x", RefreshHash: "y",
		Username: "elastic", Realm: "reserved", Client: "default_native/bob"}}); r.Status != 403 {
		t.Errorf("password-grant token for elastic without elastic's password: %d %s", r.Status, r.Body)
	}
	undecodable := append([]byte{0, byte(fsm.ServiceTokenCreated), 1}, `{"token":5}`...)
	req, _ := http.NewRequest(http.MethodPost, c.URL(0)+"/_tokenstore/internal/propose", bytes.NewReader(undecodable))
	req.Header.Set("Authorization", testcluster.Elastic)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 400 {
		t.Errorf("undecodable event body: %v %v", resp.StatusCode, err)
	}
	after := stateFingerprint(t, c)
	// The grant and key made through the API above changed the state; the
	// forged events must not have: none of their ids may appear.
	for _, id := range []string{"forgedforgedforged01", "token_forged", "token_mine", "token_forgedpair"} {
		if bytes.Contains(after, []byte(id)) && !bytes.Contains(before, []byte(id)) {
			t.Errorf("forged record %s reached the state", id)
		}
	}
	// Joining needs a manage-privileged credential.
	join := `{"id":"evil","raft_addr":"127.0.0.1:1","http_addr":"127.0.0.1:2"}`
	for _, auth := range []string{"", bob} {
		req, _ := http.NewRequest(http.MethodPost, c.URL(0)+"/_tokenstore/internal/join", bytes.NewBufferString(join))
		req.Header.Set("Authorization", auth)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
			t.Errorf("join with auth %q: %v %v", auth, resp.StatusCode, err)
		}
	}
	members, _ := c.Node(0).Cluster().Members()
	if len(members) != 1 {
		t.Fatalf("members after refused joins: %+v", members)
	}
}
