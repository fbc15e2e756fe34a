package fsm

import (
	"sort"
	"sync"
	"sync/atomic"
)

// State is the whole credential state, kept in memory on every node. Writers
// are the Apply functions only; everything else reads through query methods
// that return copies or immutable values.
type State struct {
	mu       sync.RWMutex
	users    map[string]*User
	reserved map[string]*ReservedUser
	roles    map[string]*Role
	appPrivs map[string]map[string]*ApplicationPrivilege
	nodes    map[string]*Node
	apiKeys  *table[APIKey]
	// serviceTokens is keyed by "namespace/service/name".
	serviceTokens map[string]*ServiceToken
	tokens        *table[TokenPair]
	interned      descriptorSets
	meta          clusterMeta
	applied       atomic.Uint64
	appliedSig    chan struct{} // closed and replaced on every applied index
	sigMu         sync.Mutex
}

// NewState returns an empty state.
func NewState() *State {
	s := &State{appliedSig: make(chan struct{})}
	s.reset()
	return s
}

func (s *State) reset() {
	s.users = map[string]*User{}
	s.reserved = map[string]*ReservedUser{}
	s.roles = map[string]*Role{}
	s.appPrivs = map[string]map[string]*ApplicationPrivilege{}
	s.nodes = map[string]*Node{}
	s.apiKeys = newAPIKeyTable(0)
	s.serviceTokens = map[string]*ServiceToken{}
	s.tokens = newTokenTable(0)
	s.interned = descriptorSets{}
	s.meta = clusterMeta{}
}

// clusterMeta is state about the cluster itself.
type clusterMeta struct {
	ClusterID string `json:"cluster_id"`
}

// ClusterID is the cluster's id, set when it was bootstrapped.
func (s *State) ClusterID() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.meta.ClusterID
}

// AppliedIndex is the Raft index of the last event applied to this state.
func (s *State) AppliedIndex() uint64 { return s.applied.Load() }

// AppliedChanged returns a channel that is closed the next time the applied
// index moves; waiters re-check AppliedIndex after it fires.
func (s *State) AppliedChanged() <-chan struct{} {
	s.sigMu.Lock()
	defer s.sigMu.Unlock()
	return s.appliedSig
}

func (s *State) setApplied(index uint64) {
	s.applied.Store(index)
	s.sigMu.Lock()
	close(s.appliedSig)
	s.appliedSig = make(chan struct{})
	s.sigMu.Unlock()
}

func sortAPIKeys(keys []*APIKey) {
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Creation != keys[j].Creation {
			return keys[i].Creation < keys[j].Creation
		}
		return keys[i].ID < keys[j].ID
	})
}

// sortedKeys returns a map's keys in order, so that nothing built from a
// map's iteration order reaches a snapshot or an answer.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
