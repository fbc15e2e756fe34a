// Package fsm holds the credential state machine: the versioned events that
// the Raft log carries, the in-memory state they build, and Apply, Snapshot
// and Restore. It imports no other package of this module and is
// deterministic: no clocks, randomness, I/O or map order leak into state.
package fsm
