package authn

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tokenstore/tokenstore/authn/authz"
	"github.com/tokenstore/tokenstore/fsm"
)

// keyScope is which keys a caller may act on for an action: all of them
// (manage_api_key and above, or read_security for reads), or only its own.
func (s *Service) keyScope(c Caller, action string) (all bool, err error) {
	if !s.cfg.APIKeysEnabled {
		return false, featureDisabled("api keys")
	}
	p := s.Permission(c)
	all = p.AllowsCluster(action)
	granted := all || p.HasClusterPrivilege("manage_own_api_key")
	s.obs.authorized(c, action, granted)
	if !granted {
		return false, forbidden(c.Auth, action)
	}
	return all, nil
}

// GetAPIKeysRequest holds get API key's query parameters.
type GetAPIKeysRequest struct {
	ID, Name, Username, RealmName    string
	Owner, WithLimitedBy, ActiveOnly bool
}

// APIKeyInfo is a key as get and query API key show it: the stored key,
// and when it was last used (epoch ms, to within
// xpack.security.authc.api_key.last_used.interval; 0 never).
type APIKeyInfo struct {
	*fsm.APIKey
	LastUsed int64
}

// withLastUse pairs keys with their last use, read under one lock.
func (s *Service) withLastUse(keys []*fsm.APIKey) []APIKeyInfo {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	used := s.st.APIKeysLastUsed(ids)
	out := make([]APIKeyInfo, len(keys))
	for i, k := range keys {
		out[i] = APIKeyInfo{APIKey: k, LastUsed: max(used[i], 0)}
	}
	return out
}

// GetAPIKeys returns the keys the request selects and the caller may see.
// The bool is true when an id was asked for and nothing matched (a 404).
func (s *Service) GetAPIKeys(ctx context.Context, c Caller, req GetAPIKeysRequest) ([]APIKeyInfo, bool, error) {
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
	if !all && !c.Auth.namesOwnKeys(nonEmpty(req.ID), req.Owner, req.Username, req.RealmName) {
		return nil, false, forbidden(c.Auth, actionAPIKeyGet)
	}
	if req.WithLimitedBy && !all && c.Auth.APIKey != nil {
		return nil, false, forbidden(c.Auth, actionAPIKeyGet)
	}
	s.freshRead(ctx)
	now := s.now().UnixMilli()
	f := keyFilter{caller: c.Auth, all: all, owner: req.Owner, name: req.Name, username: req.Username, realm: req.RealmName}
	keys := s.selectAPIKeys(nonEmpty(req.ID), func(k *fsm.APIKey) bool {
		return f.keeps(k) && !(req.ActiveOnly && (k.Invalidated || (k.Expiration > 0 && k.Expiration <= now)))
	})
	return s.withLastUse(keys), req.ID != "" && len(keys) == 0, nil
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
	// keyType is the type of key the API updates, "rest" when empty.
	keyType string
	// action is the one the request is authorized as, api_key/update when
	// empty (BulkUpdateAPIKeys sets bulk_update).
	action string
}

// maxBulkUpdateIDs bounds the distinct ids of one (bulk) update: the work
// each costs under the state's write lock on every node.
const maxBulkUpdateIDs = 1000

// BulkUpdateAPIKeys is UpdateAPIKeys for POST /_security/api_key/_bulk_update,
// authorized as Elasticsearch authorizes it: api_key/bulk_update.
func (s *Service) BulkUpdateAPIKeys(ctx context.Context, c Caller, req UpdateAPIKeyRequest) ([]string, []string, map[string]*Error, error) {
	req.action = actionAPIKeyBulkUpdate
	return s.UpdateAPIKeys(ctx, c, req)
}

// UpdateAPIKeys updates keys the caller owns, refreshing each key's
// limited_by snapshot; it returns the updated ids, the no-ops and per-id
// errors. Repeated ids count once, and the keys that change are written in
// one event, so a request costs the log one entry however many ids it names.
func (s *Service) UpdateAPIKeys(ctx context.Context, c Caller, req UpdateAPIKeyRequest) ([]string, []string, map[string]*Error, error) {
	upd, ids, err := s.checkUpdate(c, req)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := s.strictRead(ctx); err != nil {
		return nil, nil, nil, err
	}
	now := s.now().UnixMilli()
	outcome := make(map[string]fsm.Status, len(ids))
	errs := map[string]*Error{}
	wantType := cmp.Or(req.keyType, keyTypeREST)
	if wantType == keyTypeCrossCluster {
		// Never evaluated against the owner's roles: nothing to refresh.
		upd.LimitedBy = map[string]fsm.RoleDescriptor{}
	}
	for _, id := range ids {
		k, ok := s.st.APIKey(id)
		switch {
		case !ok || k.Creator.Principal != upd.Owner || k.Creator.Realm != upd.OwnerRealm:
			errs[id] = keyNotOwned(id)
		case k.Type != wantType:
			errs[id] = wrongKeyType(k.Type, wantType)
		case k.Invalidated:
			errs[id] = invalid("cannot update invalidated API key [%s]", id)
		case k.Expiration > 0 && k.Expiration <= now:
			errs[id] = invalid("cannot update expired API key [%s]", id)
		case !upd.Changes(k):
			outcome[id] = fsm.Unchanged // a no-op is not written at all
		default:
			upd.IDs = append(upd.IDs, id)
		}
	}
	if len(upd.IDs) > 0 {
		res, err := s.propose(ctx, c, keyUpdateEvent(upd))
		if err != nil {
			return nil, nil, nil, err
		}
		for _, id := range upd.IDs {
			switch st := res.Items[id]; st {
			case fsm.Updated, fsm.Unchanged:
				outcome[id] = st
			case fsm.AlreadyExists:
				errs[id] = invalid("cannot update invalidated API key [%s]", id)
			default:
				errs[id] = keyNotOwned(id)
			}
		}
	}
	updated, noops := []string{}, []string{}
	for _, id := range ids {
		switch outcome[id] {
		case fsm.Updated:
			updated = append(updated, id)
		case fsm.Unchanged:
			noops = append(noops, id)
		}
	}
	return updated, noops, errs, nil
}

// maxIDEcho bounds an id from a request that a message repeats.
const maxIDEcho = 64

func keyNotOwned(id string) *Error {
	return &Error{Kind: NotFound, Type: "resource_not_found_exception", Reason: fmt.Sprintf("no API key owned by requesting user found for ID [%s]", Clip(id, maxIDEcho))}
}

// checkUpdate authorizes and validates an update and returns the event it
// makes (without ids yet) and the distinct ids in request order.
func (s *Service) checkUpdate(c Caller, req UpdateAPIKeyRequest) (fsm.APIKeyUpdatedV2, []string, error) {
	var upd fsm.APIKeyUpdatedV2
	if !s.cfg.APIKeysEnabled {
		return upd, nil, featureDisabled("api keys")
	}
	if c.Auth.key != nil {
		return upd, nil, invalid("authentication via API key not supported: only the owner user can update an API key")
	}
	if action := cmp.Or(req.action, actionAPIKeyUpdate); !s.canManageOwnKeys(c, action) {
		return upd, nil, forbiddenWith(c.Auth, action, []string{"manage_own_api_key", "manage_api_key", "manage_security", "all"})
	}
	ids := dedupe(req.IDs)
	switch {
	case len(ids) == 0:
		return upd, nil, validation("Field [ids] cannot be empty")
	case len(ids) > maxBulkUpdateIDs:
		return upd, nil, validation(fmt.Sprintf("Field [ids] may not contain more than [%d] distinct ids, found [%d]", maxBulkUpdateIDs, len(ids)))
	}
	checked := req.RoleDescriptors
	if req.keyType == keyTypeCrossCluster {
		checked = nil // generated by descriptor(), and valid by construction
	}
	if err := validateUpdate(checked, req.Metadata); err != nil {
		return upd, nil, err
	}
	if req.Expiration != nil {
		e, err := s.expirationMillis(req.Expiration, s.now().UnixMilli())
		if err != nil {
			return upd, nil, err
		}
		upd.Expiration = &e
	}
	if req.Metadata != nil {
		// Compact, so that the same metadata sent again is a no-op.
		var b bytes.Buffer
		if err := json.Compact(&b, *req.Metadata); err != nil {
			return upd, nil, validation("API key metadata must be an object")
		}
		md := json.RawMessage(b.Bytes())
		upd.Metadata = &md
	}
	me := c.Auth.owner()
	upd.RoleDescriptors = req.RoleDescriptors
	upd.LimitedBy, upd.Owner, upd.OwnerRealm = s.limitedBy(c.Auth), me.principal, me.realm
	return upd, ids, nil
}

// validateUpdate checks the new descriptors and metadata of an update, on
// the node that takes the request and again on the leader.
func validateUpdate(rds *map[string]fsm.RoleDescriptor, md *json.RawMessage) error {
	if md != nil {
		if err := checkAPIKeyMetadata(*md); err != nil {
			return validation(err.Error())
		}
	}
	if rds != nil {
		for _, name := range slices.Sorted(maps.Keys(*rds)) {
			if err := ValidateRoleDescriptor((*rds)[name]); err != nil {
				return err
			}
		}
	}
	return nil
}

// dedupe drops repeated ids, keeping the first of each in order.
func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
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
	if err := s.Authorize(c, actionAPIKeyGrant); err != nil {
		return CreatedAPIKey{}, err
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
			return CreatedAPIKey{}, &Error{Kind: Forbidden, Type: "security_exception", Reason: fmt.Sprintf("action [%s] is unauthorized for user [%s] because user [%s] is unauthorized to run as [%s]", actionAPIKeyGrant, user.Username, user.Username, Clip(req.RunAs, maxIDEcho))}
		}
		rec, ok := lookupUser(s.st, req.RunAs)
		if !ok || !rec.enabled {
			return CreatedAPIKey{}, unauthenticated(fmt.Sprintf("unable to authenticate user [%s] for REST request [/_security/api_key/grant]", Clip(req.RunAs, maxIDEcho)), "")
		}
		user = rec.authentication()
	}
	return s.createAPIKey(ctx, c, req.APIKey, creatorOf(user), s.limitedBy(user))
}

// canRunAs reports whether a may act as target. An API key, or a token
// standing for one, never runs as anyone: its user has no roles of its own.
func (s *Service) canRunAs(a *Authentication, target string) bool {
	if a.key != nil {
		return false
	}
	for _, d := range authz.Resolve(s.st, a.Roles).Descriptors {
		if slices.ContainsFunc(d.RunAs, func(p string) bool { return authz.GlobMatch(p, target) }) {
			return true
		}
	}
	return false
}

// ClearAPIKeyCache checks the caller may clear the cache. Verifications are
// not cached across changes (each key's entry is tied to its log index),
// so there is nothing to drop.
func (s *Service) ClearAPIKeyCache(c Caller) error {
	return s.Authorize(c, actionSecurityCacheClear)
}

// nonEmpty is id as a list of ids: none when it is empty.
func nonEmpty(id string) []string {
	if id == "" {
		return nil
	}
	return []string{id}
}

// keyUpdateEvent is the update as version 2, or as version 3 when its
// descriptors grant remote_cluster (which version 2 appliers would drop).
func keyUpdateEvent(upd fsm.APIKeyUpdatedV2) fsm.Payload {
	rds := map[string]fsm.RoleDescriptor{}
	if upd.RoleDescriptors != nil {
		rds = *upd.RoleDescriptors
	}
	if fsm.HasRemoteCluster(rds, upd.LimitedBy) {
		return fsm.APIKeyUpdatedV3(upd)
	}
	return upd
}
