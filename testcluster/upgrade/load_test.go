package upgrade

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

type apiKey struct{ ID, Encoded string }

type keyPool struct {
	mu   sync.Mutex
	keys []apiKey
}

func (p *keyPool) add(k apiKey) {
	p.mu.Lock()
	p.keys = append(p.keys, k)
	p.mu.Unlock()
}

func (p *keyPool) pick(rng *rand.Rand) apiKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys[rng.IntN(len(p.keys))]
}

// nodeGate keeps the load off a node while it restarts: down waits for the
// requests in flight to it, so none of them meets the restart.
type nodeGate struct {
	mu     sync.RWMutex
	isDown bool
}

// enter reports whether the node is up, and if so holds it up until leave.
func (g *nodeGate) enter() bool {
	g.mu.RLock()
	if g.isDown {
		g.mu.RUnlock()
		return false
	}
	return true
}

func (g *nodeGate) leave() { g.mu.RUnlock() }

func (g *nodeGate) down() {
	g.mu.Lock()
	g.isDown = true
	g.mu.Unlock()
}

func (g *nodeGate) back() {
	g.mu.Lock()
	g.isDown = false
	g.mu.Unlock()
}

func (uc *upgradeCluster) tryCreate(node int, name string) (apiKey, int) {
	r, err := testcluster.Do(uc.procs[node].URL(), http.MethodPost, "/_security/api_key", elastic, map[string]any{"name": name})
	if err != nil || r.Status != http.StatusOK {
		return apiKey{}, r.Status
	}
	var k apiKey
	if json.Unmarshal(r.Body, &struct {
		ID      *string `json:"id"`
		Encoded *string `json:"encoded"`
	}{&k.ID, &k.Encoded}) != nil || k.ID == "" {
		return apiKey{}, 0
	}
	return k, r.Status
}

func (uc *upgradeCluster) createOn(t *testing.T, node int) apiKey {
	t.Helper()
	var k apiKey
	waitFor(t, 10*time.Second, "a create on "+uc.procs[node].ID, func() bool {
		var st int
		k, st = uc.tryCreate(node, fmt.Sprintf("before-%d", time.Now().UnixNano()))
		return st == http.StatusOK
	})
	return k
}

func (uc *upgradeCluster) authStatus(node int, k apiKey) int {
	r, err := testcluster.Do(uc.procs[node].URL(), http.MethodGet, "/_security/_authenticate", "ApiKey "+k.Encoded, nil)
	if err != nil {
		return 0
	}
	return r.Status
}

// load is a light, steady mix: authentications of the keys made before the
// upgrade on every node that is up, and creates through them.
type load struct {
	auths, authFailed, creates atomic.Int64
	createFailed               atomic.Int64
	mu                         sync.Mutex
	created                    []apiKey
	samples                    []string
	cancel                     context.CancelFunc
	wg                         sync.WaitGroup
	seenAuths, seenCreates     int64
}

func (uc *upgradeCluster) startLoad() *load {
	l := &load{}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	for c := range 3 {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), uint64(time.Now().UnixNano())))
			for i := 0; ctx.Err() == nil; i++ {
				node := (c + i) % len(uc.procs)
				if !uc.up[node].enter() {
					continue
				}
				k := uc.keys.pick(rng)
				st := uc.authStatus(node, k)
				uc.up[node].leave()
				l.auths.Add(1)
				if st != http.StatusOK {
					l.authFailed.Add(1)
					l.sample(fmt.Sprintf("%s on %s: %d", k.ID, uc.procs[node].ID, st))
				}
			}
		}()
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			node := i % len(uc.procs)
			if !uc.up[node].enter() {
				continue
			}
			k, st := uc.tryCreate(node, fmt.Sprintf("during-%d", i))
			uc.up[node].leave()
			if st != http.StatusOK {
				l.createFailed.Add(1)
				continue
			}
			l.mu.Lock()
			l.created = append(l.created, k)
			l.mu.Unlock()
			l.creates.Add(1)
			time.Sleep(20 * time.Millisecond) // a light write load: pacing, not a wait for anything
		}
	}()
	return l
}

func (l *load) sample(s string) {
	l.mu.Lock()
	if len(l.samples) < 5 {
		l.samples = append(l.samples, s)
	}
	l.mu.Unlock()
}

// waitProgress waits until the load has authenticated and created more
// since the last call, so that every phase of the upgrade ran under it.
func (l *load) waitProgress(t *testing.T) {
	t.Helper()
	waitFor(t, 20*time.Second, "the load to make progress", func() bool {
		return l.auths.Load() >= l.seenAuths+50 && l.creates.Load() >= l.seenCreates+3
	})
	l.seenAuths, l.seenCreates = l.auths.Load(), l.creates.Load()
}

func (l *load) stop() (created []apiKey, createFailed, auths, authFailed int, samples []string) {
	l.cancel()
	l.wg.Wait()
	return l.created, int(l.createFailed.Load()), int(l.auths.Load()), int(l.authFailed.Load()), l.samples
}
