package cluster

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

func testDiskHealth(dir string) *diskHealth {
	n := &Node{cfg: Config{ID: "n1"}, log: hclog.NewNullLogger()}
	n.disk = &diskHealth{node: n, dir: dir, wake: make(chan struct{}, 1)}
	return n.disk
}

func entry(i uint64) *raft.Log {
	return &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: []byte(strconv.FormatUint(i, 10))}
}

// Entries stored through the cache are read back from memory: with the
// Bolt file closed under it, the cache still serves the recent entries.
func TestCachedLogsServeRecentEntries(t *testing.T) {
	dir := t.TempDir()
	bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db"), BoltOptions: boltOptions()})
	if err != nil {
		t.Fatal(err)
	}
	logs, err := newCachedLogs(guardedLogs{LogStore: bolt, disk: testDiskHealth(dir)})
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= logCacheSize+1; i++ {
		if err := logs.StoreLogs([]*raft.Log{entry(i)}); err != nil {
			t.Fatal(err)
		}
	}
	bolt.Close()
	var l raft.Log
	if err := logs.GetLog(logCacheSize+1, &l); err != nil || string(l.Data) != strconv.Itoa(logCacheSize+1) {
		t.Fatalf("the newest entry with Bolt closed: got %v %v, want it from the cache", l.Data, err)
	}
	if err := logs.GetLog(1, &l); err == nil {
		t.Fatal("the entry the cache no longer holds read from a closed Bolt store")
	}
}

// A store that refuses a write (Bolt opened read-only fails every write,
// as a full disk does) leaves nothing in the cache: the entry stays
// missing, and Raft gets the guard's UnavailableError naming the cause.
func TestCachedLogsKeepNoFailedEntry(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "raft.db")
	rw, err := raftboltdb.New(raftboltdb.Options{Path: path, BoltOptions: boltOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if err := rw.StoreLogs([]*raft.Log{entry(1)}); err != nil {
		t.Fatal(err)
	}
	rw.Close()
	ro, err := raftboltdb.New(raftboltdb.Options{Path: path, BoltOptions: &bbolt.Options{ReadOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	logs, err := newCachedLogs(guardedLogs{LogStore: ro, disk: testDiskHealth(dir)})
	if err != nil {
		t.Fatal(err)
	}

	err = logs.StoreLogs([]*raft.Log{entry(2)})
	ue, ok := errors.AsType[*UnavailableError](err)
	if !ok || !strings.Contains(ue.Reason, bbolt.ErrDatabaseReadOnly.Error()) {
		t.Fatalf("a failed store: got %v, want an UnavailableError naming %q", err, bbolt.ErrDatabaseReadOnly)
	}
	var l raft.Log
	if err := logs.GetLog(2, &l); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("the entry whose store failed: got %v %v, want raft.ErrLogNotFound", l.Data, err)
	}
	if err := logs.GetLog(1, &l); err != nil || string(l.Data) != "1" {
		t.Fatalf("the entry stored before: got %v %v", l.Data, err)
	}
}

// eioLogs fails every write as a failing disk does (EIO); this machine
// has no device-mapper to make a real one, and the guard sees only the
// error, whatever its cause.
type eioLogs struct{ raft.LogStore }

func (eioLogs) StoreLogs([]*raft.Log) error {
	return &os.PathError{Op: "write", Path: "raft.db", Err: syscall.EIO}
}

// An I/O error is a failing data path like a full disk: the write gets the
// guard's UnavailableError naming it, an entry that may revoke fences the
// node, and the fault lifts once a probe write succeeds again.
func TestIOErrorIsADiskFault(t *testing.T) {
	dir := t.TempDir()
	bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db"), BoltOptions: boltOptions()})
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	disk := testDiskHealth(dir)
	logs := guardedLogs{LogStore: eioLogs{bolt}, disk: disk}
	err = logs.StoreLogs([]*raft.Log{entry(1)})
	ue, ok := errors.AsType[*UnavailableError](err)
	if !ok || !strings.Contains(ue.Reason, syscall.EIO.Error()) {
		t.Fatalf("a write failing with EIO: got %v, want an UnavailableError naming %q", err, syscall.EIO)
	}
	if disk.err() == nil || !disk.fenced() {
		t.Fatalf("after EIO: fault %v, fenced %v; want both", disk.err(), disk.fenced())
	}
	disk.check() // the directory takes writes: the probe succeeds
	if err := disk.err(); err != nil {
		t.Fatalf("after a successful probe: %v, want the fault lifted", err)
	}
}
