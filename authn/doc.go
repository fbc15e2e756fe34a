// Package authn is the security logic: it parses Authorization headers,
// hashes and verifies secrets, runs the realm chain against the local state,
// caches verifications, resolves roles into permissions and checks
// privileges. It reads state from fsm and changes it only by proposing
// events through a Proposer.
package authn
