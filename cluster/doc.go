// Package cluster runs the Raft node: the BoltDB log and stable store, the
// file snapshot store and TCP transport under the data dir; bootstrap, join
// and removal; the one forwarding path (proposals and whole requests to the
// leader, questions to every member); and waiting until this node has
// applied an index. Its internal endpoints authorize with the Authorizer
// given to Handler; its links to peers can be replaced (Links) by tests.
package cluster
