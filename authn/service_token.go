package authn

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tokenstore/tokenstore/authn/authz"
	"github.com/tokenstore/tokenstore/fsm"
)

const (
	actionServiceAccountGet  = secPrefix + "service_account/get"
	actionServiceTokenCreate = secPrefix + "service_account/token/create"
	actionServiceTokenDelete = secPrefix + "service_account/token/delete"
	actionServiceCredentials = secPrefix + "service_account/credential/get"
)

// authenticateServiceToken checks a service token: the file tokens of this
// node first, then the replicated index tokens, as Elasticsearch does. A
// short secret or an unknown account fails before any lookup.
func (s *Service) authenticateServiceToken(ctx context.Context, cred serviceTokenCredential) (*Authentication, error) {
	fail := func() *Error {
		return &Error{Kind: Unauthenticated, Type: "security_exception",
			Reason: fmt.Sprintf("failed to authenticate service account [%s] with token name [%s]", cred.principal, cred.name)}
	}
	if len(cred.secret) < minServiceTokenSecret || !ValidServiceTokenName(cred.name) {
		return nil, fail()
	}
	if _, ok := authz.ServiceAccount(cred.principal); !ok {
		return nil, fail()
	}
	qualified := cred.qualified
	files := s.files.current()
	if hash, ok := files.tokens[qualified]; ok && len(files.tokens) > 0 {
		if a := s.fileTokens.get(qualified, files.generation, cred.secret, s.now); a != nil {
			return a, nil
		}
		right, err := s.verifyFileToken(ctx, cred.secret, hash)
		if err != nil {
			return nil, err
		}
		if right {
			a := serviceAccountAuthentication(cred.principal, cred.name, "file")
			s.fileTokens.put(qualified, files.generation, cred.secret, a, s.now)
			return a, nil
		}
	}
	t, ok, err := lookUp(ctx, s, qualified, s.st.ServiceToken)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fail()
	}
	if a := s.serviceTokens.get(qualified, t, cred.secret, nil); a != nil {
		return a, nil
	}
	if !verifySSHA256String(cred.secret, t.Hash) {
		return nil, fail()
	}
	a := serviceAccountAuthentication(t.Namespace+"/"+t.Service, t.Name, "index")
	s.serviceTokens.put(qualified, t, cred.secret, a, nil)
	return a, nil
}

// verifyFileToken checks a secret against a service_tokens file hash: a
// fast salted SHA-256 directly, a slow KDF in the crypto pool. The file is
// the operator's, so its hashes are not held to the users' cost limit.
func (s *Service) verifyFileToken(ctx context.Context, secret []byte, hash string) (bool, error) {
	if _, _, slow := hashCost(hash); slow {
		return s.verifyHash(ctx, secret, hash)
	}
	return verifySSHA256String(secret, hash), nil
}

// GetServiceAccounts returns the built-in accounts under a namespace and
// service (either may be empty for all).
func (s *Service) GetServiceAccounts(c Caller, namespace, service string) (map[string]fsm.RoleDescriptor, error) {
	if err := s.Authorize(c, actionServiceAccountGet); err != nil {
		return nil, err
	}
	out := map[string]fsm.RoleDescriptor{}
	for _, principal := range authz.ServiceAccountNames() {
		d, _ := authz.ServiceAccount(principal)
		ns, svc, _ := strings.Cut(principal, "/")
		if (namespace == "" || ns == namespace) && (service == "" || svc == service) {
			out[principal] = d
		}
	}
	return out, nil
}

// CreatedServiceToken is create service token's answer; Value is the bearer
// value, shown only here, once.
type CreatedServiceToken struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func unknownServiceAccount(principal string) *Error {
	return &Error{Kind: NotFound, Type: "resource_not_found_exception", Reason: fmt.Sprintf("service account [%s] does not exist", principal)}
}

// NewServiceTokenName generates a 20-character name that passes the name
// rules (it does not start with an underscore).
func NewServiceTokenName() string {
	for {
		b := make([]byte, 15)
		rand.Read(b)
		if n := base64.RawURLEncoding.EncodeToString(b); n[0] != '_' {
			return n
		}
	}
}

// CreateServiceToken creates an index token for a built-in account; an
// empty name is generated.
func (s *Service) CreateServiceToken(ctx context.Context, c Caller, namespace, service, name string) (CreatedServiceToken, error) {
	if err := s.Authorize(c, actionServiceTokenCreate); err != nil {
		return CreatedServiceToken{}, err
	}
	principal := namespace + "/" + service
	if _, ok := authz.ServiceAccount(principal); !ok {
		return CreatedServiceToken{}, unknownServiceAccount(principal)
	}
	if name == "" {
		name = NewServiceTokenName()
	}
	if !ValidServiceTokenName(name) {
		return CreatedServiceToken{}, invalidTokenName(name)
	}
	secret := newSecret()
	tok := fsm.ServiceToken{Namespace: namespace, Service: service, Name: name, Hash: hashSSHA256(secret),
		Creation: s.now().UnixMilli(), Creator: c.Auth.Username}
	res, err := s.propose(ctx, c, fsm.ServiceTokenCreatedV1{Token: tok})
	if err != nil {
		return CreatedServiceToken{}, err
	}
	if res.Status == fsm.AlreadyExists {
		return CreatedServiceToken{}, &Error{Kind: Conflict, Type: "version_conflict_engine_exception",
			Reason: fmt.Sprintf("[service_account_token-%s]: version conflict, document already exists", tok.Qualified())}
	}
	s.log.Info("service token created", "token", tok.Qualified())
	return CreatedServiceToken{Name: name, Value: ServiceTokenValue(tok.Qualified(), secret)}, nil
}

// DeleteServiceToken removes an index token; it reports whether it existed.
func (s *Service) DeleteServiceToken(ctx context.Context, c Caller, namespace, service, name string) (bool, error) {
	if err := s.Authorize(c, actionServiceTokenDelete); err != nil {
		return false, err
	}
	res, err := s.propose(ctx, c, fsm.ServiceTokenDeletedV1{Qualified: namespace + "/" + service + "/" + name})
	if err != nil {
		return false, err
	}
	return res.Status == fsm.Deleted, nil
}

// ServiceCredentials are an account's index tokens and this node's file tokens.
type ServiceCredentials struct {
	IndexTokens []string
	FileTokens  []string
}

// GetServiceCredentials lists an account's index tokens and the file tokens
// this node has; the HTTP layer gathers the other nodes' file tokens.
func (s *Service) GetServiceCredentials(ctx context.Context, c Caller, namespace, service string) (ServiceCredentials, error) {
	if err := s.Authorize(c, actionServiceCredentials); err != nil {
		return ServiceCredentials{}, err
	}
	principal := namespace + "/" + service
	if _, ok := authz.ServiceAccount(principal); !ok {
		return ServiceCredentials{}, unknownServiceAccount(principal)
	}
	s.freshRead(ctx)
	var out ServiceCredentials
	for _, t := range s.st.ServiceTokens(principal) {
		out.IndexTokens = append(out.IndexTokens, t.Name)
	}
	out.FileTokens = s.LocalFileTokens(principal)
	return out, nil
}

// LocalFileTokens lists this node's file token names of an account.
func (s *Service) LocalFileTokens(principal string) []string {
	out := []string{}
	for q := range s.files.current().tokens {
		if name, ok := strings.CutPrefix(q, principal+"/"); ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// AuthorizeCredentialsRead is the check for a peer asking this node for
// its file tokens on behalf of a client.
func (s *Service) AuthorizeCredentialsRead(c Caller) error {
	return s.Authorize(c, actionServiceCredentials)
}

// ClearServiceTokenCache checks the caller may clear service token caches
// and drops this node's cached file token verifications.
func (s *Service) ClearServiceTokenCache(c Caller) error {
	if err := s.Authorize(c, actionSecurityCacheClear); err != nil {
		return err
	}
	s.fileTokens.clear()
	return nil
}

// RunFileTokenWatcher reloads the service_tokens file when it changes.
func (s *Service) RunFileTokenWatcher(ctx context.Context) {
	s.files.watch(ctx, 500*time.Millisecond)
}

// verifyServiceToken is the chain's check of a service token.
func (s *Service) verifyServiceToken(ctx context.Context, cred Credential, _ string) (*Authentication, bool, error) {
	st, _, valid := parseServiceToken(cred.Bearer)
	if !valid {
		return nil, false, unauthenticated(anonymousDenied, "")
	}
	auth, err := s.authenticateServiceToken(ctx, st)
	return auth, false, err
}

// serviceTokenNames names a service token attempt by its account and token.
func serviceTokenNames(cred Credential) (scheme, principal string) {
	if st, _, valid := parseServiceToken(cred.Bearer); valid {
		principal = st.principal + "/" + st.name
	}
	return "service_token", principal
}
