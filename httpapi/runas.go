package httpapi

import (
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
// the run-as refusal, which Elasticsearch words per action; a route without
// one in the table is named by its path template.
func routeAction(r *http.Request) string {
	tpl := r.URL.Path
	if route := mux.CurrentRoute(r); route != nil {
		if t, err := route.GetPathTemplate(); err == nil {
			tpl = t
		}
	}
	if a, ok := routeActions[r.Method+" "+tpl]; ok {
		return a
	}
	if a, ok := routeActions[tpl]; ok {
		return a
	}
	return tpl
}

const sec = "cluster:admin/xpack/security/"

// routeActions maps "METHOD template" (or a template, for every method)
// to Elasticsearch's action name.
var routeActions = map[string]string{
	"/":                               "cluster:monitor/main",
	"/_cluster/health":                "cluster:monitor/health",
	"/_security/_authenticate":        sec + "user/authenticate",
	"/_security/user/_has_privileges": sec + "user/has_privileges",
	"/_security/user/{username}/_has_privileges":          sec + "user/has_privileges",
	"/_security/user/_password":                           sec + "user/change_password",
	"/_security/user/{username}/_password":                sec + "user/change_password",
	"/_security/user/{username}/_enable":                  sec + "user/set_enabled",
	"/_security/user/{username}/_disable":                 sec + "user/set_enabled",
	"GET /_security/user":                                 sec + "user/get",
	"GET /_security/user/{username}":                      sec + "user/get",
	"PUT /_security/user/{username}":                      sec + "user/put",
	"POST /_security/user/{username}":                     sec + "user/put",
	"DELETE /_security/user/{username}":                   sec + "user/delete",
	"GET /_security/role":                                 sec + "role/get",
	"GET /_security/role/{name}":                          sec + "role/get",
	"PUT /_security/role/{name}":                          sec + "role/put",
	"POST /_security/role/{name}":                         sec + "role/put",
	"DELETE /_security/role/{name}":                       sec + "role/delete",
	"POST /_security/oauth2/token":                        sec + "token/create",
	"DELETE /_security/oauth2/token":                      sec + "token/invalidate",
	"POST /_security/api_key":                             sec + "api_key/create",
	"PUT /_security/api_key":                              sec + "api_key/create",
	"GET /_security/api_key":                              sec + "api_key/get",
	"DELETE /_security/api_key":                           sec + "api_key/invalidate",
	"/_security/api_key/grant":                            sec + "api_key/grant",
	"/_security/api_key/_bulk_update":                     sec + "api_key/update",
	"/_security/api_key/{id}":                             sec + "api_key/update",
	"/_security/_query/api_key":                           sec + "api_key/query",
	"/_security/privilege/_builtin":                       sec + "privilege/builtin/get",
	"GET /_security/privilege":                            sec + "privilege/get",
	"GET /_security/privilege/{application}":              sec + "privilege/get",
	"GET /_security/privilege/{application}/{name}":       sec + "privilege/get",
	"DELETE /_security/privilege/{application}/{name}":    sec + "privilege/delete",
	"PUT /_security/privilege":                            sec + "privilege/put",
	"POST /_security/privilege":                           sec + "privilege/put",
	"GET /_security/service":                              sec + "service_account/get",
	"GET /_security/service/{namespace}":                  sec + "service_account/get",
	"GET /_security/service/{namespace}/{service}":        sec + "service_account/get",
	"/_security/service/{namespace}/{service}/credential": sec + "service_account/credential/get",
}
