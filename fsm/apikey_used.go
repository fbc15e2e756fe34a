package fsm

import (
	"fmt"
	"slices"
	"strings"
)

// When each API key was last used. Every node notes its own successful
// authentications in memory; once an interval the leader gathers the
// members' latest uses and writes them as one APIKeysUsed event. The time
// is kept beside the key in its table (a mark), not in the record: the
// record stays the same pointer, so the caches built from it stay valid.

// APIKeysUsedV1 raises the last use of the keys IDs[i] to At[i] (epoch
// ms), where it is later than what the state has. The leader decides the
// times; apply only keeps the greater, so order and repetition do not
// matter. Ids without a key are ignored.
type APIKeysUsedV1 struct {
	IDs []string `json:"ids"`
	At  []int64  `json:"at"`
}

// EventType implements Payload.
func (APIKeysUsedV1) EventType() (EventType, uint8) { return APIKeysUsed, 1 }

func applyAPIKeysUsedV1(s *State, _ uint64, p APIKeysUsedV1) Result {
	res := Result{Status: Unchanged}
	for i := range min(len(p.IDs), len(p.At)) {
		if s.apiKeys.raise(p.IDs[i], p.At[i]) {
			res.Status = Updated
		}
	}
	return res
}

// APIKeyLastUsed is when the key with that id was last used, as the log
// records it (epoch ms); 0 when never, or when there is no such key.
func (s *State) APIKeyLastUsed(id string) int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.apiKeys.mark(id)
}

// APIKeysLastUsed is APIKeyLastUsed of every id, under one read lock; -1
// for an id without a key.
func (s *State) APIKeysLastUsed(ids []string) []int64 {
	out := make([]int64, len(ids))
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i, id := range ids {
		if out[i] = s.apiKeys.mark(id); out[i] == 0 && !s.apiKeys.has(id) {
			out[i] = -1
		}
	}
	return out
}

// keyUseRecord is one key's last use in a snapshot: binary, the key's id
// then the time, written after the keys (restoring it needs its key).
func captureKeyUses(s *State) recordWriter {
	keys, marks := s.apiKeys.copyWithMarks()
	return func(sw *snapshotWriter) {
		type use struct {
			id string
			at int64
		}
		var uses []use
		for i, k := range keys {
			if marks[i] > 0 {
				uses = append(uses, use{k.ID, marks[i]})
			}
		}
		slices.SortFunc(uses, func(a, b use) int { return strings.Compare(a.id, b.id) })
		for _, u := range uses {
			w := sw.binaryBody()
			w.str(u.id)
			w.int(u.at)
			sw.frame(recAPIKeyUse, w.b)
		}
	}
}

func restoreKeyUse(s *State, body []byte, _ *restoring) error {
	r := &binReader{b: body}
	id, at := r.str(), r.int()
	if err := r.done(); err != nil {
		return err
	}
	if !s.apiKeys.has(id) {
		return fmt.Errorf("last use of api key %s, which is not in the snapshot", id)
	}
	s.apiKeys.raise(id, at)
	return nil
}
