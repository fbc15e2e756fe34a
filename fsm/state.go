package fsm

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// State is the whole credential state, kept in memory on every node. Writers
// are the Apply functions only; everything else reads through query methods
// that return copies or immutable values.
type State struct {
	mu sync.RWMutex
	contents
	applied    atomic.Uint64
	appliedSig chan struct{} // closed and replaced on every applied index
	sigMu      sync.Mutex
}

// contents is what a snapshot carries; Restore replaces it whole.
type contents struct {
	users    map[string]*User
	reserved map[string]*ReservedUser
	roles    map[string]*Role
	appPrivs map[string]map[string]*ApplicationPrivilege
	nodes    map[string]*Node
	apiKeys  *table[APIKey]
	// serviceTokens is keyed by "namespace/service/name".
	serviceTokens map[string]*ServiceToken
	tokens        *table[TokenPair]
	// profiles is keyed by uid.
	profiles map[string]*Profile
	interned descriptorSets
	// internedJSON finds interned maps by the JSON events carry them in.
	internedJSON descriptorSets
	meta         clusterMeta
}

// NewState returns an empty state.
func NewState() *State {
	return &State{contents: newContents(), appliedSig: make(chan struct{})}
}

func newContents() contents {
	return contents{
		users:         map[string]*User{},
		reserved:      map[string]*ReservedUser{},
		roles:         map[string]*Role{},
		appPrivs:      map[string]map[string]*ApplicationPrivilege{},
		nodes:         map[string]*Node{},
		apiKeys:       newAPIKeyTable(0),
		serviceTokens: map[string]*ServiceToken{},
		tokens:        newTokenTable(0),
		profiles:      map[string]*Profile{},
		interned:      descriptorSets{},
		internedJSON:  descriptorSets{},
	}
}

// clusterMeta is state about the cluster itself.
type clusterMeta struct {
	ClusterID string `json:"cluster_id"`
	// events is the highest version of each event type applied to this
	// state: a build that lacks one of them must not take the state over.
	events EventVersions
}

// saw records that version v of type t was applied.
func (m *clusterMeta) saw(t EventType, v uint8) {
	if m.events[t] >= v {
		return
	}
	if m.events == nil {
		m.events = EventVersions{}
	}
	m.events[t] = v
}

// EventsApplied is the highest version of each event type applied to this
// state (carried over through snapshots).
func (s *State) EventsApplied() EventVersions {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return maps.Clone(s.meta.events)
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

// sortedValues returns a map's values ordered by key, so that nothing built
// from a map's iteration order reaches a snapshot or an answer.
func sortedValues[V any](m map[string]V) []V {
	out := make([]V, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}
