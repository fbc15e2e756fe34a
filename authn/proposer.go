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
	// An event version beyond fsm.Baseline that some member does not
	// apply yet is refused with an error that has an EventNotSupported
	// method, before anything is appended.
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
