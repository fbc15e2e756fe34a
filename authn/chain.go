package authn

import (
	"context"
	"fmt"
)

// credentialKind is one kind of credential the chain verifies.
type credentialKind struct {
	// scheme is the Authorization scheme the kind's credentials come in,
	// and claims, when set, tells its credentials from other kinds' there.
	scheme Scheme
	claims func(Credential) bool
	// slow: verifying may run a KDF (a password, or a service_tokens file
	// token). Only those reserve their failure's tokens before the check,
	// since only they stay in flight long enough for concurrency to
	// multiply the budget; the others cost a SHA-256 and are charged
	// after, which keeps the throttle off their hot path.
	slow bool
	// cached, when set, is the authentication the kind's cache already
	// verified for this credential: a slow kind then neither reserves nor
	// hashes.
	cached func(s *Service, cred Credential) *Authentication
	// names, when set, is how the attempt is named for the throttle and
	// the log once the kind is known: its scheme, and its principal when
	// the credential names one.
	names func(Credential) (scheme, principal string)
	// verify checks the credential; path is the request's, for messages.
	// genuine reports a refused credential whose secret was right (expired
	// or invalidated): no guess. It takes no *attempt: a pointer passed
	// through a func value escapes, and the attempt would cost an
	// allocation on every request.
	verify func(s *Service, ctx context.Context, cred Credential, path string) (auth *Authentication, genuine bool, err error)
	// beforeBootstrap: the kind may be decided on a state that has not
	// applied the cluster's bootstrap (a service_tokens file token is
	// decided by the file). Every other kind is then undecided (503).
	beforeBootstrap bool
}

type credentialChain []credentialKind

// chain lists the credential kinds in Elasticsearch's order: service
// tokens, access tokens, API keys, then the realms (reserved and native
// users).
var chain = credentialChain{
	{scheme: BearerScheme, claims: isServiceToken, slow: true, names: serviceTokenNames, verify: (*Service).verifyServiceToken, beforeBootstrap: true},
	{scheme: BearerScheme, verify: (*Service).verifyAccessToken}, // every other bearer value, malformed ones included
	{scheme: APIKeyScheme, verify: (*Service).verifyAPIKey},
	{scheme: BasicScheme, slow: true, cached: (*Service).cachedPassword, verify: (*Service).verifyPassword},
}

// kindOf is the first kind that claims the credential; nil for none (no
// credential, or an unknown scheme).
func (c credentialChain) kindOf(cred Credential) *credentialKind {
	for i := range c {
		if c[i].scheme == cred.Scheme && (c[i].claims == nil || c[i].claims(cred)) {
			return &c[i]
		}
	}
	return nil
}

// check verifies a parsed credential with its kind.
func (s *Service) check(ctx context.Context, kind *credentialKind, cred Credential, a *attempt) (*Authentication, bool, error) {
	switch {
	case kind != nil:
		if kind.names != nil {
			scheme, principal := kind.names(cred)
			a.scheme = scheme
			if principal != "" {
				a.Principal = principal
			}
		}
		return kind.verify(s, ctx, cred, a.path)
	case cred.Scheme == NoCredential:
		return nil, false, unauthenticated(fmt.Sprintf("missing authentication credentials for REST request [%s]", a.path), "")
	}
	return nil, false, unauthenticated(anonymousDenied, "")
}

func isServiceToken(cred Credential) bool {
	if cred.Malformed {
		return false
	}
	_, isServiceToken, _ := parseServiceToken(cred.Bearer)
	return isServiceToken
}
