package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// A non-voter receives the log and snapshots and answers from its own
// state under the same freshness rules as a voter (see fresh.go), but it
// never votes and never counts toward a quorum: adding one adds
// authentication capacity without slowing commits or elections. The
// leader still waits for it (or fences it) before acknowledging a
// revocation, as it does for every member of the configuration.

// ErrUnknownMember is returned for an id that is not in the configuration.
var ErrUnknownMember = errors.New("no such member")

// ErrMemberDown refuses to promote a member that does not answer.
var ErrMemberDown = errors.New("the member has not answered recently")

// ErrLastVoter refuses to demote or remove the only voter left.
var ErrLastVoter = errors.New("the last voter cannot be demoted or removed")

func (n *Node) addToConfiguration(id, raftAddr string, nonVoter bool) error {
	sid, addr := raft.ServerID(id), raft.ServerAddress(raftAddr)
	if nonVoter {
		if err := n.raft.AddNonvoter(sid, addr, 0, 10*time.Second).Error(); err != nil {
			return fmt.Errorf("add non-voter %s: %w", id, err)
		}
		n.log.Info("added non-voter", "id", id, "raft_addr", raftAddr)
		return nil
	}
	if err := n.raft.AddVoter(sid, addr, 0, 10*time.Second).Error(); err != nil {
		return fmt.Errorf("add voter %s: %w", id, err)
	}
	n.log.Info("added voter", "id", id, "raft_addr", raftAddr)
	return nil
}

// server finds a member of the latest configuration.
func (n *Node) server(id string) (raft.Server, int, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return raft.Server{}, 0, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	voters, found := 0, raft.Server{}
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters++
		}
		if string(s.ID) == id {
			found = s
		}
	}
	if found.ID == "" {
		return found, voters, fmt.Errorf("%w: [%s]", ErrUnknownMember, id)
	}
	return found, voters, nil
}

// Promote makes a non-voter a voter; promoting a voter changes nothing.
// Only the leader can (ErrNoLeader elsewhere). The change takes effect at
// once, so only a member that answers now is promoted: a dead one would
// count toward the quorum without being able to vote.
func (n *Node) Promote(id string) error {
	if !n.IsLeader() {
		return ErrNoLeader
	}
	s, _, err := n.server(id)
	if err != nil || s.Suffrage == raft.Voter {
		return err
	}
	if !n.health.alive(id) {
		return fmt.Errorf("%w: [%s]", ErrMemberDown, id)
	}
	if err := n.raft.AddVoter(s.ID, s.Address, 0, 10*time.Second).Error(); err != nil {
		return fmt.Errorf("%w: promote %s: %v", ErrUnavailable, id, err)
	}
	n.log.Info("promoted to voter", "id", id)
	return nil
}

// Demote makes a voter a non-voter; demoting a non-voter changes nothing.
// The last voter stays one. A leader that demotes itself steps down once
// the change is committed, and the voters elect another.
func (n *Node) Demote(id string) error {
	if !n.IsLeader() {
		return ErrNoLeader
	}
	s, voters, err := n.server(id)
	if err != nil || s.Suffrage != raft.Voter {
		return err
	}
	if voters <= 1 {
		return fmt.Errorf("%w: [%s]", ErrLastVoter, id)
	}
	if err := n.raft.DemoteVoter(s.ID, 0, 10*time.Second).Error(); err != nil {
		return fmt.Errorf("%w: demote %s: %v", ErrUnavailable, id, err)
	}
	n.log.Info("demoted to non-voter", "id", id)
	return nil
}

// describe fills in what this node knows of a member beyond the
// configuration: when it last answered, its applied index and its build.
func (n *Node) describe(m *Member) {
	if m.ID == n.cfg.ID {
		m.Applied, m.Version = n.State().AppliedIndex(), n.cfg.BuildVersion
		return
	}
	st, at, ok := n.health.last(m.ID)
	if !ok {
		m.LastContact = -1
		return
	}
	m.LastContact, m.Applied, m.Version = time.Since(at), st.Applied, st.Version
}

// RemoveMember takes a member, voter or not, out of the configuration; the
// last voter stays. It comes back only by joining again.
func (n *Node) RemoveMember(id string) error {
	if !n.IsLeader() {
		return ErrNoLeader
	}
	s, voters, err := n.server(id)
	if err != nil {
		return err
	}
	if s.Suffrage == raft.Voter && voters <= 1 {
		return fmt.Errorf("%w: [%s]", ErrLastVoter, id)
	}
	if err := n.RemoveVoter(id); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// removedMembers remembers, on the leader that removed them, the members it
// took out of the configuration within the last fence period. A removed
// member that still runs gets no more entries but may answer from its
// state until its lease runs out, so a revocation is acknowledged only
// once that has surely happened (confirmApplied waits for it).
type removedMembers struct {
	mu sync.Mutex
	at map[string]time.Time
}

// note records a removal now (again on commit, so the later time counts).
func (r *removedMembers) note(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.at == nil {
		r.at = map[string]time.Time{}
	}
	r.at[id] = time.Now()
}

// within returns the members removed less than d ago, and forgets older
// removals.
func (r *removedMembers) within(d time.Duration) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for id, at := range r.at {
		if time.Since(at) >= d {
			delete(r.at, id)
			continue
		}
		out = append(out, id)
	}
	return out
}

// waitRemovedFenced waits until a removed member has surely stopped
// answering from its state: it gets no entries since its removal, so that
// is once it has not answered this node's probes for longer than its lease
// could last (at once for a member that was dead already).
func (n *Node) waitRemovedFenced(ctx context.Context, id string) error {
	for !n.health.fenced(id) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: removed member %s may still answer: %v", ErrUnavailable, id, ctx.Err())
		case <-n.stopped:
			return fmt.Errorf("%w: node stopped", ErrUnavailable)
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}
