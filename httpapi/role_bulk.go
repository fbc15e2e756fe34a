package httpapi

import (
	"net/http"

	"github.com/tokenstore/tokenstore/authn"
)

type bulkDeleteRolesRequest struct {
	Names []string `json:"names"`
}

type bulkRoleErrors struct {
	Count   int                `json:"count"`
	Details map[string]esCause `json:"details"`
}

// handleBulkDeleteRoles is DELETE /_security/role with {"names": [...]}
// (Elasticsearch 8.15): each list appears only when it has names.
func (s *Server) handleBulkDeleteRoles(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	var req bulkDeleteRolesRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	res, err := s.authn.DeleteRoles(r.Context(), c, req.Names)
	if err != nil {
		return err
	}
	out := map[string]any{}
	if len(res.Deleted) > 0 {
		out["deleted"] = res.Deleted
	}
	if len(res.NotFound) > 0 {
		out["not_found"] = res.NotFound
	}
	if len(res.Errors) > 0 {
		details := make(map[string]esCause, len(res.Errors))
		for name, e := range res.Errors {
			_, details[name] = classify(e)
		}
		out["errors"] = bulkRoleErrors{Count: len(details), Details: details}
	}
	writeJSON(w, r, http.StatusOK, out)
	return nil
}
