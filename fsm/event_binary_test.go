package fsm

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// The compact events' bytes are a log format: a change to a field sequence
// breaks every log written before it. These are the bytes, pinned.
func TestCompactEventBytes(t *testing.T) {
	for _, c := range []struct {
		p    Payload
		want string
	}{
		{APIKeysInvalidatedV2{IDs: []string{"a", "b"}, Time: 1}, "000d02" + "02" + "02" + "0161" + "0162"},
		{TokensInvalidatedV2{Tokens: []TokenInvalidation{{DocID: "t", Refresh: true}}}, "001302" + "01" + "0174" + "01"},
		{TokenIssuedV2{Pair: TokenPair{DocID: "d", AccessHash: "a", Creation: 1, GrantTime: 1, AccessExpiry: 2, Username: "u", Client: "u"}},
			"001102" + "0164" + "0161" + "00" + "02" + "02" + "04" + "0175" + "00" + "00" + "00" + "0175" + "00" + "00" + "00" + "00" + "00"},
		{TokenRefreshedV2{DocID: "d", Time: -1, Salt: "s", NewPair: TokenPair{DocID: "e"}},
			"001202" + "0164" + "01" + "0173" + "0165" + strings.Repeat("00", 15)},
		{APIKeyCreatedV3{Key: APIKey{ID: "k", Name: "n", Type: "rest", Hash: "h", Creation: 1, LimitedBy: map[string]RoleDescriptor{}, Creator: Creator{Principal: "p", Email: strp("e")}}},
			"000b03" + "016b" + "016e" + "0472657374" + "0168" + "02" + "00" + "00" + "00" + "046e756c6c" + "027b7d" + "00" +
				"0170" + "00" + "010165" + "00" + "00" + "00"},
	} {
		if got := hex.EncodeToString(MustEncode(c.p)); got != c.want {
			t.Errorf("%T: got %s, want %s", c.p, got, c.want)
		}
	}
}

// fullPairEvent is fullPair as an event carries it: the entry's index sets
// ModIndex.
func fullPairEvent() TokenPair {
	p := *fullPair()
	p.ModIndex = 0
	return p
}

// A field added to a payload must be added to its compact encoding (as a
// new version): every field set survives a round trip, and the counts
// match what the encodings know.
func TestCompactEventsCoverEveryField(t *testing.T) {
	for typ, want := range map[reflect.Type]int{
		reflect.TypeFor[APIKeyCreatedV1](): 1, reflect.TypeFor[APIKeysInvalidatedV1](): 2, reflect.TypeFor[TokenIssuedV1](): 1,
		reflect.TypeFor[TokenRefreshedV1](): 4, reflect.TypeFor[TokensInvalidatedV1](): 1, reflect.TypeFor[TokenInvalidation](): 2,
	} {
		if got := typ.NumField(); got != want {
			t.Errorf("%s has %d fields, its compact encoding knows %d: add a version in event_binary.go", typ, got, want)
		}
	}
	key := *fullKey()
	key.ModIndex = 0
	for _, p := range []Payload{
		APIKeyCreatedV3{Key: key},
		APIKeysInvalidatedV2{IDs: []string{"a", "", "b"}, Time: -5},
		TokenIssuedV2{Pair: fullPairEvent()},
		TokenRefreshedV2{DocID: "token_a", Time: 7, Salt: "salt", NewPair: fullPairEvent()},
		TokensInvalidatedV2{Tokens: []TokenInvalidation{{DocID: "a"}, {DocID: "b", Refresh: true}}},
	} {
		got, err := DecodePayload(MustEncode(p))
		if err != nil || !reflect.DeepEqual(got, p) {
			t.Errorf("%T after a round trip:\n got %+v (%v)\nwant %+v", p, got, err, p)
		}
	}
}

// Each compact version applies to the state its JSON version builds: the
// sample events with every payload that has one replaced by it give the
// same snapshot (but for the versions the state records it saw).
func TestCompactAppliesAsJSON(t *testing.T) {
	remoteKey := APIKeyCreatedV1{Key: APIKey{ID: "kr", Name: "r", Type: "rest", Hash: fullKeyHash, Creation: 1,
		LimitedBy: map[string]RoleDescriptor{"rc": {Cluster: []string{"all"}, RemoteCluster: remoteEnrich}}, Creator: Creator{Principal: "joe"}}}
	events := append(sampleEvents(), remoteKey)
	var compacted []Payload
	n := 0
	for _, p := range events {
		if c, ok := Compact(p); ok {
			p, n = c, n+1
		}
		compacted = append(compacted, p)
	}
	if n < 8 {
		t.Fatalf("%d sample events have a compact version, want every JSON hot event", n)
	}
	a, b := New(), New()
	ra, rb := applyAll(t, a, events), applyAll(t, b, compacted)
	if !reflect.DeepEqual(ra, rb) {
		t.Errorf("results differ:\n json    %v\n compact %v", ra, rb)
	}
	b.State().meta.events = a.State().meta.events
	if !bytes.Equal(snapshotBytes(t, a.State()), snapshotBytes(t, b.State())) {
		t.Error("the compact events build another state than their JSON versions")
	}
	if k, _ := b.State().APIKey("kr"); HasRemoteCluster(k.LimitedBy) {
		t.Error("a version 1 key made compact kept remote_cluster, which version 1 drops")
	}
}

// A compact create finds its descriptor maps by their JSON in the state
// (internJSON); the key is the same whether the JSON was seen before, its
// maps were interned through a JSON event, or neither. The same as intern
// means it: equal encodings (a JSON event's raw metadata keeps its spaces,
// and the map interned first is the one shared).
func TestCompactCreateSharesDescriptorsWhateverWasSeen(t *testing.T) {
	limited := map[string]RoleDescriptor{"superuser": {Cluster: []string{"all"}, Metadata: json.RawMessage(`{"_reserved":true}`)}}
	key := func(id string) APIKey {
		return APIKey{ID: id, Name: id, Type: "rest", Hash: fullKeyHash, Creation: 1, RoleDescriptors: map[string]RoleDescriptor{},
			LimitedBy: limited, Creator: Creator{Principal: "joe", Realm: "native"}}
	}
	target := MustEncode(APIKeyCreatedV3{Key: key("k1")})
	fresh := NewState()
	seen := NewState()
	viaJSON := NewState()
	seen.ApplyEvent(1, MustEncode(APIKeyCreatedV3{Key: key("k0")}))
	viaJSON.ApplyEvent(1, []byte("\x00\x0b\x02"+`{"key":{"id":"k0","limited_by":{ "superuser" : {"metadata":{"_reserved" : true},"cluster":["all"]}}}}`))
	var got []*APIKey
	for _, s := range []*State{fresh, seen, viaJSON} {
		if res, err := s.ApplyEvent(2, target); err != nil || res.Status != Created {
			t.Fatalf("apply: %v %v", res, err)
		}
		k, _ := s.apiKeys.get("k1")
		got = append(got, k)
	}
	want, _ := json.Marshal(got[0])
	for i, k := range got[1:] {
		if b, _ := json.Marshal(k); !bytes.Equal(b, want) || k.StoredHash() != got[0].StoredHash() {
			t.Errorf("state %d: got %s, want %s", i+1, b, want)
		}
	}
	for _, s := range []*State{seen, viaJSON} {
		k0, _ := s.apiKeys.get("k0")
		k1, _ := s.apiKeys.get("k1")
		if reflect.ValueOf(k0.LimitedBy).Pointer() != reflect.ValueOf(k1.LimitedBy).Pointer() {
			t.Error("two keys with the same limited_by hold two copies of it")
		}
	}
}

// Validate and apply refuse a compact body that is cut short, has bytes
// left over, carries JSON that is not, or counts more items than bytes.
func TestCompactEventsRejectBadBodies(t *testing.T) {
	good := MustEncode(APIKeyCreatedV3{Key: *fullKey()})
	badMeta := MustEncode(APIKeyCreatedV3{Key: APIKey{ID: "k", Metadata: json.RawMessage(`{"a":1}`)}})
	badMeta = bytes.Replace(badMeta, []byte(`{"a":1}`), []byte(`{"a":1,`), 1)
	badSet := MustEncode(APIKeyCreatedV3{Key: APIKey{ID: "k", LimitedBy: map[string]RoleDescriptor{"r": {}}}})
	badSet = bytes.Replace(badSet, []byte(`"cluster":null`), []byte(`"cluster":7777`), 1)
	for name, event := range map[string][]byte{
		"short":          good[:len(good)-1],
		"trailing":       append(bytes.Clone(good), 0),
		"bad metadata":   badMeta,
		"bad descriptor": badSet,
		"huge count":     []byte("\x00\x13\x02\xff\xff\xff\xff\x0f\x01t\x00"),
		"empty body":     []byte("\x00\x11\x02"),
	} {
		if err := Validate(event); err == nil {
			t.Errorf("%s: Validate accepted it", name)
		}
		if res, err := NewState().ApplyEvent(1, event); err != nil || res.Status != Rejected {
			t.Errorf("%s: applied as %v %v, want Rejected", name, res, err)
		}
	}
}

// DecodeAs reads every version of a type with the same fields as the
// payload asked for, and nothing else.
func TestDecodeAs(t *testing.T) {
	k := APIKey{ID: "k", Name: "n", Type: "rest", Hash: "h", Creator: Creator{Principal: "joe"}}
	for _, p := range []Payload{APIKeyCreatedV1{Key: k}, APIKeyCreatedV2{Key: k}, APIKeyCreatedV3{Key: k}} {
		var got APIKeyCreatedV1
		if err := DecodeAs(MustEncode(p), &got); err != nil || got.Key.ID != "k" || got.Key.StoredHash() != "h" {
			t.Errorf("%T as APIKeyCreatedV1: %+v %v", p, got, err)
		}
	}
	var wrong TokensPurgedV1 // the same fields as APIKeysPurgedV1, another event
	if err := DecodeAs(MustEncode(APIKeysPurgedV1{Before: 5}), &wrong); err == nil {
		t.Error("an APIKeysPurged event read as a TokensPurgedV1")
	}
	var other APIKeyUpdatedV2
	if err := DecodeAs(MustEncode(APIKeyUpdatedV1{ID: "k"}), &other); err == nil {
		t.Error("an update of version 1 read as version 2, whose fields differ")
	}
}
