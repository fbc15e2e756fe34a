// Package node is the composition root: it resolves a node's settings from
// one table, loads TLS, opens the cluster, builds the security service and
// the HTTP API on top of them, runs the background work (purges, watching
// the service_tokens file) and serves. cmd/tokenstore and testcluster both
// start nodes with Open.
package node
