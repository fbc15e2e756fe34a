package cluster

import (
	"io"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tokenstore/tokenstore/fsm"
)

// Observer hears what this node's cluster side does, for the metrics. Its
// methods run on the caller's goroutine and must not block.
type Observer interface {
	// Forwarded is a write sent to the leader; err is nil once the leader
	// acknowledged it.
	Forwarded(took time.Duration, err error)
	// CaughtUp is one CatchUp: this node waited for the leader's applied
	// index, with err nil once it had applied it.
	CaughtUp(took time.Duration, err error)
	// ConfirmWaited is a WaitConfirmed that had to wait (the index was not
	// yet known to be applied on every member).
	ConfirmWaited(took time.Duration, err error)
	// Snapshotted is a Raft snapshot persisted: its time and size.
	Snapshotted(took time.Duration, size int64, err error)
	// Restored is the state replaced by a snapshot (from the leader, or
	// this node's own at a restart).
	Restored(err error)
}

// noObserver is the Observer of a node built without one.
type noObserver struct{}

func (noObserver) Forwarded(time.Duration, error)          {}
func (noObserver) CaughtUp(time.Duration, error)           {}
func (noObserver) ConfirmWaited(time.Duration, error)      {}
func (noObserver) Snapshotted(time.Duration, int64, error) {}
func (noObserver) Restored(error)                          {}

// observedFSM is the state machine as Raft drives it, with its snapshots
// and restores reported to the observer.
type observedFSM struct {
	*fsm.FSM
	obs Observer
}

func (f observedFSM) Snapshot() (raft.FSMSnapshot, error) {
	snap, err := f.FSM.Snapshot()
	if err != nil {
		f.obs.Snapshotted(0, 0, err)
		return nil, err
	}
	return observedSnapshot{FSMSnapshot: snap, obs: f.obs, start: time.Now()}, nil
}

func (f observedFSM) Restore(rc io.ReadCloser) error {
	err := f.FSM.Restore(rc)
	f.obs.Restored(err)
	return err
}

type observedSnapshot struct {
	raft.FSMSnapshot
	obs   Observer
	start time.Time
}

func (s observedSnapshot) Persist(sink raft.SnapshotSink) error {
	counted := &countingSink{SnapshotSink: sink}
	err := s.FSMSnapshot.Persist(counted)
	s.obs.Snapshotted(time.Since(s.start), counted.n, err)
	return err
}

type countingSink struct {
	raft.SnapshotSink
	n int64
}

func (c *countingSink) Write(p []byte) (int, error) {
	n, err := c.SnapshotSink.Write(p)
	c.n += int64(n)
	return n, err
}

// RaftStatus is what the metrics show of this node's Raft member.
type RaftStatus struct {
	Leader                                bool
	Term, CommitIndex, AppliedIndex, Last uint64
	// LastContact is the time since the leader was last heard from; zero
	// on the leader, -1 when never.
	LastContact time.Duration
	// LeaderChanges counts the leaders this node has seen elected.
	LeaderChanges uint64
}

// RaftStatus reads this node's Raft member without waiting on it.
func (n *Node) RaftStatus() RaftStatus {
	st := RaftStatus{Leader: n.IsLeader(), Term: n.raft.CurrentTerm(), CommitIndex: n.raft.CommitIndex(),
		AppliedIndex: n.raft.AppliedIndex(), Last: n.raft.LastIndex(), LeaderChanges: n.leaderChanges.Load()}
	switch lc := n.raft.LastContact(); {
	case st.Leader:
	case lc.IsZero():
		st.LastContact = -1
	default:
		st.LastContact = time.Since(lc)
	}
	return st
}

// countLeaderChanges counts the leader observations Raft makes (a new
// leader, or none during an election, each counted once it is a leader).
func (n *Node) countLeaderChanges() {
	ch := make(chan raft.Observation, 8)
	n.raft.RegisterObserver(raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		lo, ok := o.Data.(raft.LeaderObservation)
		return ok && lo.LeaderID != ""
	}))
	go func() {
		for {
			select {
			case <-ch:
				n.leaderChanges.Add(1)
			case <-n.stopped:
				return
			}
		}
	}()
}
