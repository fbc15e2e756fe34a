package fsm

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"runtime"
	"testing"
)

// craftedStream is a snapshot stream whose meta record claims keys and
// tokens counts, followed by a record of the given kind that claims length
// bytes but carries only a few.
func craftedStream(t *testing.T, count int, kind recordKind, length uint64) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(snapshotMagic)
	binary.Write(&b, binary.BigEndian, uint16(SnapshotVersion))
	meta, err := json.Marshal(snapshotMeta{AppliedIndex: 1, ClusterID: "c", APIKeys: count, Tokens: count})
	if err != nil {
		t.Fatal(err)
	}
	b.WriteByte(byte(recMeta))
	b.Write(binary.AppendUvarint(nil, uint64(len(meta))))
	b.Write(meta)
	b.WriteByte(byte(kind))
	b.Write(binary.AppendUvarint(nil, length))
	b.WriteString("only a few bytes")
	return b.Bytes()
}

// allocated is how many bytes f allocates on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Issue 12, finding 2: counts and lengths read from a snapshot (a backup
// comes from a client) are claims; a few hundred bytes claiming fifty
// million keys and a 64 MiB record must fail without allocating for them.
func TestRestoreClaimsDoNotAllocate(t *testing.T) {
	const bound = 64 << 20
	for name, stream := range map[string][]byte{
		"huge counts, record cut short": craftedStream(t, 50_000_000, recAPIKey, maxRecord),
		"record over the cap":           craftedStream(t, 50_000_000, recTokenPair, maxRecord+1),
		"length overflowing uvarint":    append(craftedStream(t, 1, recUser, 1)[:40], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
	} {
		st := NewState()
		var err error
		n := allocated(func() { err = st.Restore(bytes.NewReader(stream)) })
		if !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s: restore error %v, want ErrBadSnapshot", name, err)
		}
		if n > bound {
			t.Errorf("%s: %d bytes in, %d MiB allocated; want under %d MiB", name, len(stream), n>>20, bound>>20)
		}
	}
}

// A second meta record would drop the tables filled before it.
func TestRestoreRefusesSecondMeta(t *testing.T) {
	stream := craftedStream(t, 1, recMeta, 2)
	stream = append(stream[:len(stream)-len("only a few bytes")], "{}"...)
	err := NewState().Restore(bytes.NewReader(stream))
	if !errors.Is(err, ErrBadSnapshot) || !bytes.Contains([]byte(err.Error()), []byte("more than one meta record")) {
		t.Fatalf("restore: %v", err)
	}
}

// A record is read in pieces as its bytes arrive: a real large record
// still comes through whole.
func TestRestoreLargeRecordRoundTrip(t *testing.T) {
	st := NewState()
	big := make([]string, 0, 20_000)
	for len(big) < cap(big) {
		big = append(big, "index-pattern-that-is-fairly-long-*")
	}
	st.roles["big"] = &Role{Name: "big", Descriptor: RoleDescriptor{Cluster: big}}
	var b bytes.Buffer
	if err := st.WriteSnapshot(&b); err != nil {
		t.Fatal(err)
	}
	if b.Len() < 2*recordChunk {
		t.Fatalf("record of %d bytes does not span several chunks", b.Len())
	}
	got := NewState()
	if err := got.Restore(&b); err != nil {
		t.Fatal(err)
	}
	if r := got.roles["big"]; r == nil || len(r.Descriptor.Cluster) != len(big) {
		t.Fatal("the large role did not come back whole")
	}
}
