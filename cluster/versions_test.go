package cluster

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/tokenstore/tokenstore/fsm"
)

// A log holding an event this build does not apply is refused before Raft
// starts, naming the first such entry and the versions; one without is not.
func TestCheckLogAppliesNamesTheVersions(t *testing.T) {
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(t.TempDir(), "raft.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	known := fsm.MustEncode(fsm.RolePutV1{Name: "r"})
	logs := []*raft.Log{
		{Index: 1, Type: raft.LogConfiguration, Data: []byte{0xff}},
		{Index: 2, Type: raft.LogCommand, Data: known},
	}
	if err := store.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
	if err := checkLogApplies(store); err != nil {
		t.Fatalf("a log of known events: %v", err)
	}
	newer := []*raft.Log{
		{Index: 3, Type: raft.LogCommand, Data: []byte{0x00, byte(fsm.UserPut), 77, '{', '}'}},
		{Index: 4, Type: raft.LogCommand, Data: known},
		{Index: 5, Type: raft.LogCommand, Data: []byte{0x7f, 0x00, 1, '{', '}'}},
	}
	if err := store.StoreLogs(newer); err != nil {
		t.Fatal(err)
	}
	err = checkLogApplies(store)
	var refused *fsm.NewerEventsError
	if !errors.As(err, &refused) || refused.Index != 3 {
		t.Fatalf("got %v, want a refusal at index 3", err)
	}
	for _, want := range []string{"UserPut version 77", "versions 1 to 1", "type 32512 version 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not name %q", err, want)
		}
	}
}
