package authn

import (
	"context"
	"encoding/json"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokenstore/tokenstore/fsm"
)

// When each API key was last used (xpack.security.authc.api_key.last_used).
// A write per authentication would cost the log more than the
// authentications themselves, so each node notes its own in memory, and
// once an interval the leader gathers every member's latest uses and
// writes them as one APIKeysUsed event: every node then answers last_used
// from its state, to within an interval.

// useSlot is one API key's latest successful authentication on this node,
// in epoch ms. The key's cached Authentication points at it, so the hot
// path stores into it with no lookup, lock or allocation; and only when
// the time moved by useResolution, so a key busy on every core writes its
// cache line a few times a second, not once a request.
type useSlot struct{ ms atomic.Int64 }

// useResolution is the least step a slot moves by, in ms: far below the
// shortest interval (1s), which is the precision last_used promises.
const useResolution = 100

func (u *useSlot) note(ms int64) {
	for {
		old := u.ms.Load()
		if old != 0 && ms-old < useResolution || u.ms.CompareAndSwap(old, ms) {
			return
		}
	}
}

// keyUses is this node's slots by key id: looked up when a key's
// Authentication is built (a cache miss), read once an interval. Sharded
// by id, so that misses on many cores rarely meet on one lock.
type keyUses struct{ shards [useShards]useShard }

const useShards = 64

type useShard struct {
	mu    sync.Mutex
	slots map[string]*useSlot
}

var useSeed = maphash.MakeSeed()

func (u *keyUses) shard(id string) *useShard {
	return &u.shards[maphash.String(useSeed, id)%useShards]
}

func (u *keyUses) slot(id string) *useSlot {
	sh := u.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sl, ok := sh.slots[id]
	if !ok {
		if sh.slots == nil {
			sh.slots = map[string]*useSlot{}
		}
		sl = &useSlot{}
		sh.slots[id] = sl
	}
	return sl
}

// used is every slot that saw a use: ids in order, and their times.
func (u *keyUses) used() ([]string, []int64) {
	type use struct {
		id string
		at int64
	}
	var uses []use
	for i := range u.shards {
		sh := &u.shards[i]
		sh.mu.Lock()
		for id, sl := range sh.slots {
			if at := sl.ms.Load(); at > 0 {
				uses = append(uses, use{id, at})
			}
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(uses, func(a, b use) int { return strings.Compare(a.id, b.id) })
	ids, at := make([]string, len(uses)), make([]int64, len(uses))
	for i, u := range uses {
		ids[i], at[i] = u.id, u.at
	}
	return ids, at
}

func (u *keyUses) forget(ids []string) {
	for _, id := range ids {
		sh := u.shard(id)
		sh.mu.Lock()
		delete(sh.slots, id)
		sh.mu.Unlock()
	}
}

// noteUse records a successful authentication of an API key at the
// attempt's admission time (read from the clock already, on the
// throttle's scale).
func (s *Service) noteUse(auth *Authentication, a *attempt) {
	if auth.used != nil {
		auth.used.note((s.epochNs + a.at) / int64(time.Millisecond))
	}
}

// maxUseBytes bounds one APIKeysUsed event and one member's report: ids
// and times past it wait for the next event (or the next interval). A
// hundred thousand keys, 20-character ids, take about 3.7 MB: one event.
const maxUseBytes = 8 << 20

// useBytes is what one id and time add to an event's JSON, at most.
func useBytes(id string) int { return len(id) + 3 + 21 }

// unrecorded is what of uses the state does not show yet: the keys whose
// use is an interval or more past their last use in the state, or which
// have none, up to maxUseBytes; next is where a following event starts.
// Keys gone from the state are returned apart.
func (s *Service) unrecorded(ids []string, at []int64) (out fsm.APIKeysUsedV1, gone []string, next int) {
	recorded := s.st.APIKeysLastUsed(ids)
	step, size := s.cfg.LastUsedInterval.Milliseconds(), 0
	for i, id := range ids {
		switch {
		case recorded[i] < 0:
			gone = append(gone, id)
		case at[i] > 0 && (recorded[i] == 0 || at[i]-recorded[i] >= step):
			if size+useBytes(id) > maxUseBytes {
				if len(out.IDs) > 0 {
					return out, gone, i
				}
				continue // an id no event can hold
			}
			size += useBytes(id)
			out.IDs, out.At = append(out.IDs, id), append(out.At, at[i])
		}
	}
	return out, gone, len(ids)
}

// KeyUsageReport is this node's API key uses that the state does not show
// yet, as the JSON of an APIKeysUsedV1: the leader asks every member for
// it once an interval. Nothing is forgotten when it is asked: what the
// leader writes drops out of the next report by itself, so an answer lost
// on the way costs an interval, not a use.
func (s *Service) KeyUsageReport() []byte {
	ids, at := s.uses.used()
	out, gone, _ := s.unrecorded(ids, at)
	s.uses.forget(gone) // purged keys
	b, _ := json.Marshal(out)
	return b
}

// KeyUsageGatherer is what the leader needs of the cluster to hear the
// other members' reports (cluster.Node).
type KeyUsageGatherer interface {
	// GatherKeyUsage asks every other member for its KeyUsageReport and
	// returns the answers that came.
	GatherKeyUsage(ctx context.Context) [][]byte
}

// RunLastUsed writes, every interval while this node leads, the uses the
// members saw and the state does not show yet as one APIKeysUsed event.
func (s *Service) RunLastUsed(ctx context.Context, members KeyUsageGatherer) {
	t := time.NewTicker(s.cfg.LastUsedInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.p.IsLeader() {
			s.recordUses(ctx, members.GatherKeyUsage(ctx))
		}
	}
}

// recordUses merges this node's uses with the members' reports, keeps the
// latest of each key, and proposes them: one event, or several when they
// exceed maxUseBytes. A time later than the leader's clock is taken as
// the leader's now: no use happens in the future.
func (s *Service) recordUses(ctx context.Context, reports [][]byte) {
	ids, at := s.uses.used()
	latest := make(map[string]int64, len(ids))
	for i, id := range ids {
		latest[id] = at[i]
	}
	for _, body := range reports {
		var r fsm.APIKeysUsedV1
		if json.Unmarshal(body, &r) != nil {
			continue
		}
		for i := range min(len(r.IDs), len(r.At)) {
			latest[r.IDs[i]] = max(latest[r.IDs[i]], r.At[i])
		}
	}
	now := s.now().UnixMilli()
	ids = ids[:0]
	for id := range latest {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	at = make([]int64, len(ids))
	for i, id := range ids {
		at[i] = min(latest[id], now)
	}
	for len(ids) > 0 && ctx.Err() == nil {
		event, gone, next := s.unrecorded(ids, at)
		s.uses.forget(gone)
		ids, at = ids[next:], at[next:]
		if len(event.IDs) == 0 {
			continue
		}
		if _, _, err := s.p.ProposeAsLeader(fsm.MustEncode(event)); err != nil {
			s.log.Warn("recording api key uses failed", "keys", len(event.IDs), "error", err)
			return
		}
		s.log.Debug("api key uses recorded", "keys", len(event.IDs))
	}
}
