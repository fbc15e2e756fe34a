package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// catchUp lets a follower that misses a credential wait until it has
// applied everything the leader had applied when the miss happened. Misses
// arriving together share one call to the leader, and a call joins only a
// round that starts after it arrived, so no answer predates the miss. At
// most one call per node is in flight, so garbage credentials cannot flood
// the leader.
type catchUp struct {
	node     *Node
	mu       sync.Mutex
	inflight *catchUpRound
	next     *catchUpRound
}

type catchUpRound struct {
	done    chan struct{}
	applied uint64
	err     error
	// addsOnly says the leader found that its entries after since, up to
	// applied, only add; asked only while this node cannot write.
	since    uint64
	addsOnly bool
}

// CatchUp waits, at most until ctx ends, until this node has applied the
// leader's applied index as of now. On the leader it waits until the
// leader has applied what was committed before its term. A leader being
// elected, or not yet known by its address, is waited for; a disk that
// cannot store entries is not (diskHealth).
func (n *Node) CatchUp(ctx context.Context) (err error) {
	defer func(start time.Time) { n.cfg.Observer.CaughtUp(time.Since(start), err) }(time.Now())
	for {
		err := n.catchUpOnce(ctx)
		if err == nil {
			return nil
		}
		if _, full := errors.AsType[*UnavailableError](err); full {
			return err // waiting does not help while the disk cannot take it
		}
		select {
		case <-ctx.Done():
			return err
		case <-n.stopped:
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (n *Node) catchUpOnce(ctx context.Context) error {
	unfence := n.disk.catchUpStarted()
	if n.IsLeader() {
		if err := n.waitLeaderReady(ctx); err != nil {
			return err
		}
		unfence()
		return nil
	}
	if n.disk.fenced() {
		// It cannot store what it lacks until the disk takes writes.
		if err := n.disk.err(); err != nil {
			return err
		}
	}
	r := n.catchUp.join()
	select {
	case <-r.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if r.err != nil {
		return r.err
	}
	if err := n.waitCaughtUp(ctx, r); err != nil {
		return err
	}
	// Everything the leader had applied when asked (after this call began)
	// is applied here: until contact lapses, the local state will do.
	unfence()
	n.fresh.caughtUp.Store(true)
	return nil
}

func (c *catchUp) join() *catchUpRound {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight == nil {
		c.inflight = &catchUpRound{done: make(chan struct{})}
		go c.run(c.inflight)
		return c.inflight
	}
	if c.next == nil {
		c.next = &catchUpRound{done: make(chan struct{})}
	}
	return c.next
}

func (c *catchUp) run(r *catchUpRound) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	r.since = c.node.State().AppliedIndex()
	r.applied, r.addsOnly, r.err = c.node.leaderApplied(ctx, r.since)
	cancel()
	close(r.done)
	c.mu.Lock()
	c.inflight = c.next
	c.next = nil
	if c.inflight != nil {
		go c.run(c.inflight)
	}
	c.mu.Unlock()
}

// leaderApplied asks the leader for its applied index and, while this node
// cannot write, whether its entries after since only add.
func (n *Node) leaderApplied(ctx context.Context, since uint64) (uint64, bool, error) {
	base, err := n.leaderURL()
	if err != nil {
		return 0, false, err
	}
	url := base + pathApplied
	if n.disk.err() != nil {
		url += "?since=" + strconv.FormatUint(since, 10)
	}
	var out appliedReply
	status, body, err := n.call(ctx, http.MethodGet, url, n.peerCredential(), nil, &out)
	if err != nil {
		return 0, false, err
	}
	if status != http.StatusOK {
		return 0, false, &remoteStatusError{status: status, body: string(body)}
	}
	return out.Applied, out.AddsOnlySince, nil
}

// appliedReply is the leader's answer to a catch-up.
type appliedReply struct {
	Applied uint64 `json:"applied"`
	// AddsOnlySince says every entry after the index asked about (since),
	// up to Applied, only adds: no revocation among them.
	AddsOnlySince bool `json:"adds_only_since,omitempty"`
}

// maxAddsOnlyScan bounds the entries the leader reads to answer since.
const maxAddsOnlyScan = 16384

// addsOnlySince reports whether the log entries in (since, upTo] are all
// there and only add.
func (n *Node) addsOnlySince(since, upTo uint64) bool {
	if upTo > since+maxAddsOnlyScan {
		return false
	}
	for i := since + 1; i <= upTo; i++ {
		var l raft.Log
		if n.store.GetLog(i, &l) != nil || mayRevoke(&l) {
			return false
		}
	}
	return true
}

type remoteStatusError struct {
	status int
	body   string
}

func (e *remoteStatusError) Error() string {
	return "leader answered " + http.StatusText(e.status) + ": " + e.body
}

// waitCaughtUp waits until this node has applied what the leader had. A
// node whose disk cannot store entries never will; it is still fresh (its
// state holds every revocation the leader had applied) when the leader
// found that every entry it lacks only adds: it judges the credentials it
// has again, while the error says it cannot decide on those it lacks.
func (n *Node) waitCaughtUp(ctx context.Context, r *catchUpRound) error {
	st := n.fsm.State()
	for {
		ch := st.AppliedChanged()
		if st.AppliedIndex() >= r.applied {
			return nil
		}
		if err := n.disk.err(); err != nil && r.addsOnly && !n.disk.fenced() {
			n.fresh.caughtUp.Store(true)
			return err
		}
		select {
		case <-ch:
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("wait for index %d (applied %d): %w", r.applied, st.AppliedIndex(), ctx.Err())
		}
	}
}
