package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tokenstore/tokenstore/fsm"
)

// Revocations are linearizable while every node authenticates locally:
//
//   - A node answers from its own state only while it is fresh: it leads
//     and has applied its predecessors' entries, or it heard from the
//     leader within the read lease and has caught up with a leader that
//     verified its leadership since contact was (re)gained. Otherwise the
//     answer waits for such a catch-up, or fails.
//   - The leader acknowledges a write that may revoke only once every other
//     member has applied it or has surely stopped being fresh (it has not
//     answered this leader's probes for longer than its lease).
//
// So once an invalidation is acknowledged, no node accepts the credential.
// This assumes partitions cut both directions (a node the leader cannot
// reach does not hear from it either) and clocks that run at the same rate.

// freshness tracks whether a follower's local state may be answered from.
// caughtUp is set by a catch-up with a verified leader and cleared when
// contact with the leader lapses for longer than the lease.
type freshness struct {
	caughtUp    atomic.Bool
	lastContact atomic.Int64 // unix nanos of raft's LastContact at the last check
	// readyTerm is the term in which this node, as leader, has applied
	// every entry committed before its term (a barrier); barrierTerm the
	// term a barrier was started for.
	readyTerm, barrierTerm atomic.Uint64
	// confirmed is the highest index known applied on every member (or
	// fenced): a revocation at or below it is visible everywhere.
	confirmed atomic.Uint64
	rounds    confirmRounds
}

// Fresh reports whether this node's state holds every write the leader has
// acknowledged as confirmed everywhere. A follower is fresh only after a
// catch-up (CatchUp) since it last (re)gained contact with the leader.
func (n *Node) Fresh() bool {
	if n.disk.fenced() {
		n.fresh.caughtUp.Store(false)
		return false
	}
	switch n.raft.State() {
	case raft.Leader:
		return n.leaderReady()
	case raft.Follower, raft.Candidate:
		// A candidate's state is as fresh as its last contact.
	default:
		n.fresh.caughtUp.Store(false)
		return false
	}
	lc := n.raft.LastContact()
	if lc.IsZero() || time.Since(lc) >= n.cfg.ReadLease {
		n.fresh.caughtUp.Store(false)
		return false
	}
	// A gap in contact longer than the lease, even one no request saw,
	// means the leader may have stopped waiting for this node meanwhile.
	// Written only when the contact is new: every authentication reads
	// this, and a write per read would bounce its cache line between cores.
	if last := lc.UnixNano(); n.fresh.lastContact.Load() != last {
		if prev := n.fresh.lastContact.Swap(last); last-prev >= int64(n.cfg.ReadLease) {
			n.fresh.caughtUp.Store(false)
		}
	}
	return n.fresh.caughtUp.Load()
}

// leaderReady reports whether this leader has applied every entry that was
// committed before its term, which a newly elected leader has not (after a
// restart of all nodes, say). The first call in a term starts a barrier.
func (n *Node) leaderReady() bool {
	term := n.raft.CurrentTerm()
	if n.fresh.readyTerm.Load() == term {
		return true
	}
	if n.fresh.barrierTerm.Swap(term) != term {
		go func() {
			if n.raft.Barrier(10*time.Second).Error() == nil && n.raft.CurrentTerm() == term {
				n.fresh.readyTerm.Store(term)
			} else {
				n.fresh.barrierTerm.CompareAndSwap(term, 0) // let a later call try again
			}
		}()
	}
	return false
}

// waitLeaderReady waits until leaderReady, or ctx ends.
func (n *Node) waitLeaderReady(ctx context.Context) error {
	for !n.leaderReady() {
		if !n.IsLeader() {
			return ErrNoLeader
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: leader has not applied its predecessors' entries yet: %v", ErrUnavailable, ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

// confirmApplied waits until every other member has applied index, or has
// gone without answering this node for longer than its lease (so it no
// longer answers from its state). Called by the leader after a write that
// may revoke, before acknowledging it.
func (n *Node) confirmApplied(ctx context.Context, index uint64) error {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	wait := func(confirm func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := confirm(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	servers := f.Configuration().Servers
	for _, s := range servers {
		if id := string(s.ID); id != n.cfg.ID {
			wait(func() error { return n.confirmOn(ctx, id, index) })
		}
	}
	// Members removed a moment ago may still answer until their lease ends.
	for _, id := range n.removed.within(n.fenceAfter()) {
		if !slices.ContainsFunc(servers, func(s raft.Server) bool { return string(s.ID) == id }) {
			wait(func() error { return n.waitRemovedFenced(ctx, id) })
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (n *Node) confirmOn(ctx context.Context, id string, index uint64) error {
	for {
		if node, ok := n.State().Node(id); ok {
			cctx, cancel := context.WithTimeout(ctx, probeEvery)
			var st Status
			status, _, err := n.call(cctx, http.MethodGet, fmt.Sprintf("%s%s?fence=%d", n.PeerURL(node.HTTPAddr), pathStatus, index), n.peerCredential(), nil, &st)
			cancel()
			if err == nil && status == http.StatusOK && st.ID == id {
				n.health.seen(id)
				// A member fenced by its disk answers nothing from its
				// state until it has caught up (disk.go).
				if st.Applied >= index || st.Fenced {
					return nil
				}
			}
		}
		if n.health.fenced(id) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: index %d not confirmed on %s: %v", ErrUnavailable, index, id, ctx.Err())
		case <-n.stopped:
			return fmt.Errorf("%w: node stopped", ErrUnavailable)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// proposeConfirmed applies an event as leader and, unless it only adds,
// confirms it everywhere before returning.
func (n *Node) proposeConfirmed(ctx context.Context, event []byte) (uint64, fsm.Result, error) {
	idx, res, err := n.applyLocal(event)
	if err != nil || fsm.OnlyAdds(event) {
		return idx, res, err
	}
	if err := n.WaitConfirmed(ctx, idx); err != nil {
		return 0, fsm.Result{}, fmt.Errorf("committed at index %d, not confirmed on every node: %w", idx, err)
	}
	return idx, res, nil
}

func (n *Node) markConfirmed(index uint64) {
	for {
		cur := n.fresh.confirmed.Load()
		if cur >= index || n.fresh.confirmed.CompareAndSwap(cur, index) {
			return
		}
	}
}

// WaitConfirmed waits until the write at index is applied on every member
// (or the member is fenced). A node that refuses a credential because of a
// revocation not yet acknowledged waits for this first: otherwise one node
// could refuse while another, not there yet, still accepts afterwards.
// Concurrent waits share their rounds of questions (confirmRounds).
func (n *Node) WaitConfirmed(ctx context.Context, index uint64) (err error) {
	if n.fresh.confirmed.Load() >= index {
		return nil
	}
	defer func(start time.Time) { n.cfg.Observer.ConfirmWaited(time.Since(start), err) }(time.Now())
	ctx, cancel := context.WithTimeout(ctx, n.waitBound())
	defer cancel()
	for {
		r := n.fresh.rounds.join(n, index)
		select {
		case <-r.done:
		case <-ctx.Done():
			return fmt.Errorf("%w: index %d not confirmed: %v", ErrUnavailable, index, ctx.Err())
		}
		if n.fresh.confirmed.Load() >= index {
			return nil
		}
		// A round for an index below this one ended: the next is for it.
		if r.target >= index && r.err != nil {
			return r.err
		}
	}
}

// confirmRounds lets concurrent waits for confirmation share their work
// (a burst of revocations, or of credentials refused because of one): one
// round at a time asks the members (on a follower, the leader) about the
// highest index any wait wants, and confirming it confirms every index
// below. A wait for a higher index than the running round's takes the next
// round.
type confirmRounds struct {
	mu      sync.Mutex
	want    uint64 // the highest index a wait has asked for
	current *confirmRound
}

// confirmRound is one round; err is set before done is closed.
type confirmRound struct {
	target uint64
	done   chan struct{}
	err    error
}

// join returns the running round, starting one if none runs.
func (c *confirmRounds) join(n *Node, index uint64) *confirmRound {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.want = max(c.want, index)
	if c.current == nil {
		c.current = &confirmRound{target: c.want, done: make(chan struct{})}
		go n.runConfirmRound(c.current)
	}
	return c.current
}

// runConfirmRound runs a round for its own time bound: it serves every wait
// that joins it, whichever of them goes away.
func (n *Node) runConfirmRound(r *confirmRound) {
	ctx, cancel := context.WithTimeout(context.Background(), n.waitBound())
	defer cancel()
	r.err = n.confirmRound(ctx, r.target)
	if r.err == nil {
		n.markConfirmed(r.target)
	}
	c := &n.fresh.rounds
	c.mu.Lock()
	c.current = nil
	c.mu.Unlock()
	close(r.done)
}

// confirmRound confirms index: the leader asks every member, a follower
// asks the leader to (handleConfirm). A follower that becomes leader meanwhile
// asks the members itself, never itself: its own handleConfirm would join
// the round that asks.
func (n *Node) confirmRound(ctx context.Context, index uint64) error {
	for {
		if n.IsLeader() {
			return n.confirmApplied(ctx, index)
		}
		base, err := n.leaderURL()
		if err == nil && n.Leader() != n.cfg.ID {
			var status int
			status, _, err = n.call(ctx, http.MethodGet, fmt.Sprintf("%s%s?index=%d", base, pathConfirm, index), n.peerCredential(), nil, nil)
			if err == nil && status == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: index %d not confirmed: %v", ErrUnavailable, index, ctx.Err())
		case <-n.stopped:
			return fmt.Errorf("%w: node stopped", ErrUnavailable)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// handleConfirm is the leader's side of WaitConfirmed. An index beyond the
// leader's log cannot be confirmed by waiting, so it is refused at once;
// any other wait ends within waitBound or when the caller goes away.
func (n *Node) handleConfirm(w http.ResponseWriter, r *http.Request) {
	index, err := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	if err != nil {
		writeESError(w, http.StatusBadRequest, "illegal_argument_exception", "[index] must be a log index")
		return
	}
	if !n.IsLeader() {
		writeESError(w, http.StatusServiceUnavailable, "unavailable_shards_exception", "not the leader")
		return
	}
	if last := n.raft.LastIndex(); index > last {
		writeESError(w, http.StatusBadRequest, "illegal_argument_exception",
			fmt.Sprintf("index [%d] is beyond the leader's last log index [%d]", index, last))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), n.waitBound())
	defer cancel()
	err = n.WaitApplied(ctx, index)
	if err == nil {
		err = n.WaitConfirmed(ctx, index)
	}
	if err != nil {
		writeESError(w, http.StatusServiceUnavailable, "unavailable_shards_exception", err.Error())
		return
	}
	w.WriteHeader(http.StatusOK)
}

// waitBound is the longest an internal call waits for a confirmation: a
// member that has not applied by then is fenced.
func (n *Node) waitBound() time.Duration { return n.fenceAfter() + 2*time.Second }

// fenceAfter is how long a member must go without answering this node
// before its read lease has surely run out: its lease counts from its last
// contact with a leader, which can follow its last answer here by a probe
// period plus the time a deposed leader takes to step down.
func (n *Node) fenceAfter() time.Duration {
	return n.cfg.ReadLease + 2*probeEvery + n.cfg.HeartbeatTimeout + 500*time.Millisecond
}
