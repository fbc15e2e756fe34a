package authn

import (
	"context"

	"github.com/tokenstore/tokenstore/fsm"
)

// InvalidateTokensRequest is the body of invalidate token.
type InvalidateTokensRequest struct {
	Token        *Secret `json:"token,omitempty"`
	RefreshToken *Secret `json:"refresh_token,omitempty"`
	RealmName    *string `json:"realm_name,omitempty"`
	Username     *string `json:"username,omitempty"`
}

// InvalidateTokensResult is invalidate token's answer; NotFound asks for a 404.
type InvalidateTokensResult struct {
	Invalidated           int  `json:"invalidated_tokens"`
	PreviouslyInvalidated int  `json:"previously_invalidated_tokens"`
	ErrorCount            int  `json:"error_count"`
	NotFound              bool `json:"-"`
}

// InvalidateTokens invalidates one token by value, or every token of a
// realm and/or user (refresh tokens first, then access tokens).
func (s *Service) InvalidateTokens(ctx context.Context, c Caller, req InvalidateTokensRequest) (InvalidateTokensResult, error) {
	var out InvalidateTokensResult
	if !s.cfg.TokensEnabled {
		return out, featureDisabled("security tokens")
	}
	byValue := req.Token != nil || req.RefreshToken != nil
	switch {
	case req.Token != nil && req.RefreshToken != nil:
		return out, validation("only one of [token, refresh_token] may be sent per request")
	case byValue && (req.RealmName != nil || req.Username != nil):
		return out, validation("[realm_name] and [username] may not be combined with [token] or [refresh_token]")
	case !byValue && req.RealmName == nil && req.Username == nil:
		return out, validation("one of [token, refresh_token, realm_name, username] must be specified")
	}
	var targets []fsm.TokenInvalidation
	var err error
	if byValue {
		targets, out.NotFound, err = s.tokenByValue(ctx, c, req)
	} else {
		targets, err = s.tokensOfOwner(ctx, c, req)
	}
	if err != nil || len(targets) == 0 {
		return out, err
	}
	res, err := s.propose(ctx, c, fsm.TokensInvalidatedV1{Tokens: targets})
	if err != nil {
		return out, err
	}
	for _, st := range res.Items {
		switch st {
		case fsm.Updated:
			out.Invalidated++
		case fsm.Unchanged:
			out.PreviouslyInvalidated++
		}
	}
	return out, nil
}

// tokenByValue finds the one token a request names by value; notFound when
// no token has that value. Its owner may invalidate it without privileges.
func (s *Service) tokenByValue(ctx context.Context, c Caller, req InvalidateTokensRequest) (targets []fsm.TokenInvalidation, notFound bool, err error) {
	value, refresh := req.Token, false
	if value == nil {
		value, refresh = req.RefreshToken, true
	}
	raw, ok := decodeToken(string(*value))
	var pair *fsm.TokenPair
	if ok {
		if err := s.strictRead(ctx); err != nil {
			return nil, false, err
		}
		pair, ok = s.st.Token(tokenDocID(raw))
	}
	hash := ""
	if ok {
		hash = pair.AccessHash
		if refresh {
			hash = pair.RefreshHash
		}
	}
	if !ok || !hashMatches(raw, hash) {
		return nil, true, nil
	}
	owner := pair.Username == c.Auth.Username && pair.Realm == c.Auth.Realm.Name
	if !owner {
		if err := s.Authorize(c, actionTokenInvalidate); err != nil {
			return nil, false, err
		}
	}
	return []fsm.TokenInvalidation{{DocID: pair.DocID, Refresh: refresh}}, false, nil
}

// tokensOfOwner lists the live tokens of a realm and/or user.
func (s *Service) tokensOfOwner(ctx context.Context, c Caller, req InvalidateTokensRequest) ([]fsm.TokenInvalidation, error) {
	if err := s.Authorize(c, actionTokenInvalidate); err != nil {
		return nil, err
	}
	if err := s.strictRead(ctx); err != nil {
		return nil, err
	}
	match := func(p *fsm.TokenPair) bool {
		return (req.Username == nil || p.Username == *req.Username) && (req.RealmName == nil || p.Realm == *req.RealmName)
	}
	now := s.now().UnixMilli()
	pairs := s.st.Tokens(match)
	var targets []fsm.TokenInvalidation
	for _, p := range pairs {
		if p.RefreshHash != "" && !p.RefreshInvalidated && now < p.GrantTime+fsm.RefreshLifetime {
			targets = append(targets, fsm.TokenInvalidation{DocID: p.DocID, Refresh: true})
		}
	}
	for _, p := range pairs {
		if !p.AccessInvalidated && now < p.AccessExpiry {
			targets = append(targets, fsm.TokenInvalidation{DocID: p.DocID})
		}
	}
	return targets, nil
}
