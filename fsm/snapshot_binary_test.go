package fsm

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"testing"
)

// fullKey and fullPair set every field, so a field the binary records
// forget shows up as a difference after a round trip.
const fullKeyHash = "{SSHA256}AAECAwQFBgc=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

func fullKey() *APIKey {
	k := &APIKey{ID: "k-full", Name: "full", Type: "cross_cluster", Hash: fullKeyHash,
		Creation: 1, Expiration: 2, Invalidated: true, Invalidation: 3,
		RoleDescriptors: map[string]RoleDescriptor{"r": {Cluster: []string{"monitor"}}},
		LimitedBy:       map[string]RoleDescriptor{"l": {Cluster: []string{"all"}}},
		Metadata:        json.RawMessage(`{"m":1}`),
		Creator: Creator{Principal: "joe", FullName: strp("Joe"), Email: strp("joe@example.com"), Metadata: json.RawMessage(`{"c":2}`),
			Realm: "default_native", RealmType: "native"},
		ModIndex: 4}
	k.decodeHash()
	return k
}

func fullPair() *TokenPair {
	return &TokenPair{DocID: "token_full", AccessHash: "a", RefreshHash: "r", Creation: 1, GrantTime: 2, AccessExpiry: 3,
		Username: "joe", Realm: "default_native", RealmType: "native", APIKeyID: "k", Client: "joe",
		AccessInvalidated: true, RefreshInvalidated: true, RefreshTime: 4, RefreshSalt: "s", Superseding: "token_next", ModIndex: 5}
}

// A field added to these types must be added to the binary records (and
// the format version raised): this counts them.
func TestBinaryRecordsCoverEveryField(t *testing.T) {
	for typ, want := range map[reflect.Type]int{
		reflect.TypeOf(APIKey{}): 14, reflect.TypeOf(Creator{}): 6, reflect.TypeOf(TokenPair{}): 17,
	} {
		if got := typ.NumField(); got != want {
			t.Errorf("%s has %d fields, the binary record knows %d: update snapshot_binary.go and SnapshotVersion", typ, got, want)
		}
	}
	st := NewState()
	st.apiKeys.put(fullKey())
	st.tokens.put(fullPair())
	var buf bytes.Buffer
	if err := st.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	back := NewState()
	if err := back.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if got, _ := back.apiKeys.get("k-full"); !reflect.DeepEqual(got, fullKey()) {
		t.Errorf("api key after round trip:\n got %+v\nwant %+v", got, fullKey())
	}
	if got, _ := back.tokens.get("token_full"); !reflect.DeepEqual(got, fullPair()) {
		t.Errorf("token pair after round trip:\n got %+v\nwant %+v", got, fullPair())
	}
}

// Version 1 snapshots (JSON API key and token records) still restore.
func TestVersion1SnapshotStillRestores(t *testing.T) {
	var buf bytes.Buffer
	sw := &snapshotWriter{w: bufio.NewWriter(&buf), sum: sha256.New()}
	head := append([]byte(snapshotMagic), 0, 0)
	binary.BigEndian.PutUint16(head[4:], 1)
	sw.write(head)
	sw.record(recMeta, snapshotMeta{AppliedIndex: 7, ClusterID: "c1"})
	k := fullKey()
	k.Hash = k.StoredHash() // version 1 carried the hash string
	sw.record(recDescriptorSet, descriptorSetRecord{ID: 0, Set: k.RoleDescriptors})
	sw.record(recDescriptorSet, descriptorSetRecord{ID: 1, Set: k.LimitedBy})
	sw.record(recAPIKey, apiKeyRecord{APIKey: *k, RoleDescriptors: 0, LimitedBy: 1})
	sw.record(recTokenPair, fullPair())
	sw.write([]byte{byte(recEnd)})
	sw.w.Write(sw.sum.Sum(nil))
	sw.w.Flush()

	st := NewState()
	if err := st.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	gotKey, _ := st.apiKeys.get("k-full")
	pair, _ := st.tokens.get("token_full")
	if st.AppliedIndex() != 7 || !reflect.DeepEqual(gotKey, fullKey()) || !reflect.DeepEqual(pair, fullPair()) {
		t.Fatalf("version 1 restore: index %d key %+v pair %+v", st.AppliedIndex(), gotKey, pair)
	}
}

// A record cut short or with bytes left over is an error, not a panic.
func TestBinaryRecordsRejectBadLengths(t *testing.T) {
	var w binWriter
	encodeAPIKey(&w, fullKey(), 0, 1)
	if k := fullKey(); k.Hash != "" || k.StoredHash() != fullKeyHash {
		t.Fatalf("a canonical {SSHA256} hash is kept decoded only: Hash %q, StoredHash %q", k.Hash, k.StoredHash())
	}
	for _, body := range [][]byte{w.b[:len(w.b)-1], append(bytes.Clone(w.b), 0), {0xff, 0xff, 0xff}, nil} {
		if _, _, _, err := decodeAPIKey(body); err == nil {
			t.Errorf("decodeAPIKey(%x...) accepted a bad record", body[:min(len(body), 8)])
		}
	}
}
