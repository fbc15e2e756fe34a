// Package fsm holds the credential state machine: the versioned events that
// the Raft log carries, the in-memory state they build, and Apply, Snapshot
// and Restore. It imports no other package of this module and is
// deterministic: no clocks, randomness, I/O or map order leak into state.
//
// Two tables say everything the rest of the package needs to know about a
// kind of thing: events (event.go) has one row per event type, and
// recordKinds (snapshot.go) one entry per kind of snapshot record. Their
// tests fail for a type or kind declared without its row or entry.
package fsm
