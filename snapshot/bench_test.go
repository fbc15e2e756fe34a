package snapshot_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/authn"
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
		// A file, as Raft's snapshot sink is: growing a buffer in memory
		// would measure copying, not the snapshot.
		f, err := os.Create(filepath.Join(b.TempDir(), "snapshot"))
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if err := snapshot.Write(f, st, 0); err != nil {
			b.Fatal(err)
		}
		write := time.Since(t0)
		close(stop)
		<-done
		b.ReportMetric(write.Seconds(), "snapshot-s")
		b.ReportMetric(float64(time.Duration(stall.Load()).Microseconds())/1000, "max-write-stall-ms")
		size, _ := f.Seek(0, io.SeekCurrent)
		b.ReportMetric(float64(size)/(1<<20), "backup-MiB")
		b.ReportMetric(float64(size)/float64(n), "snapshot-bytes/key")
		f.Seek(0, io.SeekStart)
		t0 = time.Now()
		if _, _, err := snapshot.Read(f); err != nil {
			b.Fatal(err)
		}
		f.Close()
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
	if _, err := snapshot.Restore(c.Node(0).Cluster(), f); err != nil {
		b.Fatal(err)
	}
	f.Close()
	if err := c.Node(0).Cluster().Snapshot(); err != nil {
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
}

// tokenBearer encodes a raw access token the way the token service does
// (Elasticsearch 8.10's format) and returns it with its stored pair.
func tokenBearer(i int, now int64) (string, fsm.TokenPair) {
	seed := sha256.Sum256([]byte(fmt.Sprintf("bench-token-%d", i)))
	raw := seed[:24]
	idSum := sha256.Sum256(raw[16:])
	hash := sha256.Sum256(raw)
	pair := fsm.TokenPair{DocID: "token_" + base64.RawURLEncoding.EncodeToString(idSum[:]),
		AccessHash: base64.RawURLEncoding.EncodeToString(hash[:]), Creation: now, GrantTime: now, AccessExpiry: now + 3600_000,
		Username: "elastic", Realm: "reserved", RealmType: "reserved", Client: "reserved/elastic"}
	enc := binary.AppendUvarint(nil, 8_500_035)
	enc = binary.AppendUvarint(enc, 24)
	return base64.StdEncoding.EncodeToString(append(enc, raw...)), pair
}

// BenchmarkRestart3Nodes: a three-node cluster holding n API keys and n
// access tokens (every tenth invalidated) is killed whole and restarted;
// the figure is the time from start until every node serves, and then
// every credential is checked on every node. Default n is 100,000
// (TOKENSTORE_BENCH_RESTART_CREDENTIALS overrides).
func BenchmarkRestart3Nodes(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("TOKENSTORE_BENCH_RESTART_CREDENTIALS")); err == nil && v > 0 {
		n = v
	}
	c := testcluster.New(b, 3)
	st := fsm.NewState()
	hash, _ := authn.NewHasher("bcrypt4")
	elasticHash, _ := hash.Hash([]byte(testcluster.ElasticPassword))
	st.ApplyEvent(1, fsm.MustEncode(fsm.ElasticBootstrappedV1{PasswordHash: elasticHash, ClusterID: "bench"}))
	buildKeys(b, st, n)
	now := time.Now().UnixMilli()
	idx := st.AppliedIndex()
	var valid, invalid []string
	var revoke fsm.APIKeysInvalidatedV1
	var revokeTokens fsm.TokensInvalidatedV1
	for i := 0; i < n; i++ {
		bearer, pair := tokenBearer(i, now)
		idx++
		st.ApplyEvent(idx, fsm.MustEncode(fsm.TokenIssuedV1{Pair: pair}))
		key := "ApiKey " + base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("k%019d", i)+":"+benchSecret))
		if i%10 == 0 {
			revoke.IDs = append(revoke.IDs, fmt.Sprintf("k%019d", i))
			revokeTokens.Tokens = append(revokeTokens.Tokens, fsm.TokenInvalidation{DocID: pair.DocID})
			invalid = append(invalid, key, "Bearer "+bearer)
		} else {
			valid = append(valid, key, "Bearer "+bearer)
		}
	}
	st.ApplyEvent(idx+1, fsm.MustEncode(revoke))
	st.ApplyEvent(idx+2, fsm.MustEncode(revokeTokens))
	var buf bytes.Buffer
	if err := snapshot.Write(&buf, st, now); err != nil {
		b.Fatal(err)
	}
	st = nil
	if _, err := snapshot.Restore(c.Node(c.Leader()).Cluster(), &buf); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		c.Eventually(time.Minute, "restored everywhere", func() bool {
			r, err := testcluster.Do(c.URL(i), http.MethodGet, "/_security/_authenticate", valid[len(valid)-1], nil)
			return err == nil && r.Status == http.StatusOK
		})
		c.Node(i).Cluster().Snapshot()
	}
	for b.Loop() {
		for i := 0; i < 3; i++ {
			c.Kill(i)
		}
		t0 := time.Now()
		for i := 0; i < 3; i++ {
			c.Restart(i)
		}
		for i := 0; i < 3; i++ {
			c.Eventually(5*time.Minute, "serving after restart", func() bool {
				r, err := testcluster.Do(c.URL(i), http.MethodGet, "/_security/_authenticate", valid[0], nil)
				return err == nil && r.Status == http.StatusOK
			})
		}
		b.ReportMetric(time.Since(t0).Seconds(), "restart-to-serving-s")
		bad := checkAll(c, valid, http.StatusOK) + checkAll(c, invalid, http.StatusUnauthorized)
		if bad > 0 {
			b.Fatalf("%d credential checks gave the wrong answer", bad)
		}
		b.ReportMetric(float64(3*(len(valid)+len(invalid))), "credentials-checked")
	}
}

// checkAll authenticates every header on every node with 16 workers and
// returns how many answers differed from want.
func checkAll(c *testcluster.Cluster, headers []string, want int) int {
	var bad atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(headers)*3; i += 16 {
				r, err := testcluster.Do(c.URL(i%3), http.MethodGet, "/_security/_authenticate", headers[i/3], nil)
				if err != nil || r.Status != want {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return int(bad.Load())
}
