package httpapi

import (
	"net/http"

	"github.com/tokenstore/tokenstore/authn"
)

// handleQueryRoles is GET|POST /_security/_query/role (Elasticsearch 8.15).
func (s *Server) handleQueryRoles(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	var req authn.RecordQueryRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	total, roles, sortValues, err := s.authn.QueryRoles(r.Context(), c, req)
	if err != nil {
		return err
	}
	views := make([]any, len(roles))
	for i, role := range roles {
		v := roleView(role.Descriptor)
		v["name"] = role.Name
		if sortValues != nil {
			v["_sort"] = sortValues[i]
		}
		views[i] = v
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"total": total, "count": len(views), "roles": views})
	return nil
}

// handleQueryUsers is GET|POST /_security/_query/user (Elasticsearch
// 8.14). With with_profile_uid, a user that has a profile shows its
// profile_uid, as on GET user.
func (s *Server) handleQueryUsers(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	var req authn.RecordQueryRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	withUID, err := boolParam(r, "with_profile_uid")
	if err != nil {
		return err
	}
	total, users, sortValues, err := s.authn.QueryUsers(r.Context(), c, req)
	if err != nil {
		return err
	}
	views := make([]any, len(users))
	for i, u := range users {
		v := map[string]any{"username": u.Username, "roles": u.Roles, "full_name": u.FullName, "email": u.Email,
			"metadata": u.Metadata, "enabled": u.Enabled}
		if withUID {
			if uid, ok := s.authn.ProfileUIDOf(u.Username); ok {
				v["profile_uid"] = uid
			}
		}
		if sortValues != nil {
			v["_sort"] = sortValues[i]
		}
		views[i] = v
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"total": total, "count": len(views), "users": views})
	return nil
}
