package fsm

import "testing"

// A version of an event from before remote_cluster builds the state every
// build builds from it (without remote_cluster); the newer version keeps it.
func TestRemoteClusterOnlyInNewerVersions(t *testing.T) {
	f := New()
	rc := map[string]RoleDescriptor{"r": {RemoteCluster: remoteEnrich}}
	applyAll(t, f, []Payload{
		RolePutV1{Name: "old", Descriptor: RoleDescriptor{RemoteCluster: remoteEnrich}},
		RolePutV2{Name: "new", Descriptor: RoleDescriptor{RemoteCluster: remoteEnrich}},
		APIKeyCreatedV1{Key: APIKey{ID: "kold", Name: "k", Hash: "x", RoleDescriptors: rc, LimitedBy: rc, Creator: Creator{Principal: "joe"}}},
		APIKeyCreatedV2{Key: APIKey{ID: "knew", Name: "k", Hash: "x", RoleDescriptors: rc, LimitedBy: rc, Creator: Creator{Principal: "joe"}}},
		APIKeyCreatedV2{Key: APIKey{ID: "kupd", Name: "k", Hash: "x", Creator: Creator{Principal: "joe"}}},
		APIKeyUpdatedV2{IDs: []string{"kupd"}, RoleDescriptors: &rc, LimitedBy: rc, Owner: "joe"},
	})
	st := f.State()
	if r, _ := st.Role("old"); len(r.Descriptor.RemoteCluster) != 0 {
		t.Errorf("RolePutV1 kept remote_cluster")
	}
	if r, _ := st.Role("new"); len(r.Descriptor.RemoteCluster) != 1 {
		t.Errorf("RolePutV2 lost remote_cluster")
	}
	for id, want := range map[string]bool{"kold": false, "knew": true, "kupd": false} {
		k, _ := st.APIKey(id)
		if got := HasRemoteCluster(k.RoleDescriptors) || HasRemoteCluster(k.LimitedBy); got != want {
			t.Errorf("%s: remote_cluster kept %v, want %v", id, got, want)
		}
	}
	applyAll(t, f, []Payload{APIKeyUpdatedV3{IDs: []string{"kupd"}, RoleDescriptors: &rc, LimitedBy: rc, Owner: "joe"}})
	if k, _ := st.APIKey("kupd"); !HasRemoteCluster(k.LimitedBy) {
		t.Errorf("APIKeyUpdatedV3 lost remote_cluster")
	}
}
