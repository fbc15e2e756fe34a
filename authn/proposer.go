package authn

import (
	"context"

	"github.com/tokenstore/tokenstore/fsm"
)

// Proposer is what authn needs from the cluster: append events through the
// leader, and read the local state. cluster.Node satisfies it.
type Proposer interface {
	// Propose appends an event and returns once this node has applied it.
	// credential is the client's Authorization header and subject the
	// credential of the user a write is made for (password and refresh
	// grants); the leader uses both to authorize a forwarded write again.
	Propose(ctx context.Context, event []byte, credential, subject string) (uint64, fsm.Result, error)
	// CanPropose reports whether the leader may append event now: an
	// event version beyond fsm.Baseline only once every member applies it.
	CanPropose(event []byte) error
	// ProposeAsLeader appends an event this node originates; leader only.
	ProposeAsLeader(event []byte) (uint64, fsm.Result, error)
	// CatchUp waits until this node has applied what the leader had applied.
	CatchUp(ctx context.Context) error
	// WaitConfirmed waits until the write at index is applied on every
	// member that may still answer from its own state.
	WaitConfirmed(ctx context.Context, index uint64) error
	// Fresh reports whether the local state holds every revocation the
	// cluster has acknowledged, so a credential may be judged by it.
	Fresh() bool
	State() *fsm.State
	IsLeader() bool
}
