package authz

import (
	"slices"
	"strings"

	"github.com/tokenstore/tokenstore/fsm"
)

// Permission is the union of a set of role descriptors, optionally
// intersected with a Limit: an API key may do only what both its own
// descriptors and its owner's snapshot (limited_by) allow.
type Permission struct {
	Roles       []string // the role names, for messages
	Descriptors []fsm.RoleDescriptor
	Limit       *Permission
}

// within applies the limit to a check of the unlimited permission.
func (p Permission) within(own bool, check func(Permission) bool) bool {
	return own && (p.Limit == nil || check(*p.Limit))
}

// RoleSource is where role names not built in are looked up: the state.
type RoleSource interface {
	Role(name string) (*fsm.Role, bool)
}

// Resolve turns role names into descriptors from the built-in
// roles and st; unknown names grant nothing, as in Elasticsearch.
func Resolve(st RoleSource, roles []string) Permission {
	p := Permission{Roles: roles}
	for _, name := range roles {
		if d, ok := builtinRoles[name]; ok {
			p.Descriptors = append(p.Descriptors, d)
		} else if r, ok := st.Role(name); ok {
			p.Descriptors = append(p.Descriptors, r.Descriptor)
		}
	}
	return p
}

// AllowsCluster reports whether any descriptor grants the cluster action.
func (p Permission) AllowsCluster(action string) bool {
	own := false
	for _, d := range p.Descriptors {
		for _, c := range d.Cluster {
			if clusterEntryGrants(c, action) {
				own = true
			}
		}
	}
	return p.within(own, func(l Permission) bool { return l.AllowsCluster(action) })
}

// HasClusterPrivilege reports whether a requested cluster privilege (a
// name or an action pattern) is wholly granted. A named privilege is granted
// when a role holds it or a privilege that covers all of its actions.
func (p Permission) HasClusterPrivilege(requested string) bool {
	return p.within(p.hasClusterPrivilege(requested), func(l Permission) bool { return l.HasClusterPrivilege(requested) })
}

func (p Permission) hasClusterPrivilege(requested string) bool {
	req, named := clusterPrivilegeByName[requested]
	for _, d := range p.Descriptors {
		for _, c := range d.Cluster {
			if c == requested || c == "all" {
				return true
			}
			if !named {
				if clusterEntryGrants(c, requested) {
					return true
				}
				continue
			}
			if len(req.grants) > 0 && allCovered(req.grants, c) {
				return true
			}
		}
	}
	return false
}

func allCovered(patterns []string, entry string) bool {
	for _, g := range patterns {
		if !clusterEntryGrants(entry, g) {
			return false
		}
	}
	return true
}

// HasIndexPrivilege reports whether a requested privilege on an index name
// or pattern is granted by one index entry covering the whole name.
func (p Permission) HasIndexPrivilege(index, privilege string, allowRestricted bool) bool {
	return p.within(p.hasIndexPrivilege(index, privilege, allowRestricted), func(l Permission) bool {
		return l.HasIndexPrivilege(index, privilege, allowRestricted)
	})
}

func (p Permission) hasIndexPrivilege(index, privilege string, allowRestricted bool) bool {
	restricted := strings.HasPrefix(index, ".security")
	for _, d := range p.Descriptors {
		for _, ip := range d.Indices {
			if restricted && !ip.AllowRestrictedIndices && !allowRestricted {
				continue
			}
			if !slices.ContainsFunc(ip.Names, func(n string) bool { return GlobMatch(n, index) }) {
				continue
			}
			if slices.ContainsFunc(ip.Privileges, func(g string) bool { return indexPrivilegeCovers(g, privilege) }) {
				return true
			}
		}
	}
	return false
}

// HasApplicationPrivilege reports whether a privilege (a name or an action)
// of an application on a resource is granted. Named privileges resolve to
// their actions through defined, the application's stored privileges, read
// once by the caller for many checks.
func (p Permission) HasApplicationPrivilege(defined []*fsm.ApplicationPrivilege, app, resource, privilege string) bool {
	return p.within(p.hasApplicationPrivilege(defined, app, resource, privilege), func(l Permission) bool {
		return l.HasApplicationPrivilege(defined, app, resource, privilege)
	})
}

func (p Permission) hasApplicationPrivilege(defined []*fsm.ApplicationPrivilege, app, resource, privilege string) bool {
	actionsOf := func(name string) []string {
		for _, d := range defined {
			if d.Name == name {
				return d.Actions
			}
		}
		return nil
	}
	requested := []string{privilege}
	if !isApplicationAction(privilege) {
		if requested = actionsOf(privilege); len(requested) == 0 {
			requested = []string{privilege}
		}
	}
	var granted []string
	for _, d := range p.Descriptors {
		for _, ap := range d.Applications {
			if !GlobMatch(ap.Application, app) || !slices.ContainsFunc(ap.Resources, func(r string) bool { return GlobMatch(r, resource) }) {
				continue
			}
			for _, g := range ap.Privileges {
				if g == "*" || g == privilege {
					return true
				}
				if isApplicationAction(g) {
					granted = append(granted, g)
				} else {
					granted = append(granted, actionsOf(g)...)
				}
			}
		}
	}
	for _, r := range requested {
		if !slices.ContainsFunc(granted, func(g string) bool { return GlobMatch(g, r) }) {
			return false
		}
	}
	return len(granted) > 0
}

func isApplicationAction(s string) bool { return strings.ContainsAny(s, "/:*") }
