package fsm

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzEventDecode: Decode, Validate and apply never panic; applying is
// deterministic (same result and snapshot on two states); an event that
// validates decodes into its payload, re-encodes to an event that
// validates and applies with the same result, and that encoding is a
// fixed point.
func FuzzEventDecode(f *testing.F) {
	payloadTypes := map[EventKey]reflect.Type{}
	for _, p := range sampleEvents() {
		t, v := p.EventType()
		payloadTypes[EventKey{t, v}] = reflect.TypeOf(p)
		f.Add(MustEncode(p))
	}
	for _, seed := range [][]byte{
		{}, {0x00}, {0x7f, 0x01, 1, '{', '}'}, {0x00, byte(UserPut), 99, '{', '}'},
		[]byte("\x00\x0f\x01" + `{"token":5}`),
		[]byte("\x00\x01\x01" + `{"user":{"username":"joe","USERNAME":"amy","metadata":{ "a" : [1, 2] }}}`),
		[]byte("\x00\x0b\x01" + `{"key":{"id":"k9","expiration":-1,"role_descriptors":null}}`),
		[]byte("\x00\x12\x01" + `{"doc_id":"token_a","new_pair":{}}`),
		// Compact bodies: a count past the end, JSON fields that are not.
		[]byte("\x00\x13\x02\xff\xff\xff\xff\x0f\x01t\x00"),
		[]byte("\x00\x0d\x02\x02\x02\x01a"),
		[]byte("\x00\x0b\x03\x01k\x00\x00\x00\x02\x00\x00\x00\x02{}\x07{\"a\":{}}\x01{\x00\x00\x00\x00\x00\x00"),
	} {
		f.Add(seed)
	}
	// Fuzzed events apply on top of every sample, so that updates and
	// deletes meet records.
	var samples [][]byte
	for _, p := range sampleEvents() {
		samples = append(samples, MustEncode(p))
	}
	base := func() *State {
		s := NewState()
		for i, e := range samples {
			s.ApplyEvent(uint64(i+1), e)
		}
		return s
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		verr := Validate(data)
		typ, ver, _, derr := Decode(data)
		if derr != nil {
			if verr == nil {
				t.Fatalf("Validate accepted what Decode refused: %v", derr)
			}
			return
		}
		a, b := base(), base()
		ra, ea := a.ApplyEvent(1000, data)
		rb, eb := b.ApplyEvent(1000, data)
		if (ea == nil) != (eb == nil) || !reflect.DeepEqual(ra, rb) || !bytes.Equal(snapshotBytes(t, a), snapshotBytes(t, b)) {
			t.Fatalf("applying twice differs: %v %v / %v %v", ra, ea, rb, eb)
		}
		if verr != nil {
			return
		}
		pt, ok := payloadTypes[EventKey{typ, ver}]
		if !ok {
			t.Fatalf("event %d v%d validates but has no sample", typ, ver)
		}
		reencode := func(event []byte) []byte {
			p, err := DecodePayload(event)
			if err != nil || reflect.TypeOf(p) != pt {
				t.Fatalf("a valid %v event decodes as %T: %v", pt, p, err)
			}
			return MustEncode(p)
		}
		again := reencode(data)
		if err := Validate(again); err != nil {
			t.Fatalf("re-encoded event does not validate: %v\n%s", err, again)
		}
		if third := reencode(again); !bytes.Equal(third, again) {
			t.Fatalf("encoding is not a fixed point:\n%s\n%s", again, third)
		}
		rc, ec := base().ApplyEvent(1000, again)
		if (ec == nil) != (ea == nil) || !reflect.DeepEqual(rc, ra) {
			t.Fatalf("re-encoded event applies as %v %v, the original as %v %v", rc, ec, ra, ea)
		}
	})
}
