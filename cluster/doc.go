// Package cluster runs the Raft node: the BoltDB log and stable store, the
// file snapshot store and TCP transport under the data dir; bootstrap, join
// and removal; forwarding of proposals from followers to the leader; and
// waiting until this node has applied an index.
package cluster
