package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/mux"
)

// The static table answers exactly what the router would: a static route
// an earlier pattern shadows stays with the router, as do other methods
// and escaped paths.
func TestStaticRoutesAgreeWithTheRouter(t *testing.T) {
	r := mux.NewRouter()
	r.UseEncodedPath()
	answer := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(name)) })
	}
	r.Handle("/a/{x}", answer("pattern")).Methods(http.MethodGet)
	r.Handle("/a/b", answer("shadowed")).Methods(http.MethodGet, http.MethodPut)
	r.Handle("/c", answer("static")).Methods(http.MethodGet)
	r.PathPrefix("/p/").Handler(answer("prefix"))
	table := newStaticRoutes(r)
	if table["/c"][http.MethodGet] == nil || table["/a/b"][http.MethodPut] == nil {
		t.Fatalf("static routes missing from %v", table)
	}
	if table["/a/b"][http.MethodGet] != nil || table["/p/"] != nil {
		t.Fatalf("a route the router gives elsewhere is in the table: %v", table)
	}
	h := table.serve(r)
	for _, tc := range []struct{ method, target, want string }{
		{http.MethodGet, "/c", "static"},
		{http.MethodGet, "/a/b", "pattern"},
		{http.MethodPut, "/a/b", "shadowed"},
		{http.MethodGet, "/%63", ""}, // escaped: the router, which matches encoded paths, has no such route
		{http.MethodGet, "/p/c", "prefix"},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.target, nil))
		if got := w.Body.String(); got != tc.want && !(tc.want == "" && w.Code == http.StatusNotFound) {
			t.Errorf("%s %s: %d %q, want %q", tc.method, tc.target, w.Code, got, tc.want)
		}
	}
}
