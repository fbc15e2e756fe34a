// Package throttle limits failed authentication attempts.
//
// Two token buckets of failures, both node-local (an attacker spread over
// n nodes gets n budgets):
//
//   - per client network (an IPv4 address, an IPv6 /64, since one subscriber
//     usually holds a whole /64): when empty, every attempt from it is
//     refused before any credential is checked;
//   - per username, for password checks only (Basic and the password
//     grant), counted over all addresses: when empty, attempts for that user
//     are refused before the password is checked, except from a network
//     where that user's password was right within KnownFor. So guessing one
//     password is slowed across every attacker address, and the attacker
//     cannot lock the user out of the networks they already use.
//
// API keys, service tokens and access tokens are high-entropy and have no
// username bucket: a key id is public, so a per-id bucket would only let
// anyone lock a key out. A credential whose secret is right but which has
// expired or been invalidated is counted but charged to no bucket: it is no
// guess, and a proxy for many clients must not throttle itself on expiring
// tokens. Successes are never limited. The client address is the TCP peer;
// X-Forwarded-For is never trusted.
//
// An attempt takes the tokens its failure would cost right before its
// credential is checked, and gives them back unless the check fails: the
// attempts in flight hold their tokens, so however many run at once, no
// more reach a password hash than the budget allows.
package throttle
