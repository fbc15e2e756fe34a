package audit

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/fsm"
)

// TestEveryEventIsClassified fails when an event is added to fsm without
// saying here whether it is a security configuration change (and then
// describing it in describeChange).
func TestEveryEventIsClassified(t *testing.T) {
	changes := map[fsm.EventType]fsm.Payload{
		fsm.UserPut: fsm.UserPutV1{}, fsm.UserDeleted: fsm.UserDeletedV1{}, fsm.UserEnabledSet: fsm.UserEnabledSetV1{},
		fsm.UserPasswordChanged: fsm.UserPasswordChangedV1{}, fsm.RolePut: fsm.RolePutV1{}, fsm.RoleDeleted: fsm.RoleDeletedV1{},
		fsm.ApplicationPrivilegePut: fsm.ApplicationPrivilegePutV1{}, fsm.ApplicationPrivilegeDel: fsm.ApplicationPrivilegeDeletedV1{},
		fsm.APIKeyCreated: fsm.APIKeyCreatedV1{}, fsm.APIKeyUpdated: fsm.APIKeyUpdatedV2{}, fsm.APIKeysInvalidated: fsm.APIKeysInvalidatedV1{},
		fsm.ServiceTokenCreated: fsm.ServiceTokenCreatedV1{}, fsm.ServiceTokenDeleted: fsm.ServiceTokenDeletedV1{Qualified: "a/b/c"},
		fsm.ProfileDataUpdated: fsm.ProfileDataUpdatedV1{UID: "u_x_0"}, fsm.ProfileEnabledSet: fsm.ProfileEnabledSetV1{UID: "u_x_0"},
	}
	// Elasticsearch does not audit tokens as security changes; the others
	// only the leader proposes, for no client.
	others := map[fsm.EventType]fsm.Payload{
		fsm.TokenIssued: fsm.TokenIssuedV1{}, fsm.TokenRefreshed: fsm.TokenRefreshedV1{}, fsm.TokensInvalidated: fsm.TokensInvalidatedV1{},
		fsm.ElasticBootstrapped: fsm.ElasticBootstrappedV1{}, fsm.NodeRegistered: fsm.NodeRegisteredV1{},
		fsm.APIKeysPurged: fsm.APIKeysPurgedV1{}, fsm.TokensPurged: fsm.TokensPurgedV1{},
		fsm.APIKeysUsed: fsm.APIKeysUsedV1{},
		// Elasticsearch does not audit a profile's activation as a change.
		fsm.ProfileActivated: fsm.ProfileActivatedV1{},
	}
	for _, typ := range fsm.EventTypes() {
		if p, ok := changes[typ]; ok {
			ch, ok := describeChange(p, authn.Caller{}, nil)
			if !ok || ch.action == "" || !json.Valid(ch.body) {
				t.Errorf("event %d: got %+v, want a security_config_change", typ, ch)
			}
			continue
		}
		p, ok := others[typ]
		if !ok {
			t.Errorf("event %d is not classified: is it a security configuration change?", typ)
			continue
		}
		if _, ok := describeChange(p, authn.Caller{}, nil); ok {
			t.Errorf("event %d: got a security_config_change, want none", typ)
		}
	}
}

// TestChangesHoldNoHashes builds every change from payloads carrying
// hashes and finds none of them in the objects.
func TestChangesHoldNoHashes(t *testing.T) {
	const hash = "$2a$10$abcdefghijklmnopqrstuvHASHHASHHASHHASHHASHHASHHASHHASH"
	const ssha = "{SSHA256}c2FsdHNhbHQxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMg=="
	for _, p := range []fsm.Payload{
		fsm.UserPutV1{User: fsm.User{Username: "u", PasswordHash: hash}},
		fsm.UserPasswordChangedV1{Username: "u", PasswordHash: hash},
		fsm.APIKeyCreatedV1{Key: fsm.APIKey{ID: "k", Name: "n", Type: "rest", Hash: ssha}},
		fsm.ServiceTokenCreatedV1{Token: fsm.ServiceToken{Namespace: "elastic", Service: "fleet-server", Name: "t", Hash: ssha}},
	} {
		ch, ok := describeChange(p, authn.Caller{}, nil)
		if !ok || !json.Valid(ch.body) {
			t.Errorf("%T: got %+v, want a change", p, ch)
		}
		for _, s := range []string{hash, ssha, "HASH", "password_hash", "c2FsdHNhbHQ"} {
			if strings.Contains(string(ch.body), s) {
				t.Errorf("%T: %s holds %q", p, ch.body, s)
			}
		}
	}
}

func TestBulkRoleDeleteIsADeleteRoleEach(t *testing.T) {
	got := oneChangeEach(fsm.RoleDeletedV2{Names: []string{"r1", "r2"}})
	if len(got) != 2 {
		t.Fatalf("got %d changes, want 2", len(got))
	}
	for i, name := range []string{"r1", "r2"} {
		ch, ok := describeChange(got[i], authn.Caller{}, nil)
		if !ok || ch.action != "delete_role" || !strings.Contains(string(ch.body), `"`+name+`"`) {
			t.Errorf("change %d: got %s %s, want delete_role of %s", i, ch.action, ch.body, name)
		}
	}
}
