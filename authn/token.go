package authn

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"

	"github.com/tokenstore/tokenstore/fsm"
)

const (
	actionTokenCreate     = secPrefix + "token/create"
	actionTokenRefresh    = secPrefix + "token/refresh"
	actionTokenInvalidate = secPrefix + "token/invalidate"

	// tokenVersion is the transport version written into tokens: 8.10's
	// VERSION_GET_TOKEN_DOC_FOR_REFRESH, from which the document id comes
	// from the token's last 8 bytes.
	tokenVersion = 8_500_035
	rawTokenLen  = 24
)

// rawTokens is an access/refresh pair before encoding: 16 random bytes each,
// sharing an 8-byte suffix that names their document.
type rawTokens struct{ access, refresh []byte }

func newRawTokens() rawTokens {
	b := make([]byte, 40)
	rand.Read(b)
	suffix := b[32:40]
	return rawTokens{access: append(bytes.Clone(b[:16]), suffix...), refresh: append(bytes.Clone(b[16:32]), suffix...)}
}

// deriveRawTokens computes the pair a refresh produces from the used refresh
// token and the salt stored by the first refresh. Every node that is shown
// the same refresh token within the window computes the same pair, so
// nothing but hashes needs to be stored.
func deriveRawTokens(oldRefresh []byte, salt string) rawTokens {
	part := func(label string, n int) []byte {
		m := hmac.New(sha256.New, oldRefresh)
		m.Write([]byte(label + "\x00" + salt))
		return m.Sum(nil)[:n]
	}
	suffix := part("suffix", 8)
	return rawTokens{access: append(part("access", 16), suffix...), refresh: append(part("refresh", 16), suffix...)}
}

func tokenDocID(raw []byte) string {
	sum := sha256.Sum256(raw[len(raw)-8:])
	var b strings.Builder // one allocation: this runs on every bearer request
	b.Grow(len("token_") + base64.RawURLEncoding.EncodedLen(len(sum)))
	b.WriteString("token_")
	enc := base64.NewEncoder(base64.RawURLEncoding, &b)
	enc.Write(sum[:])
	enc.Close()
	return b.String()
}

// encodeToken is Elasticsearch's format: B64(VInt(version) VInt(24) raw).
func encodeToken(raw []byte) string {
	b := binary.AppendUvarint(nil, tokenVersion)
	b = binary.AppendUvarint(b, uint64(len(raw)))
	return base64.StdEncoding.EncodeToString(append(b, raw...))
}

// decodeToken reverses encodeToken, ignoring trailing bytes as Elasticsearch
// does. Older token versions are not accepted.
func decodeToken(s string) ([]byte, bool) {
	if len(s) > maxCredential {
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	version, n := binary.Uvarint(b)
	if n <= 0 || version < tokenVersion {
		return nil, false
	}
	length, m := binary.Uvarint(b[n:])
	if m <= 0 || length != rawTokenLen || len(b[n+m:]) < rawTokenLen {
		return nil, false
	}
	return b[n+m : n+m+rawTokenLen], true
}

// GetTokenRequest is the body of get token.
type GetTokenRequest struct {
	GrantType      string  `json:"grant_type"`
	Username       *string `json:"username,omitempty"`
	Password       *Secret `json:"password,omitempty"`
	RefreshToken   *Secret `json:"refresh_token,omitempty"`
	Scope          *string `json:"scope,omitempty"`
	KerberosTicket *Secret `json:"kerberos_ticket,omitempty"`
}

// TokenResponse is get token's answer. The tokens are shown only here.
type TokenResponse struct {
	AccessToken    string          `json:"access_token"`
	Type           string          `json:"type"`
	ExpiresIn      int64           `json:"expires_in"`
	RefreshToken   string          `json:"refresh_token,omitempty"`
	Authentication *Authentication `json:"-"`
}

func oauthError(code, description string) *Error {
	return &Error{Kind: Invalid, Type: "oauth", OAuth: code, Reason: description}
}

func validateGetToken(req GetTokenRequest) *Error {
	var msgs []string
	grant := req.GrantType
	field := func(name string, present, wanted bool) {
		switch {
		case wanted && !present:
			msgs = append(msgs, name+" is missing")
		case !wanted && present:
			msgs = append(msgs, name+" is not supported with the "+grant+" grant_type")
		}
	}
	switch grant {
	case "password", "client_credentials", "refresh_token", "_kerberos":
		field("username", req.Username != nil, grant == "password")
		field("password", req.Password != nil, grant == "password")
		field("refresh_token", req.RefreshToken != nil, grant == "refresh_token")
		field("kerberos_ticket", req.KerberosTicket != nil, grant == "_kerberos")
	default:
		msgs = append(msgs, "grant_type only supports the values: [password, _kerberos, refresh_token, client_credentials]")
	}
	if len(msgs) == 0 {
		return nil
	}
	e := validation(msgs...)
	code := "invalid_request"
	if strings.Contains(e.Reason, "grant_type") && grant != "password" && grant != "client_credentials" && grant != "refresh_token" && grant != "_kerberos" {
		code = "unsupported_grant_type"
	}
	return oauthError(code, e.Reason)
}

// GetToken issues or refreshes tokens.
func (s *Service) GetToken(ctx context.Context, c Caller, req GetTokenRequest) (TokenResponse, error) {
	if !s.cfg.TokensEnabled {
		return TokenResponse{}, featureDisabled("security tokens")
	}
	if err := validateGetToken(req); err != nil {
		return TokenResponse{}, err
	}
	switch req.GrantType {
	case "refresh_token":
		if err := s.Authorize(c, actionTokenRefresh); err != nil {
			return TokenResponse{}, err
		}
		return s.refreshToken(ctx, c, string(*req.RefreshToken))
	case "_kerberos":
		return TokenResponse{}, oauthError("unsupported_grant_type", "Validation Failed: 1: the _kerberos grant_type is not supported by this service;")
	}
	if err := s.Authorize(c, actionTokenCreate); err != nil {
		return TokenResponse{}, err
	}
	subject := c.Auth
	if req.GrantType == "password" {
		user, err := s.authenticatePassword(ctx, c, "password_grant", *req.Username, req.Password.bytes(), "/_security/oauth2/token")
		if err != nil {
			return TokenResponse{}, err
		}
		subject = user
		c.Subject = basicCredential(*req.Username, *req.Password)
	}
	if subject.Realm == ServiceAccountRealm {
		return TokenResponse{}, invalid("service accounts cannot obtain access tokens; use the service token directly")
	}
	now := s.now().UnixMilli()
	raw := newRawTokens()
	pair := fsm.TokenPair{DocID: tokenDocID(raw.access), AccessHash: tokenHash(raw.access), Creation: now, GrantTime: now,
		AccessExpiry: now + s.cfg.TokenTimeout.Milliseconds(), Username: subject.Username, Realm: subject.Realm.Name,
		RealmType: subject.Realm.Type, Client: tokenClient(c.Auth)}
	if subject.key != nil {
		pair.APIKeyID = subject.key.ID
	}
	withRefresh := req.GrantType == "password"
	if withRefresh {
		pair.RefreshHash = tokenHash(raw.refresh)
	}
	if _, err := s.propose(ctx, c, fsm.TokenIssuedV1{Pair: pair}); err != nil {
		return TokenResponse{}, err
	}
	out := TokenResponse{AccessToken: encodeToken(raw.access), Type: "Bearer", ExpiresIn: int64(s.cfg.TokenTimeout.Seconds()), Authentication: subject}
	if withRefresh {
		out.RefreshToken = encodeToken(raw.refresh)
	}
	return out, nil
}

// runAsClient marks a token's client that asked under run-as: the client
// is then the run-as user, and a token issued to it is that user's, run by
// another (tokenSubject).
const runAsClient = "run_as:"

// tokenClient is the client a token records, for the rule that only it
// may refresh them, and, when it asked under run-as, for the rule that
// such a token runs as nobody.
func tokenClient(a *Authentication) string {
	if a.RunBy != nil {
		return runAsClient + clientOf(a)
	}
	return clientOf(a)
}

// clientOf names the client that asked for tokens.
func clientOf(a *Authentication) string {
	if a.APIKey != nil {
		return "api_key:" + a.APIKey.ID
	}
	return a.Realm.Name + "/" + a.Username
}

func (s *Service) refreshToken(ctx context.Context, c Caller, token string) (TokenResponse, error) {
	raw, ok := decodeToken(token)
	if !ok {
		return TokenResponse{}, oauthError("invalid_grant", "could not refresh the requested token")
	}
	docID := tokenDocID(raw)
	if err := s.strictRead(ctx); err != nil {
		return TokenResponse{}, err
	}
	pair, ok := s.st.Token(docID)
	now := s.now().UnixMilli()
	switch {
	case !ok || !hashMatches(raw, pair.RefreshHash):
		return TokenResponse{}, oauthError("invalid_grant", "could not refresh the requested token")
	case now >= pair.GrantTime+fsm.RefreshLifetime:
		return TokenResponse{}, oauthError("invalid_grant", "token document has expired")
	case pair.RefreshInvalidated:
		return TokenResponse{}, oauthError("invalid_grant", "token has been invalidated")
	case pair.Client != tokenClient(c.Auth):
		return TokenResponse{}, oauthError("invalid_grant", "tokens must be refreshed by the creating client")
	}
	subject := s.tokenSubject(pair)
	if subject == nil {
		return TokenResponse{}, oauthError("invalid_grant", "could not refresh the requested token")
	}
	c.Subject = refreshScheme + token
	saltBytes := make([]byte, 16)
	rand.Read(saltBytes)
	salt := base64.RawURLEncoding.EncodeToString(saltBytes)
	next := deriveRawTokens(raw, salt)
	newPair := refreshedPair(pair, raw, salt, now, now+s.cfg.TokenTimeout.Milliseconds())
	res, err := s.propose(ctx, c, fsm.TokenRefreshedV1{DocID: docID, Time: now, Salt: salt, NewPair: newPair})
	if err != nil {
		return TokenResponse{}, err
	}
	switch res.Status {
	case fsm.RefreshDone:
	case fsm.RefreshReused:
		// Another use won in log order: answer with the pair it produced.
		won, _ := s.st.Token(docID)
		next = deriveRawTokens(raw, won.RefreshSalt)
		if np, ok := s.st.Token(won.Superseding); ok {
			newPair = *np
		}
	case fsm.RefreshTooLate:
		return TokenResponse{}, oauthError("invalid_grant", "token has already been refreshed more than 30 seconds in the past")
	default:
		return TokenResponse{}, oauthError("invalid_grant", "token has been invalidated")
	}
	expiresIn := (newPair.AccessExpiry - now) / 1000
	return TokenResponse{AccessToken: encodeToken(next.access), Type: "Bearer", ExpiresIn: max(expiresIn, 0),
		RefreshToken: encodeToken(next.refresh), Authentication: subject}, nil
}

// refreshedPair is the pair a refresh of old with this refresh token and
// salt produces at time now.
func refreshedPair(old *fsm.TokenPair, oldRefresh []byte, salt string, now, accessExpiry int64) fsm.TokenPair {
	next := deriveRawTokens(oldRefresh, salt)
	return fsm.TokenPair{DocID: tokenDocID(next.access), AccessHash: tokenHash(next.access), RefreshHash: tokenHash(next.refresh),
		Creation: now, GrantTime: old.GrantTime, AccessExpiry: accessExpiry, Username: old.Username, Realm: old.Realm,
		RealmType: old.RealmType, APIKeyID: old.APIKeyID, Client: old.Client}
}

func featureDisabled(what string) *Error {
	return &Error{Kind: Invalid, Type: "feature_not_enabled_exception", Reason: what + " are not enabled"}
}
