package fsm

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/hashicorp/raft"
)

func strp(s string) *string { return &s }

// sampleEvents has one event of every type, in an order that exercises
// updates and deletes.
func sampleEvents() []Payload {
	return []Payload{
		ElasticBootstrappedV1{PasswordHash: "$2a$04$hash", ClusterID: "c1"},
		NodeRegisteredV1{Node: Node{ID: "n1", HTTPAddr: "127.0.0.1:9200", RaftAddr: "127.0.0.1:9300"}},
		RolePutV1{Name: "r1", Descriptor: RoleDescriptor{Cluster: []string{"monitor"}, Metadata: json.RawMessage(`{"b":1,"a":2}`)}},
		RolePutV1{Name: "r0", Descriptor: RoleDescriptor{Cluster: []string{"all"}}},
		UserPutV1{User: User{Username: "joe", PasswordHash: "h1", Roles: []string{"r1"}, FullName: strp("Joe"), Enabled: true}},
		UserPutV1{User: User{Username: "amy", PasswordHash: "h2", Roles: []string{"r0"}, Enabled: true}},
		UserPasswordChangedV1{Username: "joe", PasswordHash: "h3"},
		UserEnabledSetV1{Username: "amy", Enabled: false},
		UserEnabledSetV1{Username: "kibana_system", Reserved: true, Enabled: false},
		UserPasswordChangedV1{Username: "kibana_system", Reserved: true, PasswordHash: "h4"},
		ApplicationPrivilegePutV1{Privileges: []ApplicationPrivilege{{Application: "app", Name: "read", Actions: []string{"data:read/*"}}, {Application: "app", Name: "write", Actions: []string{"data:write/*"}}}},
		ApplicationPrivilegeDeletedV1{Application: "app", Names: []string{"write", "nope"}},
		RoleDeletedV1{Name: "r0"},
		UserDeletedV1{Username: "amy"},
		APIKeyCreatedV1{Key: APIKey{ID: "k1", Name: "one", Type: "rest", Hash: "{SSHA256}AAAAAAAAAAA=" + "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", Creation: 1000,
			RoleDescriptors: map[string]RoleDescriptor{"b": {Cluster: []string{"all"}}, "a": {Cluster: []string{"monitor"}}},
			LimitedBy:       map[string]RoleDescriptor{"superuser": {Cluster: []string{"all"}}}, Creator: Creator{Principal: "joe", Realm: "default_native", RealmType: "native"}}},
		APIKeyCreatedV1{Key: APIKey{ID: "k2", Name: "two", Type: "rest", Hash: "x", Creation: 1000, Expiration: 5000, Creator: Creator{Principal: "joe", Realm: "default_native"}}},
		APIKeyCreatedV2{Key: APIKey{ID: "k3", Name: "cc", Type: "cross_cluster", Hash: "x", Creation: 1000, Expiration: 5500, Creator: Creator{Principal: "joe", Realm: "default_native"},
			RoleDescriptors: map[string]RoleDescriptor{"cross_cluster": {Cluster: []string{"cross_cluster_search", "monitor_enrich"},
				Indices: []IndicesPrivileges{{Names: []string{"logs*"}, Privileges: []string{"read", "read_cross_cluster", "view_index_metadata"}}}}}}},
		APIKeyUpdatedV1{ID: "k1", Metadata: rawp(`{"env":"prod"}`), Owner: "joe", OwnerRealm: "default_native", LimitedBy: map[string]RoleDescriptor{"superuser": {Cluster: []string{"all"}}}},
		APIKeysInvalidatedV1{IDs: []string{"k1", "nope"}, Time: 2000},
		APIKeysPurgedV1{Before: 1500},
		ServiceTokenCreatedV1{Token: ServiceToken{Namespace: "elastic", Service: "fleet-server", Name: "t1", Hash: "{SSHA256}AAAAAAAAAAA=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", Creation: 1, Creator: "elastic"}},
		ServiceTokenCreatedV1{Token: ServiceToken{Namespace: "elastic", Service: "fleet-server", Name: "t1", Hash: "x"}},
		ServiceTokenDeletedV1{Qualified: "elastic/fleet-server/nope"},
		ServiceTokenCreatedV1{Token: ServiceToken{Namespace: "elastic", Service: "kibana", Name: "t2", Hash: "y"}},
		ServiceTokenDeletedV1{Qualified: "elastic/kibana/t2"},
		TokenIssuedV1{Pair: TokenPair{DocID: "token_a", AccessHash: "ha", RefreshHash: "hr", Creation: 1000, GrantTime: 1000, AccessExpiry: 2000, Username: "joe", Realm: "default_native", Client: "joe"}},
		TokenRefreshedV1{DocID: "token_a", Time: 1500, Salt: "s1", NewPair: TokenPair{DocID: "token_b", AccessHash: "hb", RefreshHash: "hrb", Creation: 1500, GrantTime: 1000}},
		TokenRefreshedV1{DocID: "token_a", Time: 1600, Salt: "s2", NewPair: TokenPair{DocID: "token_c"}},
		TokensInvalidatedV1{Tokens: []TokenInvalidation{{DocID: "token_b"}, {DocID: "token_b", Refresh: true}, {DocID: "nope"}}},
		TokensPurgedV1{Before: 1000},
		APIKeyUpdatedV2{IDs: []string{"k1", "k2", "k2", "nope"}, Owner: "joe", OwnerRealm: "default_native"},
		NodeRegisteredV2{Node: Node{ID: "n2", HTTPAddr: "127.0.0.1:9201", RaftAddr: "127.0.0.1:9301", Applies: EventVersions{RolePut: 1, NodeRegistered: 2}}},
		RolePutV1{Name: "r9"},
		RoleDeletedV2{Names: []string{"r9", "nope"}},
		RolePutV2{Name: "rc", Descriptor: RoleDescriptor{Cluster: []string{}, RemoteCluster: remoteEnrich}},
		APIKeyCreatedV2{Key: APIKey{ID: "k4", Name: "four", Type: "rest", Hash: "x", Creation: 3000, Expiration: 4000, LimitedBy: map[string]RoleDescriptor{"rc": {RemoteCluster: remoteEnrich}},
			Creator: Creator{Principal: "joe", Realm: "default_native"}}},
		APIKeyUpdatedV3{IDs: []string{"k4"}, Metadata: rawp(`{"v":3}`), Owner: "joe", OwnerRealm: "default_native", LimitedBy: map[string]RoleDescriptor{"rc": {RemoteCluster: remoteEnrich}}},
		APIKeysUsedV1{IDs: []string{"k2", "nope", "k2", "k1"}, At: []int64{3000, 4000, 2500, 2000}},
		ProfileActivatedV1{Profile: Profile{UID: "u_a_0", Username: "joe", RealmName: "default_native", RealmType: "native", Roles: []string{"r1"}, LastSynchronized: 1000}},
		ProfileDataUpdatedV1{UID: "u_a_0", Labels: json.RawMessage(`{"app":{"b":1}}`), Data: json.RawMessage(`{"app":{"theme":"dark","n":[1,2]}}`)},
		ProfileDataUpdatedV1{UID: "u_a_0", Data: json.RawMessage(`{"app":{"theme":"light"},"other":true}`)},
		ProfileDataUpdatedV1{UID: "u_a_0", Data: json.RawMessage(`{"x":1}`), IfSeqNo: new(uint64)},
		ProfileDataUpdatedV1{UID: "nope", Data: json.RawMessage(`{"x":1}`)},
		ProfileEnabledSetV1{UID: "u_a_0", Enabled: false},
		ProfileActivatedV1{Profile: Profile{UID: "u_b_0", Username: "amy", RealmName: "default_native", RealmType: "native", LastSynchronized: 1100}},
		ProfileEnabledSetV1{UID: "u_b_0", Enabled: false},
		ProfileActivatedV1{Profile: Profile{UID: "u_b_0", Username: "amy", RealmName: "default_native", RealmType: "native", LastSynchronized: 1200}},
		// The compact versions; k5 shares k1's descriptor maps, k6 its own.
		APIKeyCreatedV3{Key: APIKey{ID: "k5", Name: "five", Type: "rest", Hash: "{SSHA256}AAECAwQFBgc=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", Creation: 5000,
			RoleDescriptors: map[string]RoleDescriptor{"b": {Cluster: []string{"all"}}, "a": {Cluster: []string{"monitor"}}},
			LimitedBy:       map[string]RoleDescriptor{"superuser": {Cluster: []string{"all"}}}, Metadata: json.RawMessage(`{"m":[1]}`),
			Creator: Creator{Principal: "joe", FullName: strp("Joe"), Realm: "default_native", RealmType: "native"}}},
		APIKeyCreatedV3{Key: APIKey{ID: "k6", Name: "six", Type: "cross_cluster", Hash: "x", Creation: 5000, Expiration: 9000,
			LimitedBy: map[string]RoleDescriptor{"rc": {RemoteCluster: remoteEnrich}}, Creator: Creator{Principal: "amy", Realm: "default_native"}}},
		APIKeyCreatedV3{Key: APIKey{ID: "k6", Name: "again", Hash: "y"}},
		TokenIssuedV2{Pair: TokenPair{DocID: "token_d", AccessHash: "hd", RefreshHash: "hrd", Creation: 5000, GrantTime: 5000, AccessExpiry: 6000,
			Username: "joe", Realm: "default_native", RealmType: "native", APIKeyID: "k5", Client: "joe"}},
		TokenRefreshedV2{DocID: "token_d", Time: 5500, Salt: "s3", NewPair: TokenPair{DocID: "token_e", AccessHash: "he", RefreshHash: "hre",
			Creation: 5500, GrantTime: 5000, AccessExpiry: 6500, Username: "joe", Realm: "default_native", RealmType: "native", Client: "joe"}},
		TokensInvalidatedV2{Tokens: []TokenInvalidation{{DocID: "token_e"}, {DocID: "token_e", Refresh: true}, {DocID: "token_e"}, {DocID: "nope"}}},
		APIKeysInvalidatedV2{IDs: []string{"k5", "nope"}, Time: 7000},
	}
}

var remoteEnrich = []RemoteClusterPrivilege{{Privileges: []string{"monitor_enrich"}, Clusters: []string{"remote-*"}}}

func rawp(s string) *json.RawMessage {
	r := json.RawMessage(s)
	return &r
}

func applyAll(t *testing.T, f *FSM, events []Payload) []Result {
	t.Helper()
	var out []Result
	for i, p := range events {
		res := f.Apply(&raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: MustEncode(p)})
		out = append(out, res.(Result))
	}
	return out
}

func snapshotBytes(t *testing.T, s *State) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := s.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestEveryEventTypeHasApplierAndRoundTrips(t *testing.T) {
	seen := map[EventKey]bool{}
	for _, p := range sampleEvents() {
		typ, ver := p.EventType()
		seen[EventKey{typ, ver}] = true
		b := MustEncode(p)
		gt, gv, body, err := Decode(b)
		if err != nil || gt != typ || gv != ver {
			t.Fatalf("Decode(Encode(%T)) = %d v%d, %v; want %d v%d", p, gt, gv, err, typ, ver)
		}
		if _, compact := p.(compactWriter); compact {
			got, err := DecodePayload(b)
			if err != nil || !bytes.Equal(MustEncode(got), b) {
				t.Errorf("%T: compact body changed in round trip: %v", p, err)
			}
			continue
		}
		again, _ := json.Marshal(p)
		if !bytes.Equal(body, again) {
			t.Errorf("%T body changed in round trip", p)
		}
	}
	for k := range appliers {
		if !seen[k] {
			t.Errorf("event %d v%d has an applier but no sample event", k.Type, k.Version)
		}
	}
}

func TestSameEventsGiveIdenticalSnapshots(t *testing.T) {
	a, b := New(), New()
	ra := applyAll(t, a, sampleEvents())
	rb := applyAll(t, b, sampleEvents())
	for i := range ra {
		if ra[i].Status != rb[i].Status {
			t.Fatalf("event %d: results differ: %v vs %v", i, ra[i], rb[i])
		}
	}
	sa, sb := snapshotBytes(t, a.State()), snapshotBytes(t, b.State())
	if !bytes.Equal(sa, sb) {
		t.Fatal("snapshots of two state machines after the same events differ")
	}
	// Snapshots taken repeatedly of one state are stable too (no map order).
	for i := 0; i < 20; i++ {
		if !bytes.Equal(sa, snapshotBytes(t, a.State())) {
			t.Fatal("two snapshots of the same state differ")
		}
	}
}

func TestApplyResults(t *testing.T) {
	got := applyAll(t, New(), sampleEvents())
	want := []Status{Created, Created, Created, Created, Created, Created, Updated, Updated, Updated, Updated, Updated, Deleted, Deleted, Deleted,
		Created, Created, Created, Updated, Updated, Unchanged,
		Created, AlreadyExists, NotFound, Created, Deleted,
		Created, Created, Unchanged, Updated, Unchanged, Unchanged, Created, Created, Deleted,
		Created, Created, Updated, Updated,
		Created, Updated, Updated, Conflict, NotFound, Updated, Created, Updated, Updated,
		Created, Created, AlreadyExists, Created, Created, Updated, Updated}
	if len(want) != len(got) {
		t.Fatalf("%d results, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Status != w {
			t.Errorf("event %d (%T): got status %d, want %d", i, sampleEvents()[i], got[i].Status, w)
		}
	}
	if got[11].Items["app/nope"] != NotFound || got[11].Items["app/write"] != Deleted {
		t.Errorf("per-item delete results: got %v", got[11].Items)
	}
	if last := got[slices.IndexFunc(sampleEvents(), isBulkRoleDelete)]; last.Items["nope"] != NotFound || last.Items["r9"] != Deleted || len(last.Items) != 2 {
		t.Errorf("bulk role delete results: got %v", last.Items)
	}
}

// Profile data merges as Elasticsearch's partial update does; activation
// keeps labels and data and enables the profile again.
func TestProfileEvents(t *testing.T) {
	f := New()
	applyAll(t, f, sampleEvents())
	a, ok := f.State().Profile("u_a_0")
	if !ok || a.Enabled || string(a.Labels) != `{"app":{"b":1}}` || string(a.Data) != `{"app":{"n":[1,2],"theme":"light"},"other":true}` {
		t.Fatalf("profile a: %+v", a)
	}
	b, ok := f.State().Profile("u_b_0")
	if !ok || !b.Enabled || b.LastSynchronized != 1200 {
		t.Fatalf("profile b: %+v", b)
	}
	if n := f.State().ProfileCount(); n != 2 {
		t.Fatalf("profiles: %d", n)
	}
}

func TestRestoreGivesSameAnswers(t *testing.T) {
	a := New()
	applyAll(t, a, sampleEvents())
	snap := snapshotBytes(t, a.State())
	b := New()
	if err := b.State().Restore(bytes.NewReader(snap)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snap, snapshotBytes(t, b.State())) {
		t.Fatal("restored state snapshots differently")
	}
	if b.State().AppliedIndex() != uint64(len(sampleEvents())) {
		t.Errorf("applied index after restore: got %d, want %d", b.State().AppliedIndex(), len(sampleEvents()))
	}
	u, ok := b.State().User("joe")
	if !ok || u.PasswordHash != "h3" {
		t.Errorf("restored joe: got %+v, %v", u, ok)
	}
	if _, ok := b.State().User("amy"); ok {
		t.Error("deleted user amy is back after restore")
	}
	if b.State().ClusterID() != "c1" {
		t.Errorf("cluster id after restore: got %q", b.State().ClusterID())
	}
}

func TestRestoreRefusesCorruptSnapshotAndKeepsState(t *testing.T) {
	a := New()
	applyAll(t, a, sampleEvents())
	snap := snapshotBytes(t, a.State())
	for _, pos := range []int{0, 5, 20, len(snap) / 2, len(snap) - 1} {
		bad := bytes.Clone(snap)
		bad[pos] ^= 0x01
		b := New()
		applyAll(t, b, sampleEvents()[:3])
		before := snapshotBytes(t, b.State())
		if err := b.State().Restore(bytes.NewReader(bad)); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("flipped byte %d: got %v, want ErrBadSnapshot", pos, err)
		}
		if !bytes.Equal(before, snapshotBytes(t, b.State())) {
			t.Errorf("flipped byte %d: a refused restore changed the state", pos)
		}
	}
	if err := New().State().Restore(bytes.NewReader(snap[:len(snap)-10])); !errors.Is(err, ErrBadSnapshot) {
		t.Errorf("truncated snapshot: got %v, want ErrBadSnapshot", err)
	}
}

func TestUnknownEventIsAnError(t *testing.T) {
	s := NewState()
	for name, data := range map[string][]byte{
		"unknown type":    {0x7f, 0x01, 1, '{', '}'},
		"unknown version": {0x00, byte(UserPut), 99, '{', '}'},
		"too short":       {0x00},
	} {
		if _, err := s.ApplyEvent(1, data); !errors.Is(err, ErrUnknownEvent) {
			t.Errorf("%s: got %v, want ErrUnknownEvent", name, err)
		}
	}
	if s.AppliedIndex() != 0 {
		t.Error("a refused event moved the applied index")
	}
}

// A known event whose body does not decode is skipped the same way on
// every node, and refused by Validate before it can reach the log.
func TestUndecodableBodyIsRejectedNotFatal(t *testing.T) {
	bad := []byte("\x00\x0f\x01" + `{"token":5}`)
	if err := Validate(bad); err == nil {
		t.Fatal("Validate accepted an undecodable body")
	}
	f := New()
	res := f.Apply(&raft.Log{Index: 3, Data: bad}).(Result)
	if res.Status != Rejected || f.State().AppliedIndex() != 3 {
		t.Fatalf("got %v, applied %d; want Rejected at 3", res, f.State().AppliedIndex())
	}
	if err := Validate(MustEncode(RolePutV1{Name: "ok"})); err != nil {
		t.Fatalf("Validate refused a good event: %v", err)
	}
}

func TestBootstrapAppliesOnce(t *testing.T) {
	f := New()
	res := applyAll(t, f, []Payload{ElasticBootstrappedV1{PasswordHash: "a", ClusterID: "c1"}, ElasticBootstrappedV1{PasswordHash: "b", ClusterID: "c2"}})
	if res[0].Status != Created || res[1].Status != AlreadyExists {
		t.Fatalf("got %v, want Created then AlreadyExists", res)
	}
	r, _ := f.State().Reserved("elastic")
	if r.PasswordHash != "a" || f.State().ClusterID() != "c1" {
		t.Errorf("second bootstrap changed state: hash %q cluster %q", r.PasswordHash, f.State().ClusterID())
	}
}

func TestAPIKeyLifecycle(t *testing.T) {
	f := New()
	applyAll(t, f, sampleEvents())
	k1, ok := f.State().APIKey("k1")
	if !ok || !k1.Invalidated || k1.Invalidation != 2000 || string(k1.Metadata) != `{"env":"prod"}` {
		t.Fatalf("k1 after update and invalidate: %+v", k1)
	}
	if salt, digest := k1.SaltDigest(); len(salt) != 8 || len(digest) != 32 {
		t.Errorf("k1 hash not decoded: salt %d digest %d bytes", len(salt), len(digest))
	}
	// An identical update is a no-op; an update by someone else is not found.
	same := APIKeyUpdatedV1{ID: "k2", Owner: "joe", OwnerRealm: "default_native"}
	other := APIKeyUpdatedV1{ID: "k2", Owner: "amy", OwnerRealm: "default_native"}
	r1, _ := f.State().ApplyEvent(100, MustEncode(same))
	r2, _ := f.State().ApplyEvent(101, MustEncode(other))
	if r1.Status != Unchanged || r2.Status != NotFound {
		t.Errorf("no-op update: %d, foreign update: %d; want Unchanged, NotFound", r1.Status, r2.Status)
	}
	// Purge removes k1 (invalidated at 2000) and k2 (expired at 5000) only
	// once Before passes those times; by 10000 every key has expired or
	// been invalidated.
	r, _ := f.State().ApplyEvent(102, MustEncode(APIKeysPurgedV1{Before: 3000}))
	if r.Items["k1"] != Deleted || r.Items["k2"] != 0 {
		t.Errorf("purge before 3000: %v", r.Items)
	}
	r, _ = f.State().ApplyEvent(103, MustEncode(APIKeysPurgedV1{Before: 10000}))
	if r.Items["k2"] != Deleted {
		t.Errorf("purge before 6000: %v", r.Items)
	}
	if len(f.State().APIKeys(func(*APIKey) bool { return true })) != 0 {
		t.Error("keys left after purges")
	}
}

func isBulkRoleDelete(p Payload) bool {
	_, ok := p.(RoleDeletedV2)
	return ok
}
