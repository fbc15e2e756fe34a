package fsm

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// Adding a snapshot record kind is one entry of recordKinds: this fails
// for a kind declared without one, and for an entry whose records a state
// holding every kind does not write.
func TestEveryRecordKindHasAnEntry(t *testing.T) {
	for name, v := range declared(t, "snapshot.go", "recordKind") {
		if _, ok := restorers[recordKind(v)]; !ok && recordKind(v) != recEnd {
			t.Errorf("record kind %s (%d) has no entry in recordKinds", name, v)
		}
	}
	if len(restorers) != len(recordKinds) {
		t.Errorf("%d entries for %d record kinds: a kind has two entries", len(recordKinds), len(restorers))
	}
	f := New()
	applyAll(t, f, sampleEvents())
	written := recordKindsIn(t, snapshotBytes(t, f.State()))
	for _, e := range recordKinds {
		if !written[e.kind] {
			t.Errorf("record kind %d: the sample state's snapshot has no such record", e.kind)
		}
	}
}

// recordKindsIn lists the kinds of the records of a snapshot stream.
func recordKindsIn(t *testing.T, snap []byte) map[recordKind]bool {
	t.Helper()
	kinds := map[recordKind]bool{}
	rest := snap[len(snapshotMagic)+2:]
	for len(rest) > 0 && recordKind(rest[0]) != recEnd {
		n, w := binary.Uvarint(rest[1:])
		if w <= 0 || uint64(len(rest)-1-w) < n {
			t.Fatalf("snapshot record at offset %d is cut short", len(snap)-len(rest))
		}
		kinds[recordKind(rest[0])] = true
		rest = rest[1+w+int(n):]
	}
	if !bytes.HasPrefix(rest, []byte{byte(recEnd)}) {
		t.Fatal("snapshot has no end record")
	}
	return kinds
}
