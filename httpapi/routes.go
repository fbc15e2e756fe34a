package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/mux"

	"github.com/tokenstore/tokenstore/authn"
)

// handlerFunc is an API handler: it gets the authenticated caller and
// returns an error for writeError, or writes its answer itself.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c authn.Caller) error

// Handler is the API's routes, the internal endpoints nodes call included.
func (s *Server) Handler() http.Handler {
	r := mux.NewRouter()
	// Path cleaning would answer "../" and "//" with redirects; an API must
	// answer them itself.
	r.SkipClean(true)
	r.UseEncodedPath()
	r.NotFoundHandler = http.HandlerFunc(s.noHandler)
	r.MethodNotAllowedHandler = http.HandlerFunc(s.wrongMethod)

	r.Handle(pathFileTokens, s.cluster.RequirePeer(s.authenticated(s.handleLocalFileTokens))).Methods(http.MethodGet)
	r.Handle(pathClearCache, s.cluster.RequirePeer(s.authenticated(s.handleLocalClearCache))).Methods(http.MethodGet)
	prefix, nodeOnly, internal := s.cluster.Internal()
	for _, p := range nodeOnly {
		r.Handle(p, s.nodeOnly(internal))
	}
	r.PathPrefix(prefix + "/").Handler(internal)

	r.MatcherFunc(forwardAuthRoute).HandlerFunc(s.handleForwardAuth).Name("forward_auth")
	api := func(path string, h handlerFunc, methods ...string) {
		r.Handle(path, s.authenticated(h)).Methods(methods...)
	}
	api("/", s.handleRoot, http.MethodGet, http.MethodHead)
	api("/_cluster/health", s.handleHealth, http.MethodGet)
	api("/_cat/master", s.handleCatMaster, http.MethodGet)
	api("/_cat/nodes", s.handleCatNodes, http.MethodGet)
	api("/_cluster/voting_config_exclusions", s.leaderOnly(s.handleAddVotingExclusion), http.MethodPost)
	api("/_cluster/voting_config_exclusions", s.handleClearVotingExclusions, http.MethodDelete)

	api("/_tokenstore/backup", s.streaming(s.handleBackup), http.MethodGet)
	api("/_tokenstore/backup/_restore", s.streaming(s.leaderOnly(s.handleRestore)), http.MethodPost)
	api("/_tokenstore/stats", s.handleStats, http.MethodGet)
	if s.cfg.Metrics != nil {
		api("/_prometheus/metrics", s.handleMetrics, http.MethodGet)
	}
	api("/_tokenstore/cluster", s.handleMembership, http.MethodGet)
	api("/_tokenstore/cluster/{id}/_promote", s.changeMember(Promote), http.MethodPost)
	api("/_tokenstore/cluster/{id}/_demote", s.changeMember(Demote), http.MethodPost)
	api("/_tokenstore/cluster/{id}", s.changeMember(Remove), http.MethodDelete)

	s.securityRoutes(api)

	s.routes = listRoutes(r)
	s.measure(r)
	return s.common(s.unlessHalted(newStaticRoutes(r).serve(r)))
}

// unlessHalted refuses every request, the internal ones included, on a
// node that stopped applying the log: its state is behind the cluster's
// for good, and its peers must treat it as gone (fence it).
func (s *Server) unlessHalted(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.cluster.Halted(); err != nil {
			s.writeError(w, r, &authn.Error{Kind: authn.Unavailable, Reason: err.Error()})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// securityRoutes are Elasticsearch's _security API, in matching order.
func (s *Server) securityRoutes(api func(path string, h handlerFunc, methods ...string)) {
	api("/_security/_authenticate", s.handleAuthenticate, http.MethodGet)
	s.routesSince815(api) // before /_security/user/{username}, which would take _privileges

	api("/_security/user/_has_privileges", s.handleHasPrivileges, http.MethodGet, http.MethodPost)
	api("/_security/user/_password", s.handleChangePassword, http.MethodPut, http.MethodPost)
	api("/_security/user", s.handleGetUsers, http.MethodGet)
	api("/_security/user/{username}", s.handleGetUsers, http.MethodGet)
	api("/_security/user/{username}", s.handlePutUser, http.MethodPut, http.MethodPost)
	api("/_security/user/{username}", s.handleDeleteUser, http.MethodDelete)
	api("/_security/user/{username}/_enable", s.handleEnableUser, http.MethodPut, http.MethodPost)
	api("/_security/user/{username}/_disable", s.handleDisableUser, http.MethodPut, http.MethodPost)
	api("/_security/user/{username}/_password", s.handleChangePassword, http.MethodPut, http.MethodPost)
	api("/_security/user/{username}/_has_privileges", s.handleHasPrivileges, http.MethodGet, http.MethodPost)
	api("/_security/profile/_activate", s.handleActivateProfile, http.MethodPost)
	api("/_security/profile/_suggest", s.handleSuggestProfiles, http.MethodGet, http.MethodPost)
	api("/_security/profile/_has_privileges", s.handleProfileHasPrivileges, http.MethodGet, http.MethodPost)
	api("/_security/profile/{uids}", s.handleGetProfiles, http.MethodGet)
	api("/_security/profile/{uid}/_data", s.handleUpdateProfileData, http.MethodPut, http.MethodPost)
	api("/_security/profile/{uid}/_enable", s.handleEnableProfile, http.MethodPut, http.MethodPost)
	api("/_security/profile/{uid}/_disable", s.handleDisableProfile, http.MethodPut, http.MethodPost)

	api("/_security/role", s.handleGetRoles, http.MethodGet)
	api("/_security/role", s.handleBulkDeleteRoles, http.MethodDelete)
	api("/_security/role/", s.handleBulkDeleteRoles, http.MethodDelete)
	api("/_security/role/{name}", s.handleGetRoles, http.MethodGet)
	api("/_security/role/{name}", s.handlePutRole, http.MethodPut, http.MethodPost)
	api("/_security/role/{name}", s.handleDeleteRole, http.MethodDelete)

	api("/_security/oauth2/token", s.handleGetToken, http.MethodPost)
	api("/_security/oauth2/token", s.handleInvalidateToken, http.MethodDelete)

	api("/_security/api_key", s.handleCreateAPIKey, http.MethodPost, http.MethodPut)
	api("/_security/api_key", s.handleGetAPIKeys, http.MethodGet)
	api("/_security/api_key", s.handleInvalidateAPIKeys, http.MethodDelete)
	api("/_security/api_key/grant", s.handleGrantAPIKey, http.MethodPost)
	api("/_security/api_key/_bulk_update", s.handleBulkUpdateAPIKeys, http.MethodPost)
	api("/_security/api_key/{ids}/_clear_cache", s.handleClearAPIKeyCache, http.MethodPost)
	api("/_security/api_key/{id}", s.handleUpdateAPIKey, http.MethodPut)
	api("/_security/_query/api_key", s.handleQueryAPIKeys, http.MethodGet, http.MethodPost)
	api("/_security/cross_cluster/api_key", s.handleCreateCrossClusterAPIKey, http.MethodPost)
	api("/_security/cross_cluster/api_key/{id}", s.handleUpdateCrossClusterAPIKey, http.MethodPut)

	api("/_security/service", s.handleGetServiceAccounts, http.MethodGet)
	api("/_security/service/{namespace}", s.handleGetServiceAccounts, http.MethodGet)
	api("/_security/service/{namespace}/{service}", s.handleGetServiceAccounts, http.MethodGet)
	api("/_security/service/{namespace}/{service}/credential", s.handleGetServiceCredentials, http.MethodGet)
	api("/_security/service/{namespace}/{service}/credential/token", s.handleCreateServiceToken, http.MethodPost)
	api("/_security/service/{namespace}/{service}/credential/token/{name}", s.handleCreateServiceToken, http.MethodPost, http.MethodPut)
	api("/_security/service/{namespace}/{service}/credential/token/{name}", s.handleDeleteServiceToken, http.MethodDelete)
	api("/_security/service/{namespace}/{service}/credential/token/{names}/_clear_cache", s.handleClearServiceTokenCache, http.MethodPost)

	api("/_security/privilege/_builtin", s.handleBuiltinPrivileges, http.MethodGet)
	api("/_security/privilege", s.handlePutPrivileges, http.MethodPut, http.MethodPost)
	api("/_security/privilege/", s.handlePutPrivileges, http.MethodPut, http.MethodPost)
	api("/_security/privilege", s.handleGetPrivileges, http.MethodGet)
	api("/_security/privilege/{application}", s.handleGetPrivileges, http.MethodGet)
	api("/_security/privilege/{application}/{name}", s.handleGetPrivileges, http.MethodGet)
	api("/_security/privilege/{application}/{name}", s.handleDeletePrivileges, http.MethodDelete)
}

// common sets what every response carries and refuses bodies in a media
// type Elasticsearch would not take.
// elasticProduct is the X-Elastic-Product header's value, shared by every
// answer (see contentTypeJSON).
var elasticProduct = []string{"Elasticsearch"}

func (s *Server) common(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["X-Elastic-Product"] = elasticProduct
		// A proxy passes the client's Content-Type on to forward-auth,
		// which reads no body.
		if !contentTypeOK(r) && !isForwardAuth(r.URL.EscapedPath()) {
			writeJSON(w, r, http.StatusNotAcceptable, map[string]any{
				"error":  fmt.Sprintf("Content-Type header [%s] is not supported", r.Header.Get("Content-Type")),
				"status": http.StatusNotAcceptable,
			})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authenticated authenticates the request locally, and applies the run-as
// header, before the handler runs.
func (s *Server) authenticated(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authn.AuthenticateRequest(r)
		if err == nil {
			c, err = s.runAs(r, c)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := h(w, r, c); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// nodeOnly guards the internal endpoints only nodes call. With transport
// TLS the node certificate was checked (Cluster.RequirePeer); without, the
// caller must show a credential with the privilege joining needs, which is
// what a node sends (its join credential).
func (s *Server) nodeOnly(next http.Handler) http.Handler {
	if s.cfg.PeersVerified {
		return next
	}
	return s.authenticated(func(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
		if err := s.authn.Authorize(c, authn.ActionJoin); err != nil {
			return err
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

// streaming gives a backup or restore, whose bodies have no size limit,
// tokenstore.http.stream_timeout instead of the request timeout.
func (s *Server) streaming(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
		rc := http.NewResponseController(w)
		deadline := time.Now().Add(s.cfg.StreamTimeout)
		rc.SetReadDeadline(deadline)
		rc.SetWriteDeadline(deadline)
		return h(w, r, c)
	}
}

// leaderOnly passes a request on to the leader, as it came, when the
// handler's operation says only the leader carries it out: the leader
// authenticates and authorizes it again.
func (s *Server) leaderOnly(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
		if err := h(w, r, c); !errors.Is(err, ErrLeaderOnly) {
			return err
		}
		return s.cluster.ForwardToLeader(w, r)
	}
}

// actionStats is under cluster:monitor/*, so the monitor privilege grants
// it: the counters name no credential.
const actionStats = "cluster:monitor/tokenstore/stats"

// handleStats reports this node's counters; they are node-local, like the
// throttle they describe.
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	if err := s.authn.Authorize(c, actionStats); err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"authentication": s.authn.AuthenticationStats()})
	return nil
}

func (s *Server) noHandler(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, badRequest("illegal_argument_exception",
		fmt.Sprintf("no handler found for uri [%s] and method [%s]", authn.Clip(r.URL.EscapedPath(), 256), authn.Clip(r.Method, 32))))
}

func (s *Server) wrongMethod(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, &httpError{status: http.StatusMethodNotAllowed, typ: "illegal_argument_exception",
		reason: fmt.Sprintf("Incorrect HTTP method for uri [%s] and method [%s]", authn.Clip(r.URL.EscapedPath(), 256), authn.Clip(r.Method, 32))})
}

// pathVar returns a path parameter, unescaped (routes match encoded paths).
func pathVar(r *http.Request, name string) (string, error) {
	v := mux.Vars(r)[name]
	u, err := url.PathUnescape(v)
	if err != nil {
		return "", badRequest("illegal_argument_exception", "invalid escape in path parameter ["+name+"]")
	}
	return u, nil
}
