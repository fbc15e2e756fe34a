package authz

import (
	"github.com/tokenstore/tokenstore/fsm"
)

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

// Check answers a has_privileges request, already validated, over p;
// apps reads an application's defined privileges, once per application.
func Check(p Permission, username string, req HasPrivilegesRequest, apps func(app string) []*fsm.ApplicationPrivilege) HasPrivilegesResponse {
	resp := HasPrivilegesResponse{Username: username, HasAllRequested: true,
		Cluster: map[string]bool{}, Index: map[string]map[string]bool{}, Application: map[string]map[string]map[string]bool{}}
	record := func(ok bool) bool {
		resp.HasAllRequested = resp.HasAllRequested && ok
		return ok
	}
	for _, c := range req.Cluster {
		resp.Cluster[c] = record(p.HasClusterPrivilege(c))
	}
	for _, ic := range req.Index {
		for _, name := range ic.Names {
			if resp.Index[name] == nil {
				resp.Index[name] = map[string]bool{}
			}
			for _, priv := range ic.Privileges {
				resp.Index[name][priv] = record(p.HasIndexPrivilege(name, priv, ic.AllowRestrictedIndices))
			}
		}
	}
	defined := map[string][]*fsm.ApplicationPrivilege{}
	for _, ac := range req.Application {
		if _, ok := defined[ac.Application]; !ok {
			defined[ac.Application] = apps(ac.Application)
		}
		if resp.Application[ac.Application] == nil {
			resp.Application[ac.Application] = map[string]map[string]bool{}
		}
		for _, r := range ac.Resources {
			if resp.Application[ac.Application][r] == nil {
				resp.Application[ac.Application][r] = map[string]bool{}
			}
			for _, priv := range ac.Privileges {
				resp.Application[ac.Application][r][priv] = record(p.HasApplicationPrivilege(defined[ac.Application], ac.Application, r, priv))
			}
		}
	}
	return resp
}

// Checks is how many answers a has_privileges request asks for.
func Checks(req HasPrivilegesRequest) int {
	n := len(req.Cluster)
	for _, ic := range req.Index {
		n += len(ic.Names) * len(ic.Privileges)
	}
	for _, ac := range req.Application {
		n += len(ac.Resources) * len(ac.Privileges)
	}
	return n
}
