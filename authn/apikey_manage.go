package authn

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tokenstore/tokenstore/fsm"
)

// keyScope is which keys a caller may act on for an action: all of them
// (manage_api_key and above, or read_security for reads), or only its own.
func (s *Service) keyScope(c Caller, action string) (all bool, err error) {
	if !s.cfg.APIKeysEnabled {
		return false, featureDisabled("api keys")
	}
	p := s.Permission(c)
	if p.AllowsCluster(action) {
		return true, nil
	}
	if p.HasClusterPrivilege("manage_own_api_key") {
		return false, nil
	}
	return false, forbidden(c.Auth, action)
}

// GetAPIKeysRequest holds get API key's query parameters.
type GetAPIKeysRequest struct {
	ID, Name, Username, RealmName    string
	Owner, WithLimitedBy, ActiveOnly bool
}

// GetAPIKeys returns the keys the request selects and the caller may see.
// The bool is true when an id was asked for and nothing matched (a 404).
func (s *Service) GetAPIKeys(ctx context.Context, c Caller, req GetAPIKeysRequest) ([]*fsm.APIKey, bool, error) {
	if (req.ID != "" || req.Name != "") && (req.Username != "" || req.RealmName != "") {
		return nil, false, invalid("username or realm name must not be specified when the api key id or api key name is specified")
	}
	if req.Owner && (req.Username != "" || req.RealmName != "") {
		return nil, false, invalid("neither username nor realm-name may be specified when retrieving owned API keys")
	}
	all, err := s.keyScope(c, actionAPIKeyGet)
	if err != nil {
		return nil, false, err
	}
	me := c.Auth.owner()
	if !all && !req.Owner && !(req.Username == me.principal && req.RealmName == me.realm) &&
		!(c.Auth.key != nil && req.ID == c.Auth.key.ID) {
		// Only manage_own_api_key: the request must name the caller's keys.
		return nil, false, forbiddenWith(c.Auth, actionAPIKeyGet, []string{"manage_api_key", "read_security", "manage_security", "all"})
	}
	if req.WithLimitedBy && !s.Permission(c).HasClusterPrivilege("manage_api_key") {
		return nil, false, forbiddenWith(c.Auth, actionAPIKeyGet+"[with_limited_by]", []string{"manage_api_key", "manage_security", "all"})
	}
	s.freshRead(ctx)
	now := s.now().UnixMilli()
	keys := s.st.APIKeys(func(k *fsm.APIKey) bool {
		switch {
		case (!all || req.Owner) && !me.owns(k):
			return false
		case req.ID != "" && k.ID != req.ID:
			return false
		case req.Name != "" && !nameMatches(req.Name, k.Name):
			return false
		case req.Username != "" && k.Creator.Principal != req.Username:
			return false
		case req.RealmName != "" && k.Creator.Realm != req.RealmName:
			return false
		case req.ActiveOnly && (k.Invalidated || (k.Expiration > 0 && k.Expiration <= now)):
			return false
		}
		return true
	})
	return keys, req.ID != "" && len(keys) == 0, nil
}

// nameMatches is get API key's name filter: "*" or a trailing "*" prefix match.
func nameMatches(pattern, name string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(name, prefix)
	}
	return pattern == name
}

// UpdateAPIKeyRequest is the body of update and bulk update. Nil fields
// keep the stored value.
type UpdateAPIKeyRequest struct {
	IDs             []string                       `json:"ids,omitempty"`
	RoleDescriptors *map[string]fsm.RoleDescriptor `json:"-"`
	Metadata        *json.RawMessage               `json:"metadata,omitempty"`
	Expiration      *string                        `json:"expiration,omitempty"`
}

// UpdateAPIKeys updates keys the caller owns, refreshing each key's
// limited_by snapshot; it returns the updated ids, the no-ops and per-id errors.
func (s *Service) UpdateAPIKeys(ctx context.Context, c Caller, req UpdateAPIKeyRequest) ([]string, []string, map[string]*Error, error) {
	if !s.cfg.APIKeysEnabled {
		return nil, nil, nil, featureDisabled("api keys")
	}
	if c.Auth.key != nil {
		return nil, nil, nil, invalid("authentication via API key not supported: only the owner user can update an API key")
	}
	if !s.canManageOwnKeys(c, actionAPIKeyUpdate) {
		return nil, nil, nil, forbiddenWith(c.Auth, actionAPIKeyUpdate, []string{"manage_own_api_key", "manage_api_key", "manage_security", "all"})
	}
	if len(req.IDs) == 0 {
		return nil, nil, nil, validation("Field [ids] cannot be empty")
	}
	if req.Metadata != nil {
		if err := checkAPIKeyMetadata(*req.Metadata); err != nil {
			return nil, nil, nil, validation(err.Error())
		}
	}
	if req.RoleDescriptors != nil {
		for _, d := range *req.RoleDescriptors {
			if err := ValidateRoleDescriptor(d); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	now := s.now().UnixMilli()
	var exp *int64
	if req.Expiration != nil {
		e, err := s.expirationMillis(req.Expiration, now)
		if err != nil {
			return nil, nil, nil, err
		}
		exp = &e
	}
	me := c.Auth.owner()
	limitedBy := s.limitedBy(c.Auth)
	updated, noops, errs := []string{}, []string{}, map[string]*Error{}
	if err := s.strictRead(ctx); err != nil {
		return nil, nil, nil, err
	}
	for _, id := range req.IDs {
		k, ok := s.st.APIKey(id)
		switch {
		case !ok || !me.owns(k):
			errs[id] = &Error{Kind: NotFound, Type: "resource_not_found_exception", Reason: fmt.Sprintf("no API key owned by requesting user found for ID [%s]", id)}
			continue
		case k.Invalidated:
			errs[id] = invalid("cannot update invalidated API key [%s]", id)
			continue
		case k.Expiration > 0 && k.Expiration <= now:
			errs[id] = invalid("cannot update expired API key [%s]", id)
			continue
		}
		res, err := s.propose(ctx, c, fsm.APIKeyUpdatedV1{ID: id, RoleDescriptors: req.RoleDescriptors, Metadata: req.Metadata,
			Expiration: exp, LimitedBy: limitedBy, Owner: me.principal, OwnerRealm: me.realm})
		if err != nil {
			return nil, nil, nil, err
		}
		switch res.Status {
		case fsm.Updated:
			updated = append(updated, id)
		case fsm.Unchanged:
			noops = append(noops, id)
		case fsm.AlreadyExists:
			errs[id] = invalid("cannot update invalidated API key [%s]", id)
		default:
			errs[id] = &Error{Kind: NotFound, Type: "resource_not_found_exception", Reason: fmt.Sprintf("no API key owned by requesting user found for ID [%s]", id)}
		}
	}
	return updated, noops, errs, nil
}

// GrantAPIKeyRequest is the body of grant API key.
type GrantAPIKeyRequest struct {
	GrantType            string              `json:"grant_type"`
	Username             string              `json:"username,omitempty"`
	Password             *Secret             `json:"password,omitempty"`
	AccessToken          *Secret             `json:"access_token,omitempty"`
	RunAs                string              `json:"run_as,omitempty"`
	ClientAuthentication json.RawMessage     `json:"client_authentication,omitempty"`
	APIKey               CreateAPIKeyRequest `json:"-"`
}

// GrantAPIKey creates a key for the user whose credentials the request
// carries; the caller needs grant_api_key.
func (s *Service) GrantAPIKey(ctx context.Context, c Caller, req GrantAPIKeyRequest) (CreatedAPIKey, error) {
	if !s.cfg.APIKeysEnabled {
		return CreatedAPIKey{}, featureDisabled("api keys")
	}
	if !s.Permission(c).AllowsCluster(actionAPIKeyGrant) {
		return CreatedAPIKey{}, forbidden(c.Auth, actionAPIKeyGrant)
	}
	var msgs []string
	switch req.GrantType {
	case "password":
		if req.Username == "" {
			msgs = append(msgs, "username is missing")
		}
		if req.Password == nil {
			msgs = append(msgs, "password is missing")
		}
		if req.AccessToken != nil {
			msgs = append(msgs, "access_token is not supported with the password grant_type")
		}
	case "access_token":
		if req.AccessToken == nil {
			msgs = append(msgs, "access_token is missing")
		}
		if len(req.ClientAuthentication) > 0 {
			return CreatedAPIKey{}, &Error{Kind: Invalid, Type: "security_exception", Reason: "[client_authentication] not supported with the supplied access_token type"}
		}
	default:
		msgs = append(msgs, "grant_type must be one of [password, access_token]")
	}
	if len(msgs) > 0 {
		return CreatedAPIKey{}, validation(msgs...)
	}
	var user *Authentication
	if req.GrantType == "access_token" {
		a, err := s.authenticateAccessToken(ctx, string(*req.AccessToken))
		if err != nil {
			return CreatedAPIKey{}, err
		}
		user, c.Subject = a, "Bearer "+string(*req.AccessToken)
	} else {
		a, err := s.authenticatePassword(ctx, c, "grant_api_key", req.Username, req.Password.bytes(), "/_security/api_key/grant")
		if err != nil {
			return CreatedAPIKey{}, err
		}
		user, c.Subject = a, basicCredential(req.Username, *req.Password)
	}
	if req.RunAs != "" {
		if !s.canRunAs(user, req.RunAs) {
			return CreatedAPIKey{}, &Error{Kind: Forbidden, Type: "security_exception", Reason: fmt.Sprintf("action [%s] is unauthorized for user [%s] because user [%s] is unauthorized to run as [%s]", actionAPIKeyGrant, user.Username, user.Username, req.RunAs)}
		}
		rec, ok := lookupUser(s.st, req.RunAs)
		if !ok || !rec.enabled {
			return CreatedAPIKey{}, unauthenticated(fmt.Sprintf("unable to authenticate user [%s] for REST request [/_security/api_key/grant]", req.RunAs), "")
		}
		user = rec.authentication()
	}
	return s.createAPIKey(ctx, c, req.APIKey, creatorOf(user), s.limitedBy(user))
}

func (s *Service) canRunAs(a *Authentication, target string) bool {
	for _, d := range resolvePermission(s.st, a.Roles).Descriptors {
		if slices.ContainsFunc(d.RunAs, func(p string) bool { return globMatch(p, target) }) {
			return true
		}
	}
	return false
}

// ClearAPIKeyCache checks the caller may clear the cache. Verifications are
// not cached across changes (each key's entry is tied to its log index),
// so there is nothing to drop.
func (s *Service) ClearAPIKeyCache(c Caller) error {
	return s.Authorize(c, actionAPIKeyCache)
}
