package authn

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/tokenstore/tokenstore/authn/authz"
	"github.com/tokenstore/tokenstore/fsm"
)

const (
	actionAPIKeyCreate     = secPrefix + "api_key/create"
	actionAPIKeyGet        = secPrefix + "api_key/get"
	actionAPIKeyQuery      = secPrefix + "api_key/query"
	actionAPIKeyInvalidate = secPrefix + "api_key/invalidate"
	actionAPIKeyUpdate     = secPrefix + "api_key/update"
	actionAPIKeyGrant      = secPrefix + "api_key/grant"
	// actionAPIKeyBulkUpdate is Elasticsearch's own action for bulk update
	// (BulkUpdateApiKeyAction), which its 403 names; the event it proposes
	// is the one a single update proposes (api_key/update's row), and the
	// named privileges grant both alike.
	actionAPIKeyBulkUpdate = secPrefix + "api_key/bulk_update"
)

// newAPIKeyID returns a 20-character URL-safe id, like Elasticsearch's.
func newAPIKeyID() string {
	b := make([]byte, 15)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newSecret returns 22 URL-safe characters carrying 128 random bits.
func newSecret() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func apiKeyAuthentication(k *fsm.APIKey) *Authentication {
	md := k.Creator.Metadata
	if len(md) == 0 {
		md = json.RawMessage(`{}`)
	}
	return &Authentication{Username: k.Creator.Principal, Roles: []string{}, FullName: k.Creator.FullName,
		Email: k.Creator.Email, Metadata: md, Enabled: true, Realm: APIKeyRealm, Type: "api_key",
		APIKey: &APIKeyRef{ID: k.ID, Name: k.Name}, key: k}
}

// authenticateAPIKey checks an ApiKey credential against the local state. A
// key unknown here may have been created a moment ago on another node, so a
// miss catches up with the leader once before it fails.
func (s *Service) authenticateAPIKey(ctx context.Context, id string, secret []byte) (*Authentication, string, error) {
	k, ok, err := lookUp(ctx, s, id, s.st.APIKey)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, fmt.Sprintf("unable to find apikey with id %s", id), nil
	}
	salt, digest := k.SaltDigest()
	if !checkSSHA256(secret, salt, digest) {
		return nil, fmt.Sprintf("invalid credentials for API key [%s]", id), nil
	}
	if k.Invalidated {
		if err := s.revocationVisible(ctx, k.ModIndex); err != nil {
			return nil, "", err
		}
		return nil, fmt.Sprintf("api key [%s] has been invalidated", id), nil
	}
	if k.Type != keyTypeREST {
		// Only a holder of the secret learns the key's type.
		return nil, fmt.Sprintf("authentication expected API key type of [%s], but API key [%s] has type [%s]", keyTypeREST, id, k.Type), nil
	}
	if k.Expiration > 0 && s.now().UnixMilli() >= k.Expiration {
		return nil, "api key is expired", nil
	}
	return s.apiKeys.getOrBuild(k.ID, k, func() *Authentication {
		a := apiKeyAuthentication(k)
		a.used = s.uses.slot(k.ID)
		return a
	}), "", nil
}

// CreateAPIKeyRequest is the body of create API key (and grant's api_key).
type CreateAPIKeyRequest struct {
	Name            *string                       `json:"name"`
	Expiration      *string                       `json:"expiration"`
	RoleDescriptors map[string]fsm.RoleDescriptor `json:"-"`
	// HasRoleDescriptors tells an absent role_descriptors from an empty one.
	HasRoleDescriptors bool            `json:"-"`
	Metadata           json.RawMessage `json:"metadata"`
	// keyType is "rest" when empty; cross-cluster keys come from their own
	// API, which generates their descriptor.
	keyType string
}

// CreatedAPIKey is create API key's answer. APIKey is the secret, shown
// only here, once.
type CreatedAPIKey struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Expiration *int64 `json:"expiration,omitempty"`
	APIKey     string `json:"api_key"`
	Encoded    string `json:"encoded"`
}

func validateAPIKeyRequest(req CreateAPIKeyRequest) error {
	name := ""
	if req.Name != nil {
		name = *req.Name
	}
	msgs := apiKeyNameProblems(name)
	if err := checkAPIKeyMetadata(req.Metadata); err != nil {
		msgs = append(msgs, err.Error())
	}
	if len(msgs) > 0 {
		return validation(msgs...)
	}
	if req.keyType == keyTypeCrossCluster {
		return nil
	}
	for _, d := range req.RoleDescriptors {
		if err := ValidateRoleDescriptor(d); err != nil {
			return err
		}
	}
	return nil
}

// maxAPIKeyMetadata bounds a key's metadata, which every node keeps in
// memory and which every update writes to the log again.
const maxAPIKeyMetadata = 64 << 10

func checkAPIKeyMetadata(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if len(raw) > maxAPIKeyMetadata {
		return fmt.Errorf("API key metadata may not be larger than [%d] bytes", maxAPIKeyMetadata)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("API key metadata must be an object")
	}
	for k := range m {
		if strings.HasPrefix(k, "_") {
			return fmt.Errorf("API key metadata keys may not start with [_]")
		}
	}
	return nil
}

// expirationMillis turns an expiration time value into epoch millis from now.
func (s *Service) expirationMillis(v *string, now int64) (int64, error) {
	if v == nil {
		return 0, nil
	}
	d, err := ParseTimeValue("expiration", *v)
	if err != nil || d <= 0 {
		return 0, invalid("failed to parse setting [expiration] with value [%s] as a time value: a positive duration such as 1d, 12h or 30m is required", Clip(*v, maxIDEcho))
	}
	return now + d.Milliseconds(), nil
}

// CreateAPIKey creates a key owned by the caller.
func (s *Service) CreateAPIKey(ctx context.Context, c Caller, req CreateAPIKeyRequest) (CreatedAPIKey, error) {
	if !s.cfg.APIKeysEnabled {
		return CreatedAPIKey{}, featureDisabled("api keys")
	}
	if !s.canManageOwnKeys(c, actionAPIKeyCreate) {
		return CreatedAPIKey{}, forbiddenWith(c.Auth, actionAPIKeyCreate, []string{"manage_own_api_key", "manage_api_key", "manage_security", "all"})
	}
	limitedBy := s.limitedBy(c.Auth)
	if c.Auth.key != nil {
		// A key may only create keys without privileges of their own, so a
		// derived key can never exceed its parent.
		if !req.HasRoleDescriptors || len(req.RoleDescriptors) == 0 || slices.ContainsFunc(slices.Collect(mapValues(req.RoleDescriptors)), hasPrivileges) {
			return CreatedAPIKey{}, invalid("creating derived api keys requires an explicit role descriptor that is empty (has no privileges)")
		}
	}
	return s.createAPIKey(ctx, c, req, creatorOf(c.Auth), limitedBy)
}

// mapValues yields a map's values in the order of their keys.
func mapValues[V any](m map[string]V) iter.Seq[V] {
	return func(yield func(V) bool) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !yield(m[k]) {
				return
			}
		}
	}
}

func hasPrivileges(d fsm.RoleDescriptor) bool {
	return len(d.Cluster) > 0 || len(d.Indices) > 0 || len(d.Applications) > 0 || len(d.RunAs) > 0 || len(d.RemoteIndices) > 0 ||
		len(d.RemoteCluster) > 0
}

func (s *Service) createAPIKey(ctx context.Context, c Caller, req CreateAPIKeyRequest, creator fsm.Creator, limitedBy map[string]fsm.RoleDescriptor) (CreatedAPIKey, error) {
	if err := validateAPIKeyRequest(req); err != nil {
		return CreatedAPIKey{}, err
	}
	now := s.now().UnixMilli()
	exp, err := s.expirationMillis(req.Expiration, now)
	if err != nil {
		return CreatedAPIKey{}, err
	}
	rds := req.RoleDescriptors
	if rds == nil {
		rds = map[string]fsm.RoleDescriptor{}
	}
	id, secret := newAPIKeyID(), newSecret()
	key := fsm.APIKey{ID: id, Name: *req.Name, Type: keyTypeREST, Hash: hashSSHA256(secret), Creation: now, Expiration: exp,
		RoleDescriptors: rds, LimitedBy: limitedBy, Metadata: compactObject(req.Metadata), Creator: creator}
	var event fsm.Payload = fsm.APIKeyCreatedV1{Key: key}
	if req.keyType == keyTypeCrossCluster {
		key.Type = keyTypeCrossCluster
		event = fsm.APIKeyCreatedV1{Key: key}
	}
	if key.Type == keyTypeCrossCluster || fsm.HasRemoteCluster(key.RoleDescriptors, key.LimitedBy) {
		event = fsm.APIKeyCreatedV2{Key: key}
	}
	res, err := s.propose(ctx, c, event)
	if err != nil {
		return CreatedAPIKey{}, err
	}
	if res.Status != fsm.Created {
		return CreatedAPIKey{}, &Error{Kind: Conflict, Reason: fmt.Sprintf("api key [%s] already exists", id)}
	}
	s.log.Debug("api key created", "id", id, "owner", creator.Principal)
	out := CreatedAPIKey{ID: id, Name: key.Name, APIKey: secret,
		Encoded: base64.StdEncoding.EncodeToString([]byte(id + ":" + secret))}
	if exp > 0 {
		out.Expiration = &exp
	}
	return out, nil
}

func creatorOf(a *Authentication) fsm.Creator {
	if a.key != nil {
		return a.key.Creator
	}
	md := a.Metadata
	return fsm.Creator{Principal: a.Username, FullName: a.FullName, Email: a.Email, Metadata: md,
		Realm: a.Realm.Name, RealmType: a.Realm.Type}
}

// limitedBy snapshots the caller's current role descriptors. An API key
// (or a token standing for one) has no roles of its own, as in
// Elasticsearch: what it derives is limited by nothing, so grants nothing,
// and never inherits the owner's whole role through the key's snapshot.
func (s *Service) limitedBy(a *Authentication) map[string]fsm.RoleDescriptor {
	if a.key != nil {
		return map[string]fsm.RoleDescriptor{}
	}
	if a.Realm == ServiceAccountRealm {
		d, _ := authz.ServiceAccount(a.Username)
		return map[string]fsm.RoleDescriptor{a.Username: d}
	}
	out := map[string]fsm.RoleDescriptor{}
	for _, name := range a.Roles {
		if d, ok := authz.BuiltinRole(name); ok {
			out[name] = d
		} else if r, ok := s.st.Role(name); ok {
			out[name] = r.Descriptor
		}
	}
	return out
}

// canManageOwnKeys reports whether the caller may run an API key action at
// least on its own keys.
func (s *Service) canManageOwnKeys(c Caller, action string) bool {
	p := s.Permission(c)
	granted := p.AllowsCluster(action) || p.HasClusterPrivilege("manage_own_api_key")
	s.obs.authorized(c, action, granted)
	return granted
}

func forbiddenWith(a *Authentication, action string, granting []string) *Error {
	e := forbidden(a, action)
	if i := strings.Index(e.Reason, ", this action is granted by"); i >= 0 {
		e.Reason = e.Reason[:i]
	}
	e.Reason += fmt.Sprintf(", this action is granted by the cluster privileges [%s]", strings.Join(granting, ","))
	return e
}

// verifyAPIKey is the chain's check of an ApiKey credential.
func (s *Service) verifyAPIKey(ctx context.Context, cred Credential, _ string) (*Authentication, bool, error) {
	if !s.cfg.APIKeysEnabled {
		return nil, false, unauthenticated(anonymousDenied, "")
	}
	if cred.Malformed {
		return nil, false, unauthenticated(anonymousDenied, "API key: invalid ApiKey value")
	}
	auth, reason, err := s.authenticateAPIKey(ctx, cred.Principal, cred.Secret)
	if err != nil {
		return nil, false, err
	}
	if auth == nil {
		return nil, s.apiKeySecretRight(cred.Principal, cred.Secret), unauthenticated(anonymousDenied, "API key: "+reason)
	}
	return auth, false, nil
}

// apiKeySecretRight tells an expired or invalidated key, which proves its
// secret, from a guess.
func (s *Service) apiKeySecretRight(id string, secret []byte) bool {
	k, ok := s.st.APIKey(id)
	if !ok {
		return false
	}
	salt, digest := k.SaltDigest()
	return checkSSHA256(secret, salt, digest)
}
