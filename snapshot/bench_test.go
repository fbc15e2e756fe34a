package snapshot_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/fsm"
	"github.com/tokenstore/tokenstore/snapshot"
	"github.com/tokenstore/tokenstore/testcluster"
)

const benchSecret = "benchmark-secret-22chr"

// benchCount is TOKENSTORE_BENCH_CREDENTIALS, 1,000,000 by default.
func benchCount() int {
	if n, err := strconv.Atoi(os.Getenv("TOKENSTORE_BENCH_CREDENTIALS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// buildKeys applies n API key creations, as a user with the superuser role
// would make them, directly to a state.
func buildKeys(b *testing.B, st *fsm.State, n int) {
	salt := []byte("12345678")
	sum := sha256.Sum256(append([]byte(benchSecret), salt...))
	hash := "{SSHA256}" + base64.StdEncoding.EncodeToString(salt) + base64.StdEncoding.EncodeToString(sum[:])
	limited := map[string]fsm.RoleDescriptor{"superuser": {Cluster: []string{"all"},
		Indices: []fsm.IndicesPrivileges{{Names: []string{"*"}, Privileges: []string{"all"}, AllowRestrictedIndices: true}}}}
	base := st.AppliedIndex()
	for i := 0; i < n; i++ {
		k := fsm.APIKey{ID: fmt.Sprintf("k%019d", i), Name: "bench", Type: "rest", Hash: hash, Creation: 1_700_000_000_000 + int64(i),
			RoleDescriptors: map[string]fsm.RoleDescriptor{}, LimitedBy: limited,
			Creator: fsm.Creator{Principal: "elastic", Realm: "reserved", RealmType: "reserved"}}
		if _, err := st.ApplyEvent(base+uint64(i)+1, fsm.MustEncode(fsm.APIKeyCreatedV1{Key: k})); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMillionAPIKeys: resident memory per key, snapshot time and the
// longest stall it causes to a concurrent writer, backup size, restore time.
func BenchmarkMillionAPIKeys(b *testing.B) {
	n := benchCount()
	for b.Loop() {
		before := heapInUse()
		st := fsm.NewState()
		buildKeys(b, st, n)
		after := heapInUse()
		b.ReportMetric(float64(after-before)/float64(n), "heap-bytes/key")

		// A writer keeps applying events while the snapshot is written.
		var stall atomic.Int64
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			ev := fsm.MustEncode(fsm.RolePutV1{Name: "w"})
			for i := uint64(0); ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				t0 := time.Now()
				st.ApplyEvent(uint64(n)+10+i, ev)
				if d := int64(time.Since(t0)); d > stall.Load() {
					stall.Store(d)
				}
				time.Sleep(100 * time.Microsecond)
			}
		}()
		var buf bytes.Buffer
		t0 := time.Now()
		if err := snapshot.Write(&buf, st, 0); err != nil {
			b.Fatal(err)
		}
		write := time.Since(t0)
		close(stop)
		<-done
		b.ReportMetric(write.Seconds(), "snapshot-s")
		b.ReportMetric(float64(time.Duration(stall.Load()).Microseconds())/1000, "max-write-stall-ms")
		b.ReportMetric(float64(buf.Len())/(1<<20), "backup-MiB")
		t0 = time.Now()
		if _, _, err := snapshot.Read(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(t0).Seconds(), "restore-s")
	}
}

// BenchmarkRestartToServing: a node holding n API keys (installed through a
// real raft restore, so they sit in its snapshot store) is stopped and
// started again; the figure is the time from start until a key works.
func BenchmarkRestartToServing(b *testing.B) {
	n := benchCount()
	c := testcluster.New(b, 1)
	st := fsm.NewState()
	buildKeys(b, st, n)
	file := filepath.Join(b.TempDir(), "keys.backup")
	f, _ := os.Create(file)
	if err := snapshot.Write(f, st, 0); err != nil {
		b.Fatal(err)
	}
	f.Close()
	st = nil
	f, _ = os.Open(file)
	if _, err := snapshot.Restore(c.Server(0).Node(), f); err != nil {
		b.Fatal(err)
	}
	f.Close()
	if err := c.Server(0).Node().Snapshot(); err != nil {
		b.Logf("snapshot after restore: %v", err)
	}
	auth := "ApiKey " + base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("k%019d", n-1)+":"+benchSecret))
	for b.Loop() {
		c.Stop(0)
		t0 := time.Now()
		c.Restart(0)
		for {
			r, err := testcluster.Do(c.URL(0), http.MethodGet, "/_security/_authenticate", auth, nil)
			if err == nil && r.Status == http.StatusOK {
				break
			}
			if time.Since(t0) > 5*time.Minute {
				b.Fatalf("not serving after 5 minutes: %v", err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		b.ReportMetric(time.Since(t0).Seconds(), "restart-to-serving-s")
	}
	_ = context.Background()
}
