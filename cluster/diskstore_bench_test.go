//go:build linux

package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// boltVariants are the BoltDB options compared: the defaults, the ones
// the node opens its log with (boltOptions), and the map freelist.
var boltVariants = []struct {
	name string
	opt  *bbolt.Options
}{
	{"default", nil},
	{"node", boltOptions()},
	{"map-freelist", &bbolt.Options{NoFreelistSync: true, FreelistType: bbolt.FreelistMapType}},
}

// BenchmarkBoltCommit stores batches of entries in one log store per
// variant in turn (interleaved, so a shared machine's drift hits all
// alike), each kept at about TrailingLogs entries as Raft keeps it, and
// reports per commit the time, the committing thread's CPU (fsync
// included) and the bytes it wrote.
func BenchmarkBoltCommit(b *testing.B) {
	for _, batch := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("entries=%d", batch), func(b *testing.B) {
			stores := make([]*raftboltdb.BoltStore, len(boltVariants))
			for i, v := range boltVariants {
				s, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(b.TempDir(), "raft.db"), BoltOptions: v.opt})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				stores[i] = s
			}
			runtime.LockOSThread() // the thread's CPU and I/O counters are the commit's
			defer runtime.UnlockOSThread()
			var took, cpu []time.Duration = make([]time.Duration, len(stores)), make([]time.Duration, len(stores))
			wrote := make([]int64, len(stores))
			var idx uint64
			commit := func(measure bool) {
				logs := make([]*raft.Log, batch)
				for i := range logs {
					idx++
					logs[i] = &raft.Log{Index: idx, Term: 1, Type: raft.LogCommand, Data: make([]byte, 400)}
				}
				for i, s := range stores {
					t0, c0, w0 := time.Now(), threadCPU(), threadWrote()
					if err := s.StoreLogs(logs); err != nil {
						b.Fatal(err)
					}
					if idx > 12_000 && idx%1024 < uint64(batch) { // trim as a snapshot does
						first, _ := s.FirstIndex()
						if err := s.DeleteRange(first, idx-10_240); err != nil {
							b.Fatal(err)
						}
					}
					if measure {
						took[i] += time.Since(t0)
						cpu[i] += threadCPU() - c0
						wrote[i] += threadWrote() - w0
					}
				}
			}
			for idx < 12_000 {
				commit(false)
			}
			n := 0
			for b.Loop() {
				commit(true)
				n++
			}
			for i, v := range boltVariants {
				b.ReportMetric(float64(took[i].Microseconds())/float64(n), v.name+"-µs")
				b.ReportMetric(float64(cpu[i].Microseconds())/float64(n), v.name+"-cpu-µs")
				b.ReportMetric(float64(wrote[i])/float64(n)/1024, v.name+"-KB")
			}
		})
	}
}

// BenchmarkBoltOpen: the time to open a log store of 12,800 entries of
// 2 KB (and as many deleted), as a restart does; without a synced
// freelist BoltDB walks the file to rebuild it.
func BenchmarkBoltOpen(b *testing.B) {
	for _, v := range boltVariants {
		b.Run(v.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "raft.db")
			s, err := raftboltdb.New(raftboltdb.Options{Path: path, BoltOptions: v.opt})
			if err != nil {
				b.Fatal(err)
			}
			var idx uint64
			for range 400 {
				logs := make([]*raft.Log, 64)
				for i := range logs {
					idx++
					logs[i] = &raft.Log{Index: idx, Term: 1, Type: raft.LogCommand, Data: make([]byte, 2048)}
				}
				if err := s.StoreLogs(logs); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.DeleteRange(1, idx/2); err != nil {
				b.Fatal(err)
			}
			s.Close()
			for b.Loop() {
				s, err := raftboltdb.New(raftboltdb.Options{Path: path, BoltOptions: v.opt})
				if err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
		})
	}
}

func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_THREAD, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// threadWrote is the bytes this thread has written (wchar).
func threadWrote() int64 {
	data, _ := os.ReadFile("/proc/thread-self/io")
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "wchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}
