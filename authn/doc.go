// Package authn is the security logic: it parses Authorization headers,
// verifies credentials along one chain (service tokens, access tokens, API
// keys, then the realms) against the local state, keeps the stored hash
// formats in one place (hash.go) and verified credentials in one kind of
// cache (cache.go), and changes state only by proposing events through a
// Proposer. Three rooms stand beside it: apikeyquery (the query API keys
// language), throttle (failed-authentication limits) and authz (privileges,
// permissions and has_privileges).
package authn
