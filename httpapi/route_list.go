package httpapi

import (
	"github.com/gorilla/mux"
)

// Route is one route of the API as the router holds it: a path template
// (or, for a route matched otherwise, its name) and its methods (none:
// any method).
type Route struct {
	Path    string
	Methods []string
}

// Routes lists the routes of the handler Handler built, in the router's
// order, so that tests can hold every route to the API's conventions.
func (s *Server) Routes() []Route { return s.routes }

// listRoutes walks the router.
func listRoutes(r *mux.Router) []Route {
	var out []Route
	r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		methods, _ := route.GetMethods()
		out = append(out, Route{Path: routeTemplate(route), Methods: methods})
		return nil
	})
	return out
}
