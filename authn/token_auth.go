package authn

import (
	"context"
	"strings"

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
	pair, ok, err := lookUp(ctx, s, docID, s.st.Token)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, generic()
	}
	version := accessTokenVersion{pair, s.subjectVersion(pair)}
	if a := s.accessTokens.get(docID, version, raw, nil); a != nil && version.subject != 0 {
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
	s.accessTokens.put(docID, version, raw, subject, nil)
	return subject, nil
}

// accessTokenVersion is what a cached access token authentication was built
// from: the pair's record and its subject's version.
type accessTokenVersion struct {
	pair    *fsm.TokenPair
	subject uint64
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

// tokenSubject is the current authentication of a pair's subject, marked as
// token authentication; nil when the subject is gone or disabled.
func (s *Service) tokenSubject(p *fsm.TokenPair) *Authentication {
	var a *Authentication // built fresh here: marking it changes no other
	if p.APIKeyID != "" {
		k, ok := s.st.APIKey(p.APIKeyID)
		if !ok || k.Invalidated || (k.Expiration > 0 && s.now().UnixMilli() >= k.Expiration) ||
			k.Creator.Principal != p.Username || p.Realm != APIKeyRealm.Name {
			return nil
		}
		a = apiKeyAuthentication(k)
	} else {
		rec, ok := lookupUser(s.st, p.Username)
		if !ok || !rec.enabled {
			return nil
		}
		a = rec.authentication()
		if a.Realm.Name != p.Realm {
			return nil
		}
		// The client's own token, issued while it ran as this user.
		// (Compared in place: most tokens were not, and a concatenation
		// would allocate on every first use of a token.)
		client, underRunAs := strings.CutPrefix(p.Client, runAsClient)
		a.madeUnderRunAs = underRunAs && client == clientOf(a)
	}
	a.Type = "token"
	return a
}

// accessTokenSecretRight tells an expired or invalidated access token,
// which proves its secret, from a guess.
func (s *Service) accessTokenSecretRight(bearer string) bool {
	raw, ok := decodeToken(bearer)
	if !ok {
		return false
	}
	pair, ok := s.st.Token(tokenDocID(raw))
	return ok && hashMatches(raw, pair.AccessHash)
}

// verifyAccessToken is the chain's check of a bearer value that is not a
// service token.
func (s *Service) verifyAccessToken(ctx context.Context, cred Credential, _ string) (*Authentication, bool, error) {
	if cred.Malformed || !s.cfg.TokensEnabled {
		return nil, false, unauthenticated(anonymousDenied, "")
	}
	auth, err := s.authenticateAccessToken(ctx, cred.Bearer)
	if err != nil {
		return nil, s.accessTokenSecretRight(cred.Bearer), err
	}
	return auth, false, nil
}
