package httpapi

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/fsm"
)

type privilegeRequest struct {
	Application *string         `json:"application"`
	Name        *string         `json:"name"`
	Actions     []string        `json:"actions"`
	Metadata    json.RawMessage `json:"metadata"`
}

func (s *Server) handlePutPrivileges(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	var req map[string]map[string]privilegeRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	var privs []fsm.ApplicationPrivilege
	for _, app := range slices.Sorted(maps.Keys(req)) {
		for _, name := range slices.Sorted(maps.Keys(req[app])) {
			p := req[app][name]
			if (p.Application != nil && *p.Application != app) || (p.Name != nil && *p.Name != name) {
				return badRequest("illegal_argument_exception", "privilege ["+app+"/"+name+"] has a mismatched application or name")
			}
			md := p.Metadata
			if string(md) == "null" {
				md = nil
			}
			privs = append(privs, fsm.ApplicationPrivilege{Application: app, Name: name, Actions: p.Actions, Metadata: md})
		}
	}
	created, err := s.authn.PutApplicationPrivileges(r.Context(), c, privs)
	if err != nil {
		return err
	}
	out := map[string]map[string]map[string]bool{}
	for _, p := range privs {
		if out[p.Application] == nil {
			out[p.Application] = map[string]map[string]bool{}
		}
		out[p.Application][p.Name] = map[string]bool{"created": created[p.Application+"/"+p.Name]}
	}
	writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) handleGetPrivileges(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	app, err := pathVar(r, "application")
	if err != nil {
		return err
	}
	names, err := pathVar(r, "name")
	if err != nil {
		return err
	}
	privs, err := s.authn.GetApplicationPrivileges(r.Context(), c, app, authn.SplitNames(names))
	if err != nil {
		return err
	}
	out := map[string]map[string]any{}
	for _, p := range privs {
		if out[p.Application] == nil {
			out[p.Application] = map[string]any{}
		}
		md := any(map[string]any{})
		if len(p.Metadata) > 0 {
			md = p.Metadata
		}
		out[p.Application][p.Name] = map[string]any{"application": p.Application, "name": p.Name, "actions": p.Actions, "metadata": md}
	}
	status := http.StatusOK
	if len(privs) == 0 && (app != "" || names != "") {
		status = http.StatusNotFound
	}
	writeJSON(w, r, status, out)
	return nil
}

func (s *Server) handleDeletePrivileges(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	app, err := pathVar(r, "application")
	if err != nil {
		return err
	}
	names, err := pathVar(r, "name")
	if err != nil {
		return err
	}
	found, err := s.authn.DeleteApplicationPrivileges(r.Context(), c, app, authn.SplitNames(names))
	if err != nil {
		return err
	}
	status, inner := http.StatusNotFound, map[string]any{}
	for n, f := range found {
		inner[n] = map[string]bool{"found": f}
		if f {
			status = http.StatusOK
		}
	}
	writeJSON(w, r, status, map[string]any{app: inner})
	return nil
}

func (s *Server) handleBuiltinPrivileges(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	if err := s.authn.Authorize(c, "cluster:admin/xpack/security/privilege/builtin/get"); err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, map[string][]string{"cluster": authn.ClusterPrivilegeNames(),
		"index": authn.IndexPrivilegeNames(), "remote_cluster": authn.RemoteClusterPrivilegeNames()})
	return nil
}
