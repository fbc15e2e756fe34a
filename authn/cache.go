package authn

import (
	"crypto/rand"
	"crypto/subtle"
	"sync"
	"time"
)

// verifyCache remembers authentications this node built, keyed by a
// credential's id (a username, an API key id, a token's name or document
// id), so that a hot credential pays neither its hash nor the building of
// its Authentication again. An entry is valid only for the version of the
// records it was built from (V: a ModIndex, a record pointer, a file
// generation), so any change through Raft makes it stale on every node at
// once. An entry made with a secret holds a salted SHA-256 of it, never
// the secret, and answers only for that secret. A nil cache caches nothing.
type verifyCache[V comparable] struct {
	ttl     time.Duration // 0: an entry lives as long as its version
	max     int
	mu      sync.RWMutex
	entries map[string]verifyEntry[V] // by value: a put allocates nothing
}

type verifyEntry[V comparable] struct {
	version V
	secret  *secretDigest // nil: the entry answers for any secret the caller verified
	expires int64         // unix nanos; 0 never
	auth    *Authentication
}

// secretDigest is a salted SHA-256 of the secret an entry answers for; kept
// out of line so that entries without one (API keys) stay small.
type secretDigest struct {
	salt   [16]byte
	digest [32]byte
}

// newVerifyCache holds at most max entries, each for ttl (0: for as long as
// its version).
func newVerifyCache[V comparable](ttl time.Duration, max int) *verifyCache[V] {
	return &verifyCache[V]{ttl: ttl, max: max, entries: map[string]verifyEntry[V]{}}
}

// get returns the authentication cached under key for this version and,
// when the entry holds a digest, this secret; nil when there is none or it
// has expired. now is read only when the cache has a ttl.
func (c *verifyCache[V]) get(key string, version V, secret []byte, now func() time.Time) *Authentication {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || e.version != version || e.expires != 0 && now().UnixNano() > e.expires {
		return nil
	}
	if e.secret != nil {
		d := saltedDigest(&e.secret.salt, secret)
		if subtle.ConstantTimeCompare(d[:], e.secret.digest[:]) != 1 {
			return nil
		}
	}
	return e.auth
}

// put caches auth under key for this version and, unless secret is nil,
// only for this secret.
func (c *verifyCache[V]) put(key string, version V, secret []byte, auth *Authentication, now func() time.Time) {
	if c == nil {
		return
	}
	e := verifyEntry[V]{version: version, auth: auth}
	if c.ttl > 0 {
		e.expires = now().Add(c.ttl).UnixNano()
	}
	if secret != nil {
		e.secret = &secretDigest{}
		rand.Read(e.secret.salt[:])
		e.secret.digest = saltedDigest(&e.secret.salt, secret)
	}
	c.mu.Lock()
	if len(c.entries) >= c.max {
		// Crude but bounded: drop everything rather than track recency.
		clear(c.entries)
	}
	c.entries[key] = e
	c.mu.Unlock()
}

// getOrBuild is get for a credential the caller has verified, else build's
// authentication, cached for the version.
func (c *verifyCache[V]) getOrBuild(key string, version V, build func() *Authentication) *Authentication {
	if a := c.get(key, version, nil, nil); a != nil {
		return a
	}
	a := build()
	c.put(key, version, nil, a, nil)
	return a
}

func (c *verifyCache[V]) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	clear(c.entries)
	c.mu.Unlock()
}

func (c *verifyCache[V]) remove(key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}
