package authn

import (
	"context"
	"encoding/json"
	"fmt"
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

// applyingProposer is a leader alone: what it is given to propose, it
// applies.
type applyingProposer struct {
	stateProposer
	entries *int
}

func (p applyingProposer) ProposeAsLeader(event []byte) (uint64, fsm.Result, error) {
	*p.entries++
	idx := p.st.AppliedIndex() + 1
	res, err := p.st.ApplyEvent(idx, event)
	return idx, res, err
}
func (p applyingProposer) IsLeader() bool { return true }

type noMembers struct{}

func (noMembers) GatherKeyUsage(context.Context) [][]byte { return nil }

// Uses beyond what one event may hold go in more events, none lost; a
// second round has nothing to write.
func TestRecordUsesSplitsWhatOneEventCannotHold(t *testing.T) {
	st := fsm.NewState()
	const keys = 5000 // ids of 2,000 bytes: 10 MB of uses, over maxUseBytes
	for i := range keys {
		id := fmt.Sprintf("%02000d", i)
		st.ApplyEvent(uint64(i+1), fsm.MustEncode(fsm.APIKeyCreatedV1{Key: fsm.APIKey{ID: id, Type: "rest"}}))
	}
	entries := 0
	s, err := New(applyingProposer{stateProposer{st}, &entries}, Config{PasswordHashing: "bcrypt4", APIKeysEnabled: true, LastUsedInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	for i := range keys {
		s.uses.slot(fmt.Sprintf("%02000d", i)).note(now - int64(i))
	}
	s.recordUses(context.Background(), (noMembers{}).GatherKeyUsage(context.Background()))
	if entries != 2 {
		t.Errorf("%d events, want 2", entries)
	}
	for i := range keys {
		if got := st.APIKeyLastUsed(fmt.Sprintf("%02000d", i)); got != now-int64(i) {
			t.Fatalf("key %d: last used %d, want %d", i, got, now-int64(i))
		}
	}
	s.recordUses(context.Background(), nil)
	if entries != 2 {
		t.Errorf("a round with nothing new wrote %d more events", entries-2)
	}
}

// The leader keeps the latest of its own use and the members' reports,
// and no use later than its own now.
func TestRecordUsesMergesReports(t *testing.T) {
	st := fsm.NewState()
	for i, id := range []string{"a", "b", "c"} {
		st.ApplyEvent(uint64(i+1), fsm.MustEncode(fsm.APIKeyCreatedV1{Key: fsm.APIKey{ID: id, Type: "rest"}}))
	}
	entries := 0
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	s, err := New(applyingProposer{stateProposer{st}, &entries}, Config{PasswordHashing: "bcrypt4", APIKeysEnabled: true,
		LastUsedInterval: time.Second, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ms := now.UnixMilli()
	s.uses.slot("a").note(ms - 5000)
	report := func(ids []string, at []int64) []byte {
		b, _ := json.Marshal(fsm.APIKeysUsedV1{IDs: ids, At: at})
		return b
	}
	s.recordUses(context.Background(), [][]byte{
		report([]string{"a", "b"}, []int64{ms - 1000, ms - 9000}),
		report([]string{"b", "c", "gone"}, []int64{ms - 8000, ms + 3_600_000, ms}),
		[]byte("not json"),
	})
	if got, want := st.APIKeysLastUsed([]string{"a", "b", "c"}), []int64{ms - 1000, ms - 8000, ms}; !slices.Equal(got, want) || entries != 1 {
		t.Errorf("got %v in %d events, want %v in one", got, entries, want)
	}
}
