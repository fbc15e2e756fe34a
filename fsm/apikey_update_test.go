package fsm

import (
	"testing"

	"github.com/hashicorp/raft"
)

// A bulk update is one event: each id gets its own status, a repeated id
// counts once, and a no-op leaves the key (and its ModIndex) alone.
func TestAPIKeyUpdatedV2AppliesToEachID(t *testing.T) {
	f := New()
	lb := map[string]RoleDescriptor{"r": {Cluster: []string{"monitor"}}}
	joe := Creator{Principal: "joe", Realm: "default_native"}
	events := []Payload{
		APIKeyCreatedV1{Key: APIKey{ID: "k1", Name: "one", Type: "rest", Hash: "x", LimitedBy: lb, Creator: joe}},
		APIKeyCreatedV1{Key: APIKey{ID: "k2", Name: "two", Type: "rest", Hash: "x", LimitedBy: lb, Creator: joe}},
		APIKeyCreatedV1{Key: APIKey{ID: "k3", Name: "amy's", Type: "rest", Hash: "x", Creator: Creator{Principal: "amy", Realm: "default_native"}}},
		APIKeysInvalidatedV1{IDs: []string{"k2"}, Time: 1},
		APIKeyUpdatedV2{IDs: []string{"k1", "k1", "k2", "k3", "nope"}, Metadata: rawp(`{"a":1}`), LimitedBy: lb, Owner: "joe", OwnerRealm: "default_native"},
		APIKeyUpdatedV2{IDs: []string{"k1"}, Metadata: rawp(`{"a":1}`), LimitedBy: lb, Owner: "joe", OwnerRealm: "default_native"},
	}
	res := applyAll(t, f, events)
	want := map[string]Status{"k1": Updated, "k2": AlreadyExists, "k3": NotFound, "nope": NotFound}
	for id, st := range want {
		if res[4].Items[id] != st {
			t.Errorf("item %s: %v, want %v (%v)", id, res[4].Items[id], st, res[4])
		}
	}
	if res[4].Status != Updated || res[5].Status != Unchanged || res[5].Items["k1"] != Unchanged {
		t.Errorf("results %v / %v, want updated then unchanged", res[4], res[5])
	}
	k1, _ := f.State().APIKey("k1")
	if string(k1.Metadata) != `{"a":1}` || k1.ModIndex != 5 {
		t.Errorf("k1 after the updates: metadata %s, mod index %d; want {\"a\":1}, 5", k1.Metadata, k1.ModIndex)
	}
	// Only a changed snapshot is enough to update.
	other := map[string]RoleDescriptor{"r": {Cluster: []string{"all"}}}
	r := f.Apply(&raft.Log{Index: 7, Type: raft.LogCommand, Data: MustEncode(APIKeyUpdatedV2{IDs: []string{"k1"}, LimitedBy: other, Owner: "joe", OwnerRealm: "default_native"})}).(Result)
	if r.Items["k1"] != Updated {
		t.Errorf("a new limited_by: %v, want updated", r)
	}
}
