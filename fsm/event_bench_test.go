package fsm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// The hot events as the service writes them: an API key created by
// elastic (its limited_by is the superuser role), and a password grant's
// token pair. Run with
//
//	go test -run '^$' -bench 'Event|Validate' -benchmem ./fsm
var (
	benchKey = APIKey{ID: "AAAAAAAAAAAAAAAAAAAA", Name: "bench-key-0000001", Type: "rest",
		Hash: "{SSHA256}AAECAwQFBgc=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", Creation: 1_767_225_600_000,
		RoleDescriptors: map[string]RoleDescriptor{},
		LimitedBy: map[string]RoleDescriptor{"superuser": {Cluster: []string{"all"},
			Indices:      []IndicesPrivileges{{Names: []string{"*"}, Privileges: []string{"all"}, AllowRestrictedIndices: true}},
			Applications: []ApplicationPrivileges{{Application: "*", Privileges: []string{"*"}, Resources: []string{"*"}}},
			RunAs:        []string{"*"}, Metadata: json.RawMessage(`{"_reserved":true}`)}},
		Creator: Creator{Principal: "elastic", Realm: "reserved", RealmType: "reserved"}}
	benchPair = TokenPair{DocID: "token_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", AccessHash: "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",
		RefreshHash: "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", Creation: 1_767_225_600_000, GrantTime: 1_767_225_600_000,
		AccessExpiry: 1_767_226_800_000, Username: "jacknich", Realm: "default_native", RealmType: "native", Client: "default_native/jacknich"}
)

// benchEvents are the hot events in both encodings, by name.
func benchEvents() []struct {
	name string
	p    Payload
} {
	return []struct {
		name string
		p    Payload
	}{
		{"APIKeyCreated/json", APIKeyCreatedV1{Key: benchKey}},
		{"APIKeyCreated/compact", APIKeyCreatedV3{Key: benchKey}},
		{"TokenIssued/json", TokenIssuedV1{Pair: benchPair}},
		{"TokenIssued/compact", TokenIssuedV2{Pair: benchPair}},
		{"TokenRefreshed/json", TokenRefreshedV1{DocID: benchPair.DocID, Time: 1, Salt: "AAAAAAAAAAAAAAAAAAAAAA", NewPair: benchPair}},
		{"TokenRefreshed/compact", TokenRefreshedV2{DocID: benchPair.DocID, Time: 1, Salt: "AAAAAAAAAAAAAAAAAAAAAA", NewPair: benchPair}},
	}
}

// BenchmarkEventEncode encodes each event, and reports its size: the bytes
// of one entry's data in the Raft log.
func BenchmarkEventEncode(b *testing.B) {
	for _, e := range benchEvents() {
		b.Run(e.name, func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				n = len(MustEncode(e.p))
			}
			b.ReportMetric(float64(n), "event-bytes")
		})
	}
}

// BenchmarkEventApply applies API key creates and token grants, each of a
// new id, to one state (the apply path of every node).
func BenchmarkEventApply(b *testing.B) {
	for _, e := range benchEvents()[:4] {
		b.Run(e.name, func(b *testing.B) {
			event, at := idTemplate(b, MustEncode(e.p))
			s := NewState()
			b.ReportAllocs()
			var i uint64
			for b.Loop() {
				i++
				setID(event, at, i)
				if res, err := s.ApplyEvent(i, event); err != nil || res.Status != Created {
					b.Fatalf("apply: %v %v", res, err)
				}
			}
		})
	}
}

// BenchmarkValidate compares Validate with what it did before this change
// (applying the event to a fresh State), on the same events.
func BenchmarkValidate(b *testing.B) {
	for _, e := range benchEvents() {
		event := MustEncode(e.p)
		b.Run(e.name+"/fresh-state", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := validateOnFreshState(event); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(e.name+"/decode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Validate(event); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// validateOnFreshState is Validate as it was: the event applied to a new
// State.
func validateOnFreshState(b []byte) error {
	t, v, body, err := Decode(b)
	if err != nil {
		return err
	}
	if _, err := appliers[EventKey{t, v}].apply(NewState(), 1, body); err != nil {
		return fmt.Errorf("event %d v%d: %w", t, v, err)
	}
	return nil
}

// idTemplate finds the 20-character key id or the token's document id in
// an encoded event, for setID to vary.
func idTemplate(b *testing.B, event []byte) ([]byte, int) {
	for _, id := range []string{benchKey.ID, benchPair.DocID[len("token_"):]} {
		if at := bytes.Index(event, []byte(id)); at >= 0 {
			return bytes.Clone(event), at
		}
	}
	b.Fatal("no id in the event")
	return nil, 0
}

// setID writes i as the id's first 20 characters, in decimal.
func setID(event []byte, at int, i uint64) {
	for j := at + 19; j >= at; j-- {
		event[j] = '0' + byte(i%10)
		i /= 10
	}
}
