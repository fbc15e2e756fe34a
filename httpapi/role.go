package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/fsm"
)

// roleRequest is a role descriptor as clients send it: "index" is an
// alias of "indices".
type roleRequest struct {
	Cluster           []string                     `json:"cluster"`
	Indices           []indicesRequest             `json:"indices"`
	Index             []indicesRequest             `json:"index"`
	Applications      []fsm.ApplicationPrivileges  `json:"applications"`
	RunAs             []string                     `json:"run_as"`
	Metadata          json.RawMessage              `json:"metadata"`
	TransientMetadata json.RawMessage              `json:"transient_metadata"`
	Global            json.RawMessage              `json:"global"`
	Description       *string                      `json:"description"`
	RemoteIndices     []fsm.RemoteIndicesPrivilege `json:"remote_indices"`
	RemoteCluster     []fsm.RemoteClusterPrivilege `json:"remote_cluster"`
}

type indicesRequest struct {
	Names                  stringOrList    `json:"names"`
	Privileges             []string        `json:"privileges"`
	FieldSecurity          json.RawMessage `json:"field_security"`
	Query                  json.RawMessage `json:"query"`
	AllowRestrictedIndices bool            `json:"allow_restricted_indices"`
}

// stringOrList accepts "names": "x" as well as "names": ["x"].
type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

func (rr roleRequest) descriptor() fsm.RoleDescriptor {
	d := fsm.RoleDescriptor{Cluster: orEmpty(rr.Cluster), Applications: rr.Applications, RunAs: orEmpty(rr.RunAs),
		Metadata: rr.Metadata, Global: rr.Global, Description: rr.Description, RemoteIndices: rr.RemoteIndices,
		RemoteCluster: rr.RemoteCluster}
	for _, ip := range append(rr.Indices, rr.Index...) {
		d.Indices = append(d.Indices, fsm.IndicesPrivileges{Names: ip.Names, Privileges: ip.Privileges,
			FieldSecurity: ip.FieldSecurity, Query: ip.Query, AllowRestrictedIndices: ip.AllowRestrictedIndices})
	}
	if d.Indices == nil {
		d.Indices = []fsm.IndicesPrivileges{}
	}
	if d.Applications == nil {
		d.Applications = []fsm.ApplicationPrivileges{}
	}
	if string(d.Metadata) == "null" {
		d.Metadata = nil
	}
	return d
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// roleView renders a descriptor with Elasticsearch's defaults filled in.
func roleView(d fsm.RoleDescriptor) map[string]any {
	md := any(map[string]any{})
	if len(d.Metadata) > 0 {
		md = d.Metadata
	}
	out := map[string]any{
		"cluster": orEmpty(d.Cluster), "indices": d.Indices, "applications": d.Applications,
		"run_as": orEmpty(d.RunAs), "metadata": md, "transient_metadata": map[string]bool{"enabled": true},
	}
	if out["indices"] == nil || len(d.Indices) == 0 {
		out["indices"] = []any{}
	}
	if len(d.Applications) == 0 {
		out["applications"] = []any{}
	}
	if d.Description != nil {
		out["description"] = *d.Description
	}
	if len(d.Global) > 0 {
		out["global"] = d.Global
	}
	if len(d.RemoteIndices) > 0 {
		out["remote_indices"] = d.RemoteIndices
	}
	if len(d.RemoteCluster) > 0 {
		out["remote_cluster"] = d.RemoteCluster
	}
	return out
}

func (s *Server) handlePutRole(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	name, err := pathVar(r, "name")
	if err != nil {
		return err
	}
	var req roleRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	created, err := s.authn.PutRole(r.Context(), c, name, req.descriptor())
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"role": map[string]bool{"created": created}})
	return nil
}

func (s *Server) handleGetRoles(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	names, err := pathVar(r, "name")
	if err != nil {
		return err
	}
	roles, missing, err := s.authn.GetRoles(r.Context(), c, authn.SplitNames(names))
	if err != nil {
		return err
	}
	out := map[string]any{}
	for _, role := range roles {
		out[role.Name] = roleView(role.Descriptor)
	}
	status := http.StatusOK
	if len(missing) > 0 && len(roles) == 0 {
		status = http.StatusNotFound
	}
	writeJSON(w, r, status, out)
	return nil
}

func (s *Server) handleDeleteRole(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	name, err := pathVar(r, "name")
	if err != nil {
		return err
	}
	found, err := s.authn.DeleteRole(r.Context(), c, name)
	if err != nil {
		return err
	}
	writeFound(w, r, found)
	return nil
}
