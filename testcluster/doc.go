// Package testcluster runs N real tokenstore nodes on loopback, in-process
// for tests (kill, restart and partition any of them) and as processes for
// `make cluster` and process-level tests.
package testcluster
