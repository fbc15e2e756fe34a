package cluster

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
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
}

// CatchUp waits, at most until ctx ends, until this node has applied the
// leader's applied index as of now. On the leader it waits until the
// leader has applied what was committed before its term. A leader being
// elected, or not yet known by its address, is waited for.
func (n *Node) CatchUp(ctx context.Context) error {
	for {
		err := n.catchUpOnce(ctx)
		if err == nil {
			return nil
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
	if err := n.waitCaughtUp(ctx, r.applied); err != nil {
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
	r.applied, r.err = c.node.leaderApplied(ctx)
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

func (n *Node) leaderApplied(ctx context.Context) (uint64, error) {
	base, err := n.leaderURL()
	if err != nil {
		return 0, err
	}
	var out struct {
		Applied uint64 `json:"applied"`
	}
	status, body, err := n.call(ctx, http.MethodGet, base+pathApplied, n.peerCredential(), nil, &out)
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return 0, &remoteStatusError{status: status, body: string(body)}
	}
	return out.Applied, nil
}

type remoteStatusError struct {
	status int
	body   string
}

func (e *remoteStatusError) Error() string {
	return "leader answered " + http.StatusText(e.status) + ": " + e.body
}

// waitCaughtUp waits until this node has applied index. A node whose disk
// cannot store entries never will; it is still fresh (its state holds
// every revocation up to index) when every entry it lacks up to index was
// offered to it and only adds (diskHealth.missed): it judges the
// credentials it has again, while the error says it cannot decide on those
// it lacks.
func (n *Node) waitCaughtUp(ctx context.Context, index uint64) error {
	st := n.fsm.State()
	for {
		ch := st.AppliedChanged()
		if st.AppliedIndex() >= index {
			return nil
		}
		if err := n.disk.err(); err != nil && !n.disk.fenced() && n.disk.offeredTo() >= index {
			n.fresh.caughtUp.Store(true)
			return err
		}
		select {
		case <-ch:
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("wait for index %d (applied %d): %w", index, st.AppliedIndex(), ctx.Err())
		}
	}
}
