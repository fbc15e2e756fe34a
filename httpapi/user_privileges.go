package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/fsm"
)

// handleGetUserPrivileges is GET /_security/user/_privileges: the
// caller's own privileges.
func (s *Server) handleGetUserPrivileges(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	p, err := s.authn.GetUserPrivileges(c)
	if err != nil {
		return err
	}
	indices := make([]any, len(p.Indices))
	for i, ip := range p.Indices {
		indices[i] = userIndices(ip)
	}
	out := map[string]any{"cluster": p.Cluster, "global": p.Global, "indices": indices,
		"applications": p.Applications, "run_as": p.RunAs}
	if len(p.RemoteIndices) > 0 {
		remote := make([]any, len(p.RemoteIndices))
		for i, rp := range p.RemoteIndices {
			v := userIndices(rp.IndicesPrivileges)
			v["clusters"] = rp.Clusters
			remote[i] = v
		}
		out["remote_indices"] = remote
	}
	writeJSON(w, r, http.StatusOK, out)
	return nil
}

// userIndices is an index privilege as get user privileges writes it:
// field security and query are lists (a user's roles may hold several for
// the same indices), the query as its JSON text.
func userIndices(ip fsm.IndicesPrivileges) map[string]any {
	v := map[string]any{"names": ip.Names, "privileges": ip.Privileges, "allow_restricted_indices": ip.AllowRestrictedIndices}
	if len(ip.FieldSecurity) > 0 && !bytes.Equal(ip.FieldSecurity, []byte("null")) {
		v["field_security"] = []json.RawMessage{ip.FieldSecurity}
	}
	if len(ip.Query) > 0 && !bytes.Equal(ip.Query, []byte("null")) {
		q := string(ip.Query)
		var text string
		if json.Unmarshal(ip.Query, &text) == nil {
			q = text // stored as a string: already the query's text
		}
		v["query"] = []string{q}
	}
	return v
}
