package httpapi

import (
	"net/http"

	"github.com/tokenstore/tokenstore/authn"
)

func (s *Server) handleCreateCrossClusterAPIKey(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	var req authn.CreateCrossClusterAPIKeyRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	created, err := s.authn.CreateCrossClusterAPIKey(r.Context(), c, req)
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, created)
	return nil
}

func (s *Server) handleUpdateCrossClusterAPIKey(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	id, err := pathVar(r, "id")
	if err != nil {
		return err
	}
	var req authn.UpdateCrossClusterAPIKeyRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	updated, err := s.authn.UpdateCrossClusterAPIKey(r.Context(), c, id, req)
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, map[string]bool{"updated": updated})
	return nil
}
