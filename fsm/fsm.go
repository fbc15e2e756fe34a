package fsm

import (
	"fmt"
	"io"

	"github.com/hashicorp/raft"
)

// FSM adapts State to raft.FSM.
type FSM struct {
	state *State
}

// New returns a state machine over an empty state.
func New() *FSM { return &FSM{state: NewState()} }

// State returns the state this machine builds; it is safe for concurrent reads.
func (f *FSM) State() *State { return f.state }

var _ raft.BatchingFSM = (*FSM)(nil)

// Apply applies one committed log entry. An entry that cannot be decoded
// panics: skipping it would let this node diverge from the others.
func (f *FSM) Apply(l *raft.Log) interface{} {
	res, err := f.state.ApplyEvent(l.Index, l.Data)
	if err != nil {
		panic(fmt.Sprintf("fsm: cannot apply log index %d: %v", l.Index, err))
	}
	return res
}

// ApplyEvent applies encoded event bytes at a log index and returns its result.
// Unknown event types and versions are errors.
func (s *State) ApplyEvent(index uint64, data []byte) (Result, error) {
	s.mu.Lock()
	res, err := s.applyLocked(index, data)
	s.mu.Unlock()
	if err != nil {
		return Result{}, err
	}
	s.setApplied(index)
	return res, nil
}

func (s *State) applyLocked(index uint64, data []byte) (Result, error) {
	t, v, body, err := Decode(data)
	if err != nil {
		return Result{}, fmt.Errorf("index %d: %w", index, err)
	}
	res, err := appliers[eventKey{t, v}](s, index, body)
	// Stored under the write lock, so a snapshot's index matches its state.
	s.applied.Store(index)
	if err != nil {
		return Result{Status: Rejected}, nil
	}
	return res, nil
}

// ApplyBatch applies consecutive committed entries under one lock, which is
// what makes group commit pay off: raft hands over a whole append at once.
func (f *FSM) ApplyBatch(logs []*raft.Log) []interface{} {
	out := make([]interface{}, len(logs))
	s := f.state
	s.mu.Lock()
	var last uint64
	for i, l := range logs {
		if l.Type != raft.LogCommand {
			continue
		}
		res, err := s.applyLocked(l.Index, l.Data)
		if err != nil {
			s.mu.Unlock()
			panic(fmt.Sprintf("fsm: cannot apply log index %d: %v", l.Index, err))
		}
		out[i], last = res, l.Index
	}
	s.mu.Unlock()
	if last > 0 {
		s.setApplied(last)
	}
	return out
}

// Snapshot captures the state for raft. Records are immutable, so copying
// the maps' pointers is enough; writing happens later in Persist.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return f.state.capture(), nil
}

// Restore replaces the state with a snapshot's contents.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	return f.state.Restore(rc)
}
