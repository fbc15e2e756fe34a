package console

import (
	"io/fs"
	"net/http"
)

func (c *Console) routes() *http.ServeMux {
	m := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets/static")
	m.Handle("GET "+Prefix+"/static/", http.StripPrefix(Prefix+"/static/", http.FileServerFS(static)))
	m.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
	})
	m.HandleFunc("GET "+Prefix+"/signin", c.handleSignInForm)
	m.HandleFunc("POST "+Prefix+"/signin", c.handleSignIn)
	m.HandleFunc("GET "+Prefix+"/status.json", c.handleStatusJSON)

	page := func(pattern string, h pageFunc) { m.Handle(pattern, c.signedIn(h)) }
	page("GET "+Prefix+"/{$}", c.handleHome)
	page("POST "+Prefix+"/signout", c.handleSignOut)
	page("POST "+Prefix+"/ping", c.handlePing)
	page("GET "+Prefix+"/cluster", c.handleCluster)

	page("GET "+Prefix+"/api-keys", c.handleAPIKeys)
	page("POST "+Prefix+"/api-keys", c.handleCreateAPIKey)
	page("POST "+Prefix+"/api-keys/invalidate", c.handleInvalidateAPIKeys)
	page("GET "+Prefix+"/api-keys/{id}", c.handleAPIKey)
	page("POST "+Prefix+"/api-keys/{id}", c.handleUpdateAPIKey)

	page("GET "+Prefix+"/tokens", c.handleTokens)
	page("POST "+Prefix+"/tokens/invalidate", c.handleInvalidateTokens)

	page("GET "+Prefix+"/service-accounts", c.handleServiceAccounts)
	page("GET "+Prefix+"/service-accounts/{ns}/{svc}", c.handleServiceAccount)
	page("POST "+Prefix+"/service-accounts/{ns}/{svc}/tokens", c.handleCreateServiceToken)
	page("POST "+Prefix+"/service-accounts/{ns}/{svc}/tokens/{name}/delete", c.handleDeleteServiceToken)

	page("GET "+Prefix+"/users", c.handleUsers)
	page("POST "+Prefix+"/users", c.handleSaveUser)
	page("GET "+Prefix+"/users/{name}", c.handleUser)
	page("POST "+Prefix+"/users/{name}/{action}", c.handleUserAction)

	page("GET "+Prefix+"/roles", c.handleRoles)
	page("POST "+Prefix+"/roles", c.handleSaveRole)
	page("GET "+Prefix+"/roles/{name}", c.handleRole)
	page("POST "+Prefix+"/roles/{name}", c.handleUpdateRole)
	page("POST "+Prefix+"/roles/{name}/delete", c.handleDeleteRole)

	m.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		c.render(w, http.StatusNotFound, "error", view{Title: "Not found", Status: http.StatusNotFound, Error: "no console page at " + r.URL.Path})
	})
	return m
}

func (c *Console) handleHome(w http.ResponseWriter, q *request) {
	switch {
	case q.can.Monitor:
		http.Redirect(w, q.Request, Prefix+"/cluster", http.StatusSeeOther)
	case q.can.Keys():
		http.Redirect(w, q.Request, Prefix+"/api-keys", http.StatusSeeOther)
	default:
		v := q.view("Console", "")
		v.Notice = "This user may not use any page of the console."
		c.render(w, http.StatusOK, "error", v)
	}
}
