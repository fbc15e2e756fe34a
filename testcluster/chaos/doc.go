// Package chaos drives real in-process clusters (testcluster) and real
// processes through crashes, partitions and clock skew while concurrent
// clients create, invalidate and authenticate API keys. It records every
// operation with its invoke and return times on a monotonic clock and
// checks the history: with porcupine for linearizability (a key is valid
// from its create's linearization point until its invalidation's), and
// directly for acknowledged creates lost and acknowledged invalidations
// undone.
//
//   - TestChaos runs the rotating fault schedule for CHAOS_DURATION (30s
//     by default; `make chaos` passes minutes); CHAOS_SEED replays one,
//     CHAOS_HISTORY saves the history, CHAOS_VIS_DIR keeps the porcupine
//     visualization of a failed check; CHAOS_TLS=0 runs without TLS and
//     CHAOS_THROTTLE=1 with the failed-authentication throttle on.
//   - TestFailoverProcesses SIGKILLs the leader process CHAOS_FAILOVER_RUNS
//     times and measures how long writes stop, while clients authenticate
//     on the survivors.
//   - faults_test.go reproduces, one by one, the ways a node can contradict
//     an acknowledged write that the schedule finds by chance.
//
// CHAOS_HEARTBEAT_TIMEOUT and CHAOS_ELECTION_TIMEOUT override the Raft
// timeouts of every cluster here.
package chaos
