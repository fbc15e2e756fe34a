package cluster

import (
	"fmt"
	"io"

	"github.com/hashicorp/raft"
	"go.etcd.io/bbolt"
)

// boltOptions opens the log store without syncing BoltDB's freelist: a
// commit writes one page less (one entry: 21 KB instead of 25 KB) and
// spends 3-5 % less CPU, measured interleaved against the defaults
// (BenchmarkBoltCommit). Opening then rebuilds the freelist by walking
// the file (BenchmarkBoltOpen: 31 ms instead of 3 ms for 27 MB of
// entries), which a restart does not notice beside the read of every
// entry that checkLogApplies makes anyway: a node holding 20,000 entries
// (42 MB) reopened in 160-185 ms, against 158-176 ms with the defaults.
// The map freelist measured worse on logs of this size (up to 12 % more
// CPU per commit), so the array one stays.
func boltOptions() *bbolt.Options {
	return &bbolt.Options{NoFreelistSync: true}
}

// guardedLogs is Raft's log store with its write failures reported to the
// disk health (disk.go): the error Raft passes on names the cause, and
// entries a follower failed to store may fence it.
type guardedLogs struct {
	raft.LogStore
	disk *diskHealth
}

func (g guardedLogs) StoreLog(l *raft.Log) error { return g.StoreLogs([]*raft.Log{l}) }

func (g guardedLogs) StoreLogs(logs []*raft.Log) error {
	if err := g.LogStore.StoreLogs(logs); err != nil {
		g.disk.missed(logs)
		return g.disk.failed("store raft log entries", err)
	}
	return nil
}

func (g guardedLogs) DeleteRange(min, max uint64) error {
	if err := g.LogStore.DeleteRange(min, max); err != nil {
		return g.disk.failed("delete raft log entries", err)
	}
	return nil
}

// cachedLogs is the guarded log store with its recent entries kept in
// memory (raft.LogCache), so that the leader replicates them and a
// follower applies them without reading them back from Bolt. The cache
// takes only entries the store took; a failed store reaches Raft with the
// guard's error (an UnavailableError), not the string LogCache makes of it.
type cachedLogs struct {
	*raft.LogCache
	disk *diskHealth
}

// logCacheSize is how many recent entries the cache keeps: as many as one
// append carries (MaxAppendEntries), and what Consul keeps.
const logCacheSize = 512

func newCachedLogs(g guardedLogs) (cachedLogs, error) {
	cache, err := raft.NewLogCache(logCacheSize, g)
	if err != nil {
		return cachedLogs{}, fmt.Errorf("raft log cache: %w", err)
	}
	return cachedLogs{LogCache: cache, disk: g.disk}, nil
}

func (c cachedLogs) StoreLog(l *raft.Log) error { return c.StoreLogs([]*raft.Log{l}) }

func (c cachedLogs) StoreLogs(logs []*raft.Log) error {
	if err := c.LogCache.StoreLogs(logs); err != nil {
		if derr := c.disk.err(); derr != nil {
			return derr
		}
		return err
	}
	return nil
}

// guardedSnapshots is Raft's snapshot store with its write failures
// reported to the disk health.
type guardedSnapshots struct {
	raft.SnapshotStore
	disk *diskHealth
}

func (g guardedSnapshots) Create(version raft.SnapshotVersion, index, term uint64, c raft.Configuration,
	cIndex uint64, t raft.Transport) (raft.SnapshotSink, error) {
	sink, err := g.SnapshotStore.Create(version, index, term, c, cIndex, t)
	if err != nil {
		return nil, g.disk.failed("create a snapshot", err)
	}
	return guardedSink{SnapshotSink: sink, disk: g.disk}, nil
}

type guardedSink struct {
	raft.SnapshotSink
	disk *diskHealth
}

var _ io.WriteCloser = guardedSink{}

func (s guardedSink) Write(p []byte) (int, error) {
	n, err := s.SnapshotSink.Write(p)
	if err != nil {
		return n, s.disk.failed("write a snapshot", err)
	}
	return n, nil
}

func (s guardedSink) Close() error {
	if err := s.SnapshotSink.Close(); err != nil {
		return s.disk.failed("write a snapshot", err)
	}
	return nil
}
