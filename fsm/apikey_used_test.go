package fsm

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

func usedState(t *testing.T) *State {
	t.Helper()
	s := NewState()
	for i, id := range []string{"a", "b", "c"} {
		if _, err := s.ApplyEvent(uint64(i+1), MustEncode(APIKeyCreatedV1{Key: APIKey{ID: id, Type: "rest", Creation: 1000, Expiration: int64(10_000 * (i + 1))}})); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// A last use only ever moves forward, whatever the order the uses come
// in; ids without a key change nothing.
func TestAPIKeysUsedKeepsTheLatest(t *testing.T) {
	s := usedState(t)
	for i, tc := range []struct {
		event APIKeysUsedV1
		want  Status
	}{
		{APIKeysUsedV1{IDs: []string{"a", "b"}, At: []int64{5000, 6000}}, Updated},
		{APIKeysUsedV1{IDs: []string{"a", "b"}, At: []int64{4000, 6000}}, Unchanged},
		{APIKeysUsedV1{IDs: []string{"a", "a", "zz"}, At: []int64{7000, 6500, 9000}}, Updated},
		{APIKeysUsedV1{IDs: []string{"zz", "c"}, At: []int64{9000}}, Unchanged}, // lengths differ: the pairs there are
	} {
		res, err := s.ApplyEvent(uint64(10+i), MustEncode(tc.event))
		if err != nil || res.Status != tc.want {
			t.Errorf("event %d: got %v %v, want %v", i, res.Status, err, tc.want)
		}
	}
	got := s.APIKeysLastUsed([]string{"a", "b", "c", "zz"})
	if want := []int64{7000, 6000, 0, -1}; !slices.Equal(got, want) {
		t.Errorf("last used: got %v, want %v", got, want)
	}
	if s.APIKeyLastUsed("a") != 7000 || s.APIKeyLastUsed("zz") != 0 {
		t.Errorf("APIKeyLastUsed: a %d zz %d", s.APIKeyLastUsed("a"), s.APIKeyLastUsed("zz"))
	}
}

// A purged key takes its last use with it, and the key that moves into
// its slot keeps its own.
func TestPurgeDropsLastUse(t *testing.T) {
	s := usedState(t)
	s.ApplyEvent(10, MustEncode(APIKeysUsedV1{IDs: []string{"a", "b", "c"}, At: []int64{1, 2, 3}}))
	s.ApplyEvent(11, MustEncode(APIKeysPurgedV1{Before: 15_000})) // a expired at 10,000
	if got := s.APIKeysLastUsed([]string{"a", "b", "c"}); !slices.Equal(got, []int64{-1, 2, 3}) {
		t.Errorf("after purge: got %v, want [-1 2 3]", got)
	}
	s.ApplyEvent(12, MustEncode(APIKeyCreatedV1{Key: APIKey{ID: "a", Type: "rest"}}))
	if got := s.APIKeyLastUsed("a"); got != 0 {
		t.Errorf("a key created again has the old key's last use %d", got)
	}
}

// Last uses survive a snapshot, in a record of their own; an older
// snapshot without them restores with none; a use of a key the snapshot
// lacks is refused.
func TestLastUseSurvivesSnapshot(t *testing.T) {
	s := usedState(t)
	s.ApplyEvent(10, MustEncode(APIKeysUsedV1{IDs: []string{"c", "a"}, At: []int64{3, 1}}))
	var buf bytes.Buffer
	if err := s.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	back := NewState()
	if err := back.Restore(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if got := back.APIKeysLastUsed([]string{"a", "b", "c"}); !slices.Equal(got, []int64{1, 0, 3}) {
		t.Errorf("after restore: got %v, want [1 0 3]", got)
	}
	if again := snapshotBytes(t, back); !bytes.Equal(again, buf.Bytes()) {
		t.Error("a restored state snapshots differently")
	}

	var w binWriter
	w.str("missing")
	w.int(5)
	if err := restoreKeyUse(NewState(), w.b, nil); err == nil {
		t.Error("a last use of a key the snapshot lacks was restored")
	}
	if err := restoreKeyUse(usedState(t), w.b[:len(w.b)-1], nil); err == nil {
		t.Error("a cut record was restored")
	}
	if err := NewState().Restore(bytes.NewReader(buf.Bytes()[:len(buf.Bytes())-40])); !errors.Is(err, ErrBadSnapshot) {
		t.Errorf("truncated: %v", err)
	}
}

// A version 2 snapshot, from before last uses, restores with none.
func TestVersion2SnapshotRestoresWithoutLastUse(t *testing.T) {
	b := snapshotBytes(t, usedState(t))
	binary.BigEndian.PutUint16(b[4:], 2)
	sum := sha256.Sum256(b[:len(b)-sha256.Size])
	copy(b[len(b)-sha256.Size:], sum[:])
	st := NewState()
	if err := st.Restore(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	if got := st.APIKeysLastUsed([]string{"a", "b", "c"}); !slices.Equal(got, []int64{0, 0, 0}) {
		t.Errorf("last used after a version 2 restore: %v", got)
	}
}

// A state with no last use is written in the format before last uses, so
// a build that cannot apply APIKeysUsed still restores a new leader's
// snapshot during a rolling upgrade; the first use moves it to version 3.
func TestSnapshotVersionFollowsLastUses(t *testing.T) {
	s := usedState(t)
	if v := binary.BigEndian.Uint16(snapshotBytes(t, s)[4:]); v != lastUseVersion-1 {
		t.Errorf("without last uses: version %d, want %d", v, lastUseVersion-1)
	}
	if _, err := s.ApplyEvent(10, MustEncode(APIKeysUsedV1{IDs: []string{"a"}, At: []int64{5000}})); err != nil {
		t.Fatal(err)
	}
	if v := binary.BigEndian.Uint16(snapshotBytes(t, s)[4:]); v != lastUseVersion {
		t.Errorf("with a last use: version %d, want %d", v, lastUseVersion)
	}
}
