package authn

import (
	"fmt"

	"github.com/tokenstore/tokenstore/fsm"
)

// maxPrivilegeChecks bounds one has_privileges request: every caller may
// ask about its own privileges, so the answer's size and the work behind it
// are capped rather than left to grow with the product of names and
// privileges.
const maxPrivilegeChecks = 50_000

// maxEcho is how much of a caller's input an error message repeats.
const maxEcho = 256

// HasPrivilegesRequest is the body of has_privileges.
type HasPrivilegesRequest struct {
	Cluster     []string                     `json:"cluster,omitempty"`
	Index       []IndexPrivilegesCheck       `json:"index,omitempty"`
	Application []ApplicationPrivilegesCheck `json:"application,omitempty"`
}

// IndexPrivilegesCheck asks about privileges on index names.
type IndexPrivilegesCheck struct {
	Names                  []string `json:"names"`
	Privileges             []string `json:"privileges"`
	AllowRestrictedIndices bool     `json:"allow_restricted_indices,omitempty"`
}

// ApplicationPrivilegesCheck asks about application privileges on resources.
type ApplicationPrivilegesCheck struct {
	Application string   `json:"application"`
	Resources   []string `json:"resources"`
	Privileges  []string `json:"privileges"`
}

// HasPrivilegesResponse is has_privileges' answer.
type HasPrivilegesResponse struct {
	Username        string                                `json:"username"`
	HasAllRequested bool                                  `json:"has_all_requested"`
	Cluster         map[string]bool                       `json:"cluster"`
	Index           map[string]map[string]bool            `json:"index"`
	Application     map[string]map[string]map[string]bool `json:"application"`
}

// HasPrivileges checks the caller's own privileges.
func (s *Service) HasPrivileges(c Caller, req HasPrivilegesRequest) (HasPrivilegesResponse, error) {
	if len(req.Cluster) == 0 && len(req.Index) == 0 && len(req.Application) == 0 {
		return HasPrivilegesResponse{}, validation("must specify at least one privilege")
	}
	for _, ic := range req.Index {
		if len(ic.Names) == 0 || len(ic.Privileges) == 0 {
			return HasPrivilegesResponse{}, validation("indices privileges must refer to at least one index name and one privilege")
		}
	}
	if n := privilegeChecks(req); n > maxPrivilegeChecks {
		return HasPrivilegesResponse{}, validation(fmt.Sprintf("has_privileges asks for [%d] checks, more than the limit of [%d]", n, maxPrivilegeChecks))
	}
	perm := s.Permission(c)
	resp := HasPrivilegesResponse{Username: c.Auth.Username, HasAllRequested: true,
		Cluster: map[string]bool{}, Index: map[string]map[string]bool{}, Application: map[string]map[string]map[string]bool{}}
	record := func(ok bool) bool {
		resp.HasAllRequested = resp.HasAllRequested && ok
		return ok
	}
	for _, p := range req.Cluster {
		if !validClusterEntry(p) {
			return HasPrivilegesResponse{}, invalid("unknown cluster privilege [%s]", clip(p, maxEcho))
		}
		resp.Cluster[p] = record(perm.HasClusterPrivilege(p))
	}
	for _, ic := range req.Index {
		for _, name := range ic.Names {
			if resp.Index[name] == nil {
				resp.Index[name] = map[string]bool{}
			}
			for _, p := range ic.Privileges {
				if !validIndexPrivilege(p) {
					return HasPrivilegesResponse{}, invalid("unknown index privilege [%s]", clip(p, maxEcho))
				}
				resp.Index[name][p] = record(perm.HasIndexPrivilege(name, p, ic.AllowRestrictedIndices))
			}
		}
	}
	defined := map[string][]*fsm.ApplicationPrivilege{}
	for _, ac := range req.Application {
		if ac.Application == "" {
			return HasPrivilegesResponse{}, validation("application must not be empty")
		}
		if _, ok := defined[ac.Application]; !ok {
			defined[ac.Application] = s.st.ApplicationPrivileges(ac.Application)
		}
		if resp.Application[ac.Application] == nil {
			resp.Application[ac.Application] = map[string]map[string]bool{}
		}
		for _, r := range ac.Resources {
			if resp.Application[ac.Application][r] == nil {
				resp.Application[ac.Application][r] = map[string]bool{}
			}
			for _, p := range ac.Privileges {
				resp.Application[ac.Application][r][p] = record(perm.hasApplicationPrivilegeIn(defined[ac.Application], ac.Application, r, p))
			}
		}
	}
	return resp, nil
}

// privilegeChecks is how many answers a has_privileges request asks for.
func privilegeChecks(req HasPrivilegesRequest) int {
	n := len(req.Cluster)
	for _, ic := range req.Index {
		n += len(ic.Names) * len(ic.Privileges)
	}
	for _, ac := range req.Application {
		n += len(ac.Resources) * len(ac.Privileges)
	}
	return n
}
