package authn

import (
	"context"

	"github.com/tokenstore/tokenstore/fsm"
)

// Proposer is what authn needs from the cluster: append events through the
// leader, and read the local state. cluster.Node satisfies it.
type Proposer interface {
	// Propose appends an event and returns once this node has applied it.
	// credential is the client's Authorization header, which the leader uses
	// to authorize the write again when it was forwarded.
	Propose(ctx context.Context, event []byte, credential string) (uint64, fsm.Result, error)
	// ProposeAsLeader appends an event this node originates; leader only.
	ProposeAsLeader(event []byte) (uint64, fsm.Result, error)
	// CatchUp waits until this node has applied what the leader had applied.
	CatchUp(ctx context.Context) error
	State() *fsm.State
	IsLeader() bool
}
