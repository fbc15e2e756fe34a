package cluster

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// The stable file takes over the keys BoltDB held, keeps every update
// across a reopen, survives a torn slot with the state before the update,
// and writes through to BoltDB for older builds.
func TestStableFile(t *testing.T) {
	dir := t.TempDir()
	bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	bolt.SetUint64([]byte("CurrentTerm"), 7)
	bolt.Set([]byte("LastVoteCand"), []byte("node-1"))
	path := filepath.Join(dir, "stable")
	open := func() *stableFile {
		s, err := openStableFile(path, bolt)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	if term, err := s.GetUint64([]byte("CurrentTerm")); err != nil || term != 7 {
		t.Fatalf("term taken from BoltDB: %d, %v", term, err)
	}
	if _, err := s.Get([]byte("LastVoteTerm")); err == nil || err.Error() != "not found" {
		t.Fatalf("a missing key: %v, want raft's \"not found\"", err)
	}
	for term := uint64(8); term <= 11; term++ {
		if err := s.SetUint64([]byte("CurrentTerm"), term); err != nil {
			t.Fatal(err)
		}
	}
	s.Set([]byte("LastVoteCand"), []byte("node-2"))
	s.Close()
	if info, _ := os.Stat(path); info.Size() != 2*stableSlot {
		t.Fatalf("file is %d bytes, want %d: updates must not grow it", info.Size(), 2*stableSlot)
	}

	s = open()
	if term, _ := s.GetUint64([]byte("CurrentTerm")); term != 11 {
		t.Fatalf("term after reopen: %d, want 11", term)
	}
	if cand, _ := s.Get([]byte("LastVoteCand")); string(cand) != "node-2" {
		t.Fatalf("vote after reopen: %q", cand)
	}
	if term, _ := bolt.GetUint64([]byte("CurrentTerm")); term != 11 {
		t.Fatalf("BoltDB's copy of the term: %d, want 11", term)
	}
	// Tear the slot of the last update: the one before it is read.
	s.f.WriteAt([]byte("garbage"), int64(s.seq%2)*stableSlot+stableHead)
	s.Close()
	s = open()
	defer s.Close()
	if cand, _ := s.Get([]byte("LastVoteCand")); string(cand) != "node-1" {
		t.Fatalf("vote after a torn last write: %q, want the previous one", cand)
	}
	if term, _ := s.GetUint64([]byte("CurrentTerm")); term != 11 {
		t.Fatalf("term after a torn last write: %d, want 11", term)
	}
}

// A write after Close (a heartbeat Raft's transport was still handling when
// the node stopped) neither returns an error, on which Raft panics, nor
// writes: it never returns.
func TestStableFileWriteAfterCloseNeverReturns(t *testing.T) {
	dir := t.TempDir()
	bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	s, err := openStableFile(filepath.Join(dir, "stable"), bolt)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	returned := make(chan error, 1)
	go func() { returned <- s.SetUint64([]byte("CurrentTerm"), 9) }()
	select {
	case err := <-returned:
		t.Fatalf("a write after Close returned (%v): Raft would panic on its error", err)
	case <-time.After(200 * time.Millisecond):
	}
	if term, _ := bolt.GetUint64([]byte("CurrentTerm")); term == 9 {
		t.Fatal("a write after Close reached the store")
	}
}
