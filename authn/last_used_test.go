package authn

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/fsm"
)

// A slot keeps the latest use, moves only by useResolution or more, and
// noting a use allocates nothing.
func TestUseSlotKeepsTheLatest(t *testing.T) {
	var sl useSlot
	for _, tc := range []struct{ at, want int64 }{
		{1000, 1000}, {900, 1000}, {1000 + useResolution - 1, 1000}, {1000 + useResolution, 1000 + useResolution}, {5000, 5000},
	} {
		if sl.note(tc.at); sl.ms.Load() != tc.want {
			t.Errorf("after note(%d): %d, want %d", tc.at, sl.ms.Load(), tc.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { sl.note(9000) }); n != 0 {
		t.Errorf("note allocates %v times", n)
	}
}

// A report holds the uses an interval or more past the state's (or of keys
// with none), not those of keys gone, and forgets the gone ones.
func TestKeyUsageReport(t *testing.T) {
	st := fsm.NewState()
	for i, id := range []string{"fresh", "stale", "never"} {
		st.ApplyEvent(uint64(i+1), fsm.MustEncode(fsm.APIKeyCreatedV1{Key: fsm.APIKey{ID: id, Type: "rest"}}))
	}
	st.ApplyEvent(9, fsm.MustEncode(fsm.APIKeysUsedV1{IDs: []string{"fresh", "stale"}, At: []int64{100_000, 100_000}}))
	s, err := New(stateProposer{st}, Config{PasswordHashing: "bcrypt4", APIKeysEnabled: true, LastUsedInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for id, at := range map[string]int64{"fresh": 100_000 + 59_999, "stale": 100_000 + 60_000, "never": 5, "purged": 7} {
		s.uses.slot(id).note(at)
	}
	var got fsm.APIKeysUsedV1
	if err := json.Unmarshal(s.KeyUsageReport(), &got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.IDs, []string{"never", "stale"}) || !slices.Equal(got.At, []int64{5, 160_000}) {
		t.Errorf("report: got %v %v, want [never stale] [5 160000]", got.IDs, got.At)
	}
	if ids, _ := s.uses.used(); slices.Contains(ids, "purged") {
		t.Error("the slot of a key gone from the state is kept")
	}
}
