package cluster

import (
	"context"
	"time"
)

// What a node whose disk cannot be written does about its Raft role
// (disk.go): as leader it hands over, as follower it calls no elections
// and catches up as far as it can.

// heldTimeout is the heartbeat and election timeout of a node that holds
// its elections: it never notices a leader's silence in time to call one.
const heldTimeout = time.Hour

// holdElections keeps this node from calling elections while it cannot
// write: hashicorp/raft steps a leader down when its log store fails, and
// the node, up to date, would win the next election and fail again. Raft
// has no switch for it, but a follower with a long heartbeat timeout never
// starts one (it still votes). Released, the node's own timing returns.
func (d *diskHealth) holdElections(hold bool) {
	r := d.node.raft
	if hold == (d.held != nil) {
		return
	}
	if hold {
		prev := r.ReloadableConfig()
		held := prev
		held.HeartbeatTimeout, held.ElectionTimeout = heldTimeout, heldTimeout
		if err := r.ReloadConfig(held); err != nil {
			d.node.log.Error("cannot hold elections", "error", err)
			return
		}
		d.held = &prev
		d.node.log.Warn("calling no elections while the data path cannot be written", "dir", d.dir)
		return
	}
	if err := r.ReloadConfig(*d.held); err != nil {
		d.node.log.Error("cannot restore the election timing", "error", err)
		return
	}
	d.held = nil
}

// freshen catches up a follower that is not fresh while its disk is
// faulty, as far as it can (waitCaughtUp), so that it judges the
// credentials it has without a client's request waiting for it first.
func (d *diskHealth) freshen() {
	n := d.node
	if n.IsLeader() || d.fenced() || n.Fresh() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), diskProbeEvery)
	defer cancel()
	n.CatchUp(ctx)
}

// handOver passes leadership to a peer while this leader's disk is faulty.
func (d *diskHealth) handOver() {
	n := d.node
	if !n.IsLeader() || n.voters() < 2 {
		return
	}
	if !d.transferLogged.Swap(true) {
		n.log.Warn("handing leadership over: this node cannot write its data path", "dir", d.dir)
	}
	if err := n.raft.LeadershipTransfer().Error(); err != nil {
		n.log.Warn("leadership transfer failed; trying again", "error", err)
	}
}
