package authn

import (
	"fmt"
	"slices"
)

// Elasticsearch's cache-clearing actions. Each node runs them on its own
// caches; the API asks every member in turn.
const (
	actionRealmCacheClear     = secPrefix + "realm/cache/clear"
	actionRolesCacheClear     = secPrefix + "roles/cache/clear"
	actionPrivilegeCacheClear = secPrefix + "privilege/cache/clear"
	// actionSecurityCacheClear is Elasticsearch's ClearSecurityCacheAction,
	// which both the API key and the service token cache clears send: under
	// neither api_key/* nor service_account/*, so manage_api_key and
	// manage_service_account do not grant it (manage_security does).
	actionSecurityCacheClear = secPrefix + "cache/clear"
)

// CacheKind names what a cache clear empties.
type CacheKind string

const (
	RealmCache     CacheKind = "realm"
	RoleCache      CacheKind = "role"
	PrivilegeCache CacheKind = "privilege"
)

// cacheActions is the action that authorizes each kind.
var cacheActions = map[CacheKind]string{
	RealmCache: actionRealmCacheClear, RoleCache: actionRolesCacheClear, PrivilegeCache: actionPrivilegeCacheClear,
}

// realmsWithCache are the realms a realm cache clear may name: the users
// of both are verified through s.users.
var realmsWithCache = []string{NativeRealm.Name, ReservedRealm.Name}

// ClearCache empties this node's cache of a kind. For the realm cache,
// names are realms ("_all" or "*": every realm) and usernames, when given,
// limits the clear to those users. Roles and application privileges are
// read from the replicated state at each request, so clearing them checks
// the caller only: there is nothing cached to drop.
func (s *Service) ClearCache(c Caller, kind CacheKind, names, usernames []string) error {
	action, ok := cacheActions[kind]
	if !ok {
		return &Error{Kind: Invalid, Reason: fmt.Sprintf("unknown cache [%s]", Clip(string(kind), maxEcho))}
	}
	if err := s.Authorize(c, action); err != nil {
		return err
	}
	if kind != RealmCache {
		return nil
	}
	for _, n := range names {
		if n != "_all" && n != "*" && !slices.Contains(realmsWithCache, n) {
			return &Error{Kind: Invalid, Reason: fmt.Sprintf("could not find active realm [%s]", Clip(n, maxEcho))}
		}
	}
	if len(usernames) == 0 {
		s.users.clear()
		return nil
	}
	for _, u := range usernames {
		s.users.remove(u)
	}
	return nil
}
