// Package snapshot is the portable backup of the credential state: a file
// with a versioned header, the state machine's snapshot stream and a
// SHA-256 of everything before it. It holds only what the state holds:
// hashes, never secrets.
package snapshot
