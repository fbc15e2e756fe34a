package authn

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"sync"
	"time"
)

// verifyCache remembers successful password verifications so that a hot
// user does not pay the KDF on every request. An entry holds a salted
// SHA-256 of the password, never the password, and is keyed on the user's
// ModIndex: any change to the user through Raft (new password, disabled,
// deleted and re-created) makes the entry stale on every node at once.
type verifyCache struct {
	ttl     time.Duration
	mu      sync.RWMutex
	entries map[string]*verifyEntry
	max     int
}

type verifyEntry struct {
	modIndex uint64
	salt     [16]byte
	digest   [32]byte
	expires  int64 // unix nanos
	auth     *Authentication
}

func newVerifyCache(ttl time.Duration, max int) *verifyCache {
	return &verifyCache{ttl: ttl, entries: map[string]*verifyEntry{}, max: max}
}

func saltedDigest(salt *[16]byte, secret []byte) [32]byte {
	var buf [256]byte
	if len(secret) <= len(buf)-len(salt) {
		n := copy(buf[:], salt[:])
		n += copy(buf[n:], secret)
		return sha256.Sum256(buf[:n])
	}
	h := sha256.New()
	h.Write(salt[:])
	h.Write(secret)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// get returns the cached authentication when the same secret was verified
// for the same version of the user within the TTL.
func (c *verifyCache) get(key string, modIndex uint64, secret []byte, now time.Time) *Authentication {
	if c.ttl <= 0 {
		return nil
	}
	c.mu.RLock()
	e := c.entries[key]
	c.mu.RUnlock()
	if e == nil || e.modIndex != modIndex || now.UnixNano() > e.expires {
		return nil
	}
	d := saltedDigest(&e.salt, secret)
	if subtle.ConstantTimeCompare(d[:], e.digest[:]) != 1 {
		return nil
	}
	return e.auth
}

func (c *verifyCache) put(key string, modIndex uint64, secret []byte, auth *Authentication, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	e := &verifyEntry{modIndex: modIndex, expires: now.Add(c.ttl).UnixNano(), auth: auth}
	rand.Read(e.salt[:])
	e.digest = saltedDigest(&e.salt, secret)
	c.mu.Lock()
	if len(c.entries) >= c.max {
		// Crude but bounded: drop everything rather than track recency.
		clear(c.entries)
	}
	c.entries[key] = e
	c.mu.Unlock()
}

func (c *verifyCache) clearPrefix(prefix string) {
	c.mu.Lock()
	for k := range c.entries {
		if strings.HasPrefix(k, prefix) {
			delete(c.entries, k)
		}
	}
	c.mu.Unlock()
}

func (c *verifyCache) remove(key string) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}
