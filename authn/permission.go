package authn

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/tokenstore/tokenstore/fsm"
)

// builtinRoles are Elasticsearch's reserved roles that this service has.
// They cannot be written or deleted through the API.
var builtinRoles = map[string]fsm.RoleDescriptor{
	"superuser": {
		Cluster:      []string{"all"},
		Indices:      []fsm.IndicesPrivileges{{Names: []string{"*"}, Privileges: []string{"all"}, AllowRestrictedIndices: true}},
		Applications: []fsm.ApplicationPrivileges{{Application: "*", Privileges: []string{"*"}, Resources: []string{"*"}}},
		RunAs:        []string{"*"},
		Metadata:     json.RawMessage(`{"_reserved":true}`),
	},
	"kibana_system": {
		Cluster: []string{"monitor", "manage_index_templates", "manage_saml", "manage_token", "manage_oidc",
			"manage_pipeline", "manage_ilm", "manage_own_api_key", "grant_api_key", "delegate_pki",
			secPrefix + "api_key/invalidate", secPrefix + "privilege/builtin/get", "cancel_task"},
		Indices:  []fsm.IndicesPrivileges{{Names: []string{".kibana*", ".reporting-*"}, Privileges: []string{"all"}, AllowRestrictedIndices: true}},
		Metadata: json.RawMessage(`{"_reserved":true}`),
	},
	"logstash_system":             {Cluster: []string{"monitor", "cluster:admin/xpack/monitoring/bulk"}, Metadata: json.RawMessage(`{"_reserved":true}`)},
	"beats_system":                {Cluster: []string{"monitor", "cluster:admin/xpack/monitoring/bulk"}, Metadata: json.RawMessage(`{"_reserved":true}`)},
	"apm_system":                  {Cluster: []string{"monitor", "cluster:admin/xpack/monitoring/bulk"}, Metadata: json.RawMessage(`{"_reserved":true}`)},
	"remote_monitoring_collector": {Cluster: []string{"monitor"}, Indices: []fsm.IndicesPrivileges{{Names: []string{"*"}, Privileges: []string{"monitor"}, AllowRestrictedIndices: true}}, Metadata: json.RawMessage(`{"_reserved":true}`)},
	"remote_monitoring_agent":     {Cluster: []string{"manage_index_templates", "manage_ingest_pipelines", "monitor", "cluster:monitor/xpack/watcher/watch/get", "cluster:admin/xpack/watcher/watch/put", "cluster:admin/xpack/watcher/watch/delete"}, Indices: []fsm.IndicesPrivileges{{Names: []string{".monitoring-*", "metricbeat-*"}, Privileges: []string{"all"}}}, Metadata: json.RawMessage(`{"_reserved":true}`)},
	"viewer":                      {Indices: []fsm.IndicesPrivileges{{Names: []string{"*"}, Privileges: []string{"read", "view_index_metadata"}}}, Metadata: json.RawMessage(`{"_reserved":true}`)},
	"editor":                      {Indices: []fsm.IndicesPrivileges{{Names: []string{"*"}, Privileges: []string{"read", "view_index_metadata", "write"}}}, Metadata: json.RawMessage(`{"_reserved":true}`)},
	"monitoring_user":             {Cluster: []string{"cluster:monitor/main"}, Indices: []fsm.IndicesPrivileges{{Names: []string{".monitoring-*"}, Privileges: []string{"read", "read_cross_cluster"}}}, Metadata: json.RawMessage(`{"_reserved":true}`)},
}

// IsReservedRole reports whether a role name belongs to a built-in role.
func IsReservedRole(name string) bool {
	_, ok := builtinRoles[name]
	return ok
}

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

// resolvePermission turns role names into descriptors from the built-in
// roles and the state; unknown names grant nothing, as in Elasticsearch.
func resolvePermission(st *fsm.State, roles []string) Permission {
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
			if !slices.ContainsFunc(ip.Names, func(n string) bool { return globMatch(n, index) }) {
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
// their actions through the stored application privileges.
func (p Permission) HasApplicationPrivilege(st *fsm.State, app, resource, privilege string) bool {
	return p.hasApplicationPrivilegeIn(st.ApplicationPrivileges(app), app, resource, privilege)
}

// hasApplicationPrivilegeIn is HasApplicationPrivilege over the privileges
// already read for app, so that many checks read the state once.
func (p Permission) hasApplicationPrivilegeIn(defined []*fsm.ApplicationPrivilege, app, resource, privilege string) bool {
	return p.within(p.hasApplicationPrivilege(defined, app, resource, privilege), func(l Permission) bool {
		return l.hasApplicationPrivilegeIn(defined, app, resource, privilege)
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
			if !globMatch(ap.Application, app) || !slices.ContainsFunc(ap.Resources, func(r string) bool { return globMatch(r, resource) }) {
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
		if !slices.ContainsFunc(granted, func(g string) bool { return globMatch(g, r) }) {
			return false
		}
	}
	return len(granted) > 0
}

func isApplicationAction(s string) bool { return strings.ContainsAny(s, "/:*") }

// ValidateRoleDescriptor checks the privilege names of a descriptor as
// Elasticsearch does on put role.
func ValidateRoleDescriptor(d fsm.RoleDescriptor) error {
	for _, c := range d.Cluster {
		if !validClusterEntry(c) {
			return invalid("unknown cluster privilege [%s]. a privilege must be either one of the predefined cluster privilege names [%s] or a pattern over one of the available cluster actions",
				c, strings.Join(ClusterPrivilegeNames(), ","))
		}
	}
	for _, ip := range d.Indices {
		if len(ip.Names) == 0 {
			return validation("indices privileges must refer to at least one index name or index name pattern")
		}
		if len(ip.Privileges) == 0 {
			return validation("indices privileges must define at least one privilege")
		}
		for _, priv := range ip.Privileges {
			if !validIndexPrivilege(priv) {
				return invalid("unknown index privilege [%s]. a privilege must be either one of the predefined fixed indices privileges [%s] or a pattern over one of the available index actions",
					priv, strings.Join(IndexPrivilegeNames(), ","))
			}
		}
	}
	for _, ap := range d.Applications {
		if ap.Application == "" {
			return validation("an application name is required")
		}
		if len(ap.Resources) == 0 {
			return validation("an application privilege must define at least one resource")
		}
	}
	if err := checkMetadataKeys(d.Metadata); err != nil {
		return err
	}
	return nil
}

// IndexPrivilegeNames lists the predefined index privileges, sorted.
func IndexPrivilegeNames() []string { return sortedKeysOf(indexPrivilegeImplies) }

// checkMetadataKeys refuses top-level metadata keys starting with "_",
// which Elasticsearch reserves.
func checkMetadataKeys(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return invalid("metadata must be an object")
	}
	for k := range m {
		if strings.HasPrefix(k, "_") {
			return validation("metadata keys may not start with [_]")
		}
	}
	return nil
}

func sortedKeysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
