package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/tokenstore/tokenstore/authn"
)

// runAsHeaderKey is the run-as header's canonical key, made once: the
// canonical form of a lower-case name is a new string every time.
var runAsHeaderKey = http.CanonicalHeaderKey(authn.RunAsHeader)

// runAs applies the es-security-runas-user header to an authenticated
// caller: the request then runs as that user, or is refused with
// Elasticsearch's 403 naming the route's action.
func (s *Server) runAs(r *http.Request, c authn.Caller) (authn.Caller, error) {
	values, ok := r.Header[runAsHeaderKey]
	if !ok {
		return c, nil
	}
	target := ""
	if len(values) > 0 {
		target = values[0]
	}
	return s.authn.RunAs(c, target, routeAction(r))
}

// routeAction is the Elasticsearch action a route's request performs, for
// the run-as refusal, which Elasticsearch words per action (and the audit
// log's run_as records); a route without one in the table, which
// TestEveryRouteNamesItsAction forbids, would be named by its template.
func routeAction(r *http.Request) string {
	tpl := r.URL.Path
	if route := mux.CurrentRoute(r); route != nil {
		if t, err := route.GetPathTemplate(); err == nil {
			tpl = t
		}
	}
	if a, ok := actionOf(r.Method, tpl); ok {
		if a == actionTokenCreate && grantType(r) == "refresh_token" {
			return actionTokenRefresh
		}
		return a
	}
	return tpl
}

// The get token route's two actions: Elasticsearch's REST handler sends
// RefreshTokenAction for a refresh_token grant, CreateTokenAction for the
// others.
const (
	actionTokenCreate  = sec + "token/create"
	actionTokenRefresh = sec + "token/refresh"
)

// grantType peeks at a get token body's grant_type, which decides the
// action a run-as is refused for, and puts the body back for the handler.
// The peek reads at most maxBody bytes, as the handler would; a body it
// cannot read names no grant.
func grantType(r *http.Request) string {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(data), r.Body), r.Body}
	var body map[string]any
	if err != nil || len(data) > maxBody || json.Unmarshal(data, &body) != nil {
		return ""
	}
	grant, _ := body["grant_type"].(string)
	return grant
}

// actionOf is the action of a route's method and path template.
func actionOf(method, tpl string) (string, bool) {
	if a, ok := routeActions[method+" "+tpl]; ok {
		return a, true
	}
	a, ok := routeActions[tpl]
	return a, ok
}

const sec = "cluster:admin/xpack/security/"

// The voting-exclusion actions, Elasticsearch's: DELETE clears the list;
// POST adds to it, which is also what removes a member for good.
const (
	actionAddVotingExclusions   = "cluster:admin/voting_config/add_exclusions"
	actionClearVotingExclusions = "cluster:admin/voting_config/clear_exclusions"
)

// routeActions maps "METHOD template" (or a template, for every method)
// to the action the route's request performs: Elasticsearch 8.17's
// transport action where Elasticsearch has the route (the first one its
// REST handler sends, which is where a run-as is refused), tokenstore's
// own action otherwise. TestEveryRouteNamesItsAction walks the router, so
// a route added without its action fails there.
//
// POST /_security/oauth2/token is token/create here, and token/refresh
// for a refresh_token grant (routeAction reads the grant from the body).
var routeActions = map[string]string{
	"/":                "cluster:monitor/main",
	"/_cluster/health": "cluster:monitor/health",
	"/_cat/master":     "cluster:monitor/state",
	"/_cat/nodes":      "cluster:monitor/state",
	"POST /_cluster/voting_config_exclusions":   actionAddVotingExclusions,
	"DELETE /_cluster/voting_config_exclusions": actionClearVotingExclusions,

	"/_tokenstore/backup":                authn.ActionBackup,
	"/_tokenstore/backup/_restore":       authn.ActionRestore,
	"/_tokenstore/stats":                 actionStats,
	"/_prometheus/metrics":               actionMetrics,
	"/_tokenstore/cluster":               actionMembership,
	"/_tokenstore/cluster/{id}/_promote": Promote.Action(),
	"/_tokenstore/cluster/{id}/_demote":  Demote.Action(),
	"DELETE /_tokenstore/cluster/{id}":   Remove.Action(),

	"/_security/_authenticate":                   sec + "user/authenticate",
	"/_security/user/_privileges":                sec + "user/list_privileges",
	"/_security/user/_has_privileges":            sec + "user/has_privileges",
	"/_security/user/{username}/_has_privileges": sec + "user/has_privileges",
	"/_security/user/_password":                  sec + "user/change_password",
	"/_security/user/{username}/_password":       sec + "user/change_password",
	"/_security/user/{username}/_enable":         sec + "user/set_enabled",
	"/_security/user/{username}/_disable":        sec + "user/set_enabled",
	"GET /_security/user":                        sec + "user/get",
	"GET /_security/user/{username}":             sec + "user/get",
	"PUT /_security/user/{username}":             sec + "user/put",
	"POST /_security/user/{username}":            sec + "user/put",
	"DELETE /_security/user/{username}":          sec + "user/delete",
	"/_security/_query/user":                     sec + "user/query",
	"/_security/realm/{realms}/_clear_cache":     sec + "realm/cache/clear",

	"/_security/profile/_activate":       sec + "profile/activate",
	"/_security/profile/_suggest":        sec + "profile/suggest",
	"/_security/profile/_has_privileges": sec + "profile/has_privileges",
	"/_security/profile/{uids}":          sec + "profile/get",
	"/_security/profile/{uid}/_data":     sec + "profile/put/data",
	"/_security/profile/{uid}/_enable":   sec + "profile/set_enabled",
	"/_security/profile/{uid}/_disable":  sec + "profile/set_enabled",

	"GET /_security/role":                 sec + "role/get",
	"POST /_security/role":                sec + "role/bulk_put",
	"DELETE /_security/role":              sec + "role/bulk_delete",
	"DELETE /_security/role/":             sec + "role/bulk_delete",
	"GET /_security/role/{name}":          sec + "role/get",
	"PUT /_security/role/{name}":          sec + "role/put",
	"POST /_security/role/{name}":         sec + "role/put",
	"DELETE /_security/role/{name}":       sec + "role/delete",
	"/_security/role/{name}/_clear_cache": sec + "roles/cache/clear",
	"/_security/_query/role":              sec + "role/query",

	"POST /_security/oauth2/token":   actionTokenCreate,
	"DELETE /_security/oauth2/token": sec + "token/invalidate",

	"POST /_security/api_key":               sec + "api_key/create",
	"PUT /_security/api_key":                sec + "api_key/create",
	"GET /_security/api_key":                sec + "api_key/get",
	"DELETE /_security/api_key":             sec + "api_key/invalidate",
	"/_security/api_key/grant":              sec + "api_key/grant",
	"/_security/api_key/_bulk_update":       sec + "api_key/bulk_update",
	"/_security/api_key/{ids}/_clear_cache": sec + "cache/clear",
	"/_security/api_key/{id}":               sec + "api_key/update",
	"/_security/_query/api_key":             sec + "api_key/query",
	"/_security/cross_cluster/api_key":      sec + "cross_cluster/api_key/create",
	"/_security/cross_cluster/api_key/{id}": sec + "cross_cluster/api_key/update",

	"/_security/service":                                                             sec + "service_account/get",
	"/_security/service/{namespace}":                                                 sec + "service_account/get",
	"/_security/service/{namespace}/{service}":                                       sec + "service_account/get",
	"/_security/service/{namespace}/{service}/credential":                            sec + "service_account/credential/get",
	"/_security/service/{namespace}/{service}/credential/token":                      sec + "service_account/token/create",
	"POST /_security/service/{namespace}/{service}/credential/token/{name}":          sec + "service_account/token/create",
	"PUT /_security/service/{namespace}/{service}/credential/token/{name}":           sec + "service_account/token/create",
	"DELETE /_security/service/{namespace}/{service}/credential/token/{name}":        sec + "service_account/token/delete",
	"/_security/service/{namespace}/{service}/credential/token/{names}/_clear_cache": sec + "cache/clear",

	"/_security/privilege/_builtin":                    sec + "privilege/builtin/get",
	"GET /_security/privilege":                         sec + "privilege/get",
	"GET /_security/privilege/{application}":           sec + "privilege/get",
	"GET /_security/privilege/{application}/{name}":    sec + "privilege/get",
	"DELETE /_security/privilege/{application}/{name}": sec + "privilege/delete",
	"PUT /_security/privilege":                         sec + "privilege/put",
	"POST /_security/privilege":                        sec + "privilege/put",
	"PUT /_security/privilege/":                        sec + "privilege/put",
	"POST /_security/privilege/":                       sec + "privilege/put",
	"/_security/privilege/{application}/_clear_cache":  sec + "privilege/cache/clear",
}
