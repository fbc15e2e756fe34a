package httpapi

import (
	"net/http"

	"github.com/tokenstore/tokenstore/authn"
)

// handleGetUserPrivileges is GET /_security/user/_privileges: the
// caller's own privileges.
func (s *Server) handleGetUserPrivileges(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	p, err := s.authn.GetUserPrivileges(c)
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, p)
	return nil
}
