package fsm

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
)

// Old versions stay readable: this build applies everything v0.1.0 did.
func TestThisBuildAppliesTheBaseline(t *testing.T) {
	if lacks := Applies().Lacks(Baseline); len(lacks) > 0 {
		t.Errorf("this build does not apply baseline events: %s", JoinKeys(lacks, true))
	}
	for typ := range Baseline {
		if _, ok := rows[typ]; !ok {
			t.Errorf("baseline names event %d, which has no row", typ)
		}
	}
}

func TestLacksNamesTheVersions(t *testing.T) {
	old := EventVersions{RolePut: 1, RoleDeleted: 1}
	cases := []struct {
		other EventVersions
		want  []EventKey
	}{
		{EventVersions{RolePut: 1}, nil},
		{EventVersions{RoleDeleted: 2, RolePut: 1}, []EventKey{{RoleDeleted, 2}}},
		{EventVersions{UserPut: 1, RoleDeleted: 3}, []EventKey{{UserPut, 1}, {RoleDeleted, 3}}},
	}
	for _, c := range cases {
		got := old.Lacks(c.other)
		if len(got) != len(c.want) {
			t.Errorf("Lacks(%v) = %v, want %v", c.other, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("Lacks(%v) = %v, want %v", c.other, got, c.want)
			}
		}
	}
	if s := JoinKeys([]EventKey{{UserPut, 99}}, true); !strings.Contains(s, "UserPut version 99") || !strings.Contains(s, "versions 1 to 1") {
		t.Errorf("an unknown version is named %q", s)
	}
}

// An entry this build cannot apply stops the machine there: nothing after
// it is applied, no snapshot is taken, and the reason names the versions.
func TestUnknownEntryHaltsWithoutSkipping(t *testing.T) {
	f := New()
	var told []*HaltError
	f.OnHalt = func(h *HaltError) { told = append(told, h) }
	good := MustEncode(RolePutV1{Name: "r1"})
	unknown := []byte{0x00, byte(UserPut), 99, '{', '}'}
	out := f.ApplyBatch([]*raft.Log{
		{Index: 1, Type: raft.LogCommand, Data: good},
		{Index: 2, Type: raft.LogCommand, Data: unknown},
		{Index: 3, Type: raft.LogCommand, Data: MustEncode(RolePutV1{Name: "r3"})},
	})
	if res, ok := out[0].(Result); !ok || res.Status != Created {
		t.Errorf("entry 1: got %v", out[0])
	}
	for i := 1; i < 3; i++ {
		if _, ok := out[i].(*HaltError); !ok {
			t.Errorf("entry %d: got %v, want the halt", i+1, out[i])
		}
	}
	if got := f.Apply(&raft.Log{Index: 4, Type: raft.LogCommand, Data: good}); got != f.Halted() {
		t.Errorf("an entry after the halt: got %v", got)
	}
	if _, ok := f.State().Role("r3"); ok || f.State().AppliedIndex() != 1 {
		t.Errorf("the machine went past the entry it cannot apply (applied %d)", f.State().AppliedIndex())
	}
	if len(told) != 1 || !strings.Contains(told[0].Error(), "index 2 UserPut version 99") {
		t.Errorf("told of the halt %d times: %v", len(told), told)
	}
	if _, err := f.Snapshot(); err == nil {
		t.Error("a halted machine took a snapshot")
	}
}

// A snapshot of a state that applied an event this build lacks is refused
// with the versions named, and halts the machine.
func TestSnapshotOfNewerEventsIsRefused(t *testing.T) {
	a := New()
	applyAll(t, a, sampleEvents())
	a.State().meta.saw(RoleDeleted, 42)
	snap := snapshotBytes(t, a.State())
	b := New()
	err := b.Restore(nopCloser{bytes.NewReader(snap)})
	var newer *NewerEventsError
	if !errors.As(err, &newer) || !strings.Contains(err.Error(), "RoleDeleted version 42") {
		t.Fatalf("restore: got %v, want a refusal naming RoleDeleted version 42", err)
	}
	if b.Halted() == nil || b.State().AppliedIndex() != 0 {
		t.Error("the refused snapshot did not halt the machine, or changed its state")
	}
	// Versions this build applies come through a snapshot unchanged.
	c := New()
	applyAll(t, c, sampleEvents())
	if err := New().Restore(nopCloser{bytes.NewReader(snapshotBytes(t, c.State()))}); err != nil {
		t.Fatal(err)
	}
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
