package fsm

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// FSM adapts State to raft.FSM.
type FSM struct {
	state *State
	// halted is set, once and for good, when a committed entry cannot be
	// applied (see HaltError); nothing is applied after it.
	halted atomic.Pointer[HaltError]
	// OnHalt, if set before the FSM is used, is told of the halt once.
	OnHalt func(*HaltError)
}

// New returns a state machine over an empty state.
func New() *FSM { return &FSM{state: NewState()} }

// State returns the state this machine builds; it is safe for concurrent reads.
func (f *FSM) State() *State { return f.state }

var _ raft.BatchingFSM = (*FSM)(nil)

// HaltError says why a state machine stopped applying: a committed entry
// (or a snapshot) holds an event this build does not apply, which a newer
// build wrote. Skipping the entry would let this node diverge from the
// others, so the node applies nothing more and refuses to serve until it is
// replaced by a build that applies it.
type HaltError struct {
	// Index is the log index of the entry, 0 for a snapshot.
	Index uint64
	Err   error
}

func (e *HaltError) Error() string {
	return fmt.Sprintf("stopped applying: %v; this node serves nothing until it runs a build that applies it", e.Err)
}

func (e *HaltError) Unwrap() error { return e.Err }

// Halted returns why this machine stopped applying, or nil.
func (f *FSM) Halted() error {
	if h := f.halted.Load(); h != nil {
		return h
	}
	return nil
}

func (f *FSM) halt(h *HaltError) *HaltError {
	if f.halted.CompareAndSwap(nil, h) && f.OnHalt != nil {
		f.OnHalt(h)
	}
	return f.halted.Load()
}

// Apply applies one committed log entry. An entry this build cannot
// decode halts the machine rather than being skipped.
func (f *FSM) Apply(l *raft.Log) interface{} {
	return f.ApplyBatch([]*raft.Log{l})[0]
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
		if k, herr := Header(data); herr == nil {
			return Result{}, &NewerEventsError{Lacks: []EventKey{k}, Index: index}
		}
		return Result{}, fmt.Errorf("index %d: %w", index, err)
	}
	res, err := appliers[EventKey{t, v}].apply(s, index, body)
	s.meta.saw(t, v)
	// Stored under the write lock, so a snapshot's index matches its state.
	s.applied.Store(index)
	if err != nil {
		return Result{Status: Rejected}, nil
	}
	return res, nil
}

// ApplyBatch applies consecutive committed entries under one lock, which is
// what makes group commit pay off: raft hands over a whole append at once.
// From an entry this build cannot decode on, nothing is applied and each
// entry's response is the *HaltError.
func (f *FSM) ApplyBatch(logs []*raft.Log) []interface{} {
	out := make([]interface{}, len(logs))
	s := f.state
	s.mu.Lock()
	var last uint64
	halted := f.halted.Load()
	for i, l := range logs {
		if halted != nil {
			out[i] = halted
			continue
		}
		if l.Type != raft.LogCommand {
			continue
		}
		res, err := s.applyLocked(l.Index, l.Data)
		if err != nil {
			halted = f.halt(&HaltError{Index: l.Index, Err: err})
			out[i] = halted
			continue
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
// the maps' pointers is enough; writing happens later in Persist. A halted
// machine takes none: its state stops short of the log it would stand for.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	if err := f.Halted(); err != nil {
		return nil, err
	}
	return f.state.capture(), nil
}

// Restore replaces the state with a snapshot's contents. A snapshot that
// holds events this build does not apply halts the machine.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	if err := f.Halted(); err != nil {
		return err
	}
	err := f.state.Restore(rc)
	if _, ok := errors.AsType[*NewerEventsError](err); ok {
		return f.halt(&HaltError{Err: err})
	}
	return err
}
