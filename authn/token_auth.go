package authn

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"sync"

	"github.com/tokenstore/tokenstore/fsm"
)

// tokenExpired is the 401 for an expired or invalidated access token, with
// the WWW-Authenticate value Elasticsearch sends for it.
func tokenExpired() *Error {
	return &Error{Kind: Unauthenticated, Type: "security_exception", Reason: "token expired",
		Authenticate: []string{`Bearer realm="security", error="invalid_token", error_description="The access token expired"`}}
}

// authenticateAccessToken checks a bearer access token against the local
// state and resolves the user it stands for as of now: a deleted or disabled
// user's tokens stop working.
func (s *Service) authenticateAccessToken(ctx context.Context, bearer string) (*Authentication, error) {
	generic := func() *Error {
		return unauthenticated("unable to authenticate with provided credentials and anonymous access is not allowed for this request", "")
	}
	raw, ok := decodeToken(bearer)
	if !ok {
		return nil, generic()
	}
	docID := tokenDocID(raw)
	pair, ok := s.st.Token(docID)
	if !ok {
		if err := s.catchUpOnMiss(ctx); err != nil {
			return nil, err
		}
		pair, ok = s.st.Token(docID)
	}
	if !ok {
		return nil, generic()
	}
	digest := sha256.Sum256(raw)
	if a := s.accessTokenAuth.get(pair, digest, s.subjectVersion(pair)); a != nil {
		if pair.AccessInvalidated || s.now().UnixMilli() >= pair.AccessExpiry {
			return nil, tokenExpired()
		}
		return a, nil
	}
	if !hashMatches(raw, pair.AccessHash) {
		return nil, generic()
	}
	if pair.AccessInvalidated {
		if err := s.revocationVisible(ctx, pair.ModIndex); err != nil {
			return nil, err
		}
		return nil, tokenExpired()
	}
	if s.now().UnixMilli() >= pair.AccessExpiry {
		return nil, tokenExpired()
	}
	subject := s.tokenSubject(pair)
	if subject == nil {
		return nil, generic()
	}
	s.accessTokenAuth.put(pair, digest, s.subjectVersion(pair), subject)
	return subject, nil
}

// subjectVersion identifies the current record of a pair's subject (its
// log index), so a cached authentication is dropped when the user or key
// changes; 0 when the subject is gone.
func (s *Service) subjectVersion(p *fsm.TokenPair) uint64 {
	if p.APIKeyID != "" {
		if k, ok := s.st.APIKey(p.APIKeyID); ok {
			return k.ModIndex
		}
		return 0
	}
	if rec, ok := lookupUser(s.st, p.Username); ok {
		return rec.modIndex
	}
	return 0
}

// tokenAuthCache remembers the authentication behind an access token: valid
// while the pair record and the subject's record are the ones it was built
// from, and only for the token whose digest it holds.
type tokenAuthCache struct {
	mu sync.RWMutex
	m  map[string]tokenAuthEntry
}

type tokenAuthEntry struct {
	pair    *fsm.TokenPair
	digest  [32]byte
	version uint64
	auth    *Authentication
}

func (c *tokenAuthCache) get(p *fsm.TokenPair, digest [32]byte, version uint64) *Authentication {
	c.mu.RLock()
	e, ok := c.m[p.DocID]
	c.mu.RUnlock()
	if !ok || e.pair != p || e.version != version || version == 0 ||
		subtle.ConstantTimeCompare(e.digest[:], digest[:]) != 1 {
		return nil
	}
	return e.auth
}

func (c *tokenAuthCache) put(p *fsm.TokenPair, digest [32]byte, version uint64, a *Authentication) {
	c.mu.Lock()
	if len(c.m) >= 100_000 {
		clear(c.m)
	}
	c.m[p.DocID] = tokenAuthEntry{pair: p, digest: digest, version: version, auth: a}
	c.mu.Unlock()
}

// tokenSubject is the current authentication of a pair's subject, marked as
// token authentication; nil when the subject is gone or disabled.
func (s *Service) tokenSubject(p *fsm.TokenPair) *Authentication {
	var a Authentication
	if p.APIKeyID != "" {
		k, ok := s.st.APIKey(p.APIKeyID)
		if !ok || k.Invalidated || (k.Expiration > 0 && s.now().UnixMilli() >= k.Expiration) ||
			k.Creator.Principal != p.Username || p.Realm != APIKeyRealm.Name {
			return nil
		}
		a = *s.keyAuth.get(k)
	} else {
		rec, ok := lookupUser(s.st, p.Username)
		if !ok || !rec.enabled {
			return nil
		}
		a = *rec.authentication()
		if a.Realm.Name != p.Realm {
			return nil
		}
	}
	a.Type = "token"
	return &a
}
