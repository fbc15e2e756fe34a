package httpapi

import (
	"net/http"

	"github.com/tokenstore/tokenstore/authn"
)

// routesSince815 adds the security routes Elasticsearch 8.15 to 8.17 have
// and the first builds of this API lacked (issue 14): get user privileges,
// the cache clears that run on every node, bulk put roles, query roles and
// query users.
func (s *Server) routesSince815(api func(path string, h handlerFunc, methods ...string)) {
	api("/_security/user/_privileges", s.handleGetUserPrivileges, http.MethodGet)
	api("/_security/role", s.handleBulkPutRoles, http.MethodPost)
	api("/_security/role/{name}/_clear_cache", s.clearCache(authn.RoleCache, "name"), http.MethodPost)
	api("/_security/realm/{realms}/_clear_cache", s.clearCache(authn.RealmCache, "realms"), http.MethodPost)
	api("/_security/privilege/{application}/_clear_cache", s.clearCache(authn.PrivilegeCache, "application"), http.MethodPost)
	api("/_security/_query/role", s.handleQueryRoles, http.MethodGet, http.MethodPost)
	api("/_security/_query/user", s.handleQueryUsers, http.MethodGet, http.MethodPost)
}
