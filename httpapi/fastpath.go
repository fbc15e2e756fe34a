package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/mux"
)

// staticRoutes is every route without path variables, by path and method,
// where the router itself would choose that route for that method and path
// (checked by asking it): a request to one skips the router's matching and
// the two request copies it makes to carry the route and its variables.
// _authenticate, the hot path, is one.
type staticRoutes map[string]map[string]http.Handler

func newStaticRoutes(r *mux.Router) staticRoutes {
	table := staticRoutes{}
	r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		methods, merr := route.GetMethods()
		h := route.GetHandler()
		if err != nil || merr != nil || h == nil || strings.ContainsAny(tpl, "{%") {
			return nil
		}
		for _, m := range methods {
			var match mux.RouteMatch
			probe := &http.Request{Method: m, URL: &url.URL{Path: tpl}, Header: http.Header{}}
			if !r.Match(probe, &match) || match.Route != route {
				continue // an earlier route takes it: the router decides
			}
			if table[tpl] == nil {
				table[tpl] = map[string]http.Handler{}
			}
			table[tpl][m] = h
		}
		return nil
	})
	return table
}

// serve answers from the table what it holds and sends the rest to next.
// A path with escapes is matched by the router (it matches encoded paths).
func (t staticRoutes) serve(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawPath == "" {
			if h := t[r.URL.Path][r.Method]; h != nil {
				h.ServeHTTP(w, r)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
