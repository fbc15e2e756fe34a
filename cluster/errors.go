package cluster

import "errors"

// The errors a client's answer depends on say what they are through a
// method (NoLeader, Unavailable, LeaderRefusal), so that the HTTP layer
// classifies them without importing this package.

// ErrNoLeader is returned when no leader is known, e.g. during an election or
// on a node cut off from the majority.
var ErrNoLeader error = noLeaderError{}

// ErrUnavailable wraps failures to reach the leader.
var ErrUnavailable error = unavailableError{}

type noLeaderError struct{}

func (noLeaderError) Error() string { return "no leader elected" }

// NoLeader marks the error as "no leader is known".
func (noLeaderError) NoLeader() {}

type unavailableError struct{}

func (unavailableError) Error() string { return "cluster unavailable" }

// Unavailable marks the error as "the cluster could not carry the write".
func (unavailableError) Unavailable() {}

// ForbiddenError is returned when the leader refuses a forwarded write: its
// own authorization of the client's credential failed.
type ForbiddenError struct{ Reason string }

func (e *ForbiddenError) Error() string { return "leader refused the write: " + e.Reason }

// LeaderRefusal is the leader's reason for refusing the write.
func (e *ForbiddenError) LeaderRefusal() string { return e.Reason }

// errNotAppended marks a proposal the leader refused before appending it,
// which can be retried without risk of applying it twice.
var errNotAppended = errors.New("not appended")
