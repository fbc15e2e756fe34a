package httpapi_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// An invalidation naming many ids must not hold the state's read lock for
// work that grows with them: with a write waiting for that lock, every
// authentication on the node would wait too (issue 12, finding 5: 440k ids
// against 4,000 keys held it 5 s).
func TestInvalidateManyIDsDoesNotStallAuthentication(t *testing.T) {
	c := testcluster.New(t, 1)
	const keys = 3000
	var wg sync.WaitGroup
	var next atomic.Int64
	var kept createdKey
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := next.Add(1); n <= keys; n = next.Add(1) {
				k := createKey(t, c, 0, testcluster.Elastic, map[string]any{"name": fmt.Sprintf("k-%d", n)})
				if n == keys {
					kept = k
				}
			}
		}()
	}
	wg.Wait()

	ids := make([]string, 400_000)
	for i := range ids {
		ids[i] = fmt.Sprintf("no-such-key-%08d", i)
	}
	ids[len(ids)-1] = kept.ID

	stop := make(chan struct{})
	var worst atomic.Int64
	var authFailures atomic.Int64
	var bg sync.WaitGroup
	bg.Add(2)
	go func() { // writes queue on the state lock behind the invalidation
		defer bg.Done()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			c.Do(0, http.MethodPut, fmt.Sprintf("/_security/role/r-%d", n), testcluster.Elastic, map[string]any{"cluster": []string{"monitor"}})
		}
	}()
	go func() {
		defer bg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			if r := c.Do(0, http.MethodGet, "/_security/_authenticate", testcluster.Elastic, nil); r.Status != 200 {
				authFailures.Add(1)
			}
			if d := int64(time.Since(start)); d > worst.Load() {
				worst.Store(d)
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	r := c.Do(0, http.MethodDelete, "/_security/api_key", testcluster.Elastic, map[string]any{"ids": ids})
	close(stop)
	bg.Wait()
	if r.Status != 200 {
		t.Fatalf("invalidate: %d %.300s", r.Status, r.Body)
	}
	if got := r.JSON()["invalidated_api_keys"]; fmt.Sprint(got) != fmt.Sprintf("[%s]", kept.ID) {
		t.Fatalf("invalidated %v, want only %s", got, kept.ID)
	}
	if authFailures.Load() > 0 {
		t.Fatalf("%d authentications failed during the invalidation", authFailures.Load())
	}
	// Before the fix the invalidation held the lock for seconds (3,000 keys ×
	// 400k ids) and authentications waited as long; a bound of one second
	// leaves wide room for a loaded machine.
	if w := time.Duration(worst.Load()); w > time.Second {
		t.Fatalf("an authentication waited %v behind the invalidation", w)
	}
}
