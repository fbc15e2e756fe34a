package fsm

import "encoding/json"

// RoleDescriptor is Elasticsearch's role descriptor as stored: the body of
// put role, and each value of an API key's role_descriptors.
type RoleDescriptor struct {
	Cluster           []string                 `json:"cluster"`
	Indices           []IndicesPrivileges      `json:"indices"`
	Applications      []ApplicationPrivileges  `json:"applications"`
	RunAs             []string                 `json:"run_as"`
	Metadata          json.RawMessage          `json:"metadata,omitempty"`
	TransientMetadata json.RawMessage          `json:"transient_metadata,omitempty"`
	Global            json.RawMessage          `json:"global,omitempty"`
	Description       *string                  `json:"description,omitempty"`
	RemoteIndices     []RemoteIndicesPrivilege `json:"remote_indices,omitempty"`
	// RemoteCluster is newer than the first build: an event carrying a
	// descriptor with it is a version older builds do not apply (they
	// would drop it), RolePutV2, APIKeyCreatedV2 or APIKeyUpdatedV3.
	RemoteCluster []RemoteClusterPrivilege `json:"remote_cluster,omitempty"`
}

// withoutRemoteCluster is a descriptor set as a build before remote_cluster
// reads it: the same map when nothing in it has one.
func withoutRemoteCluster(set map[string]RoleDescriptor) map[string]RoleDescriptor {
	if !HasRemoteCluster(set) {
		return set
	}
	out := make(map[string]RoleDescriptor, len(set))
	for name, d := range set {
		d.RemoteCluster = nil
		out[name] = d
	}
	return out
}

// RemoteClusterPrivilege grants cluster privileges on remote clusters.
type RemoteClusterPrivilege struct {
	Privileges []string `json:"privileges"`
	Clusters   []string `json:"clusters"`
}

// HasRemoteCluster reports whether any of the descriptors grants
// remote_cluster privileges: an event carrying one needs the newer version.
func HasRemoteCluster(sets ...map[string]RoleDescriptor) bool {
	for _, set := range sets {
		for _, d := range set {
			if len(d.RemoteCluster) > 0 {
				return true
			}
		}
	}
	return false
}

// IndicesPrivileges grants privileges on index name patterns.
type IndicesPrivileges struct {
	Names                  []string        `json:"names"`
	Privileges             []string        `json:"privileges"`
	FieldSecurity          json.RawMessage `json:"field_security,omitempty"`
	Query                  json.RawMessage `json:"query,omitempty"`
	AllowRestrictedIndices bool            `json:"allow_restricted_indices"`
}

// RemoteIndicesPrivilege is IndicesPrivileges on remote clusters.
type RemoteIndicesPrivilege struct {
	Clusters []string `json:"clusters"`
	IndicesPrivileges
}

// ApplicationPrivileges grants application privileges on resources.
type ApplicationPrivileges struct {
	Application string   `json:"application"`
	Privileges  []string `json:"privileges"`
	Resources   []string `json:"resources"`
}

// Role is a named role descriptor.
type Role struct {
	Name       string         `json:"name"`
	Descriptor RoleDescriptor `json:"descriptor"`
	ModIndex   uint64         `json:"mod_index"`
}

// RolePutV1 creates or replaces a role.
type RolePutV1 struct {
	Name       string         `json:"name"`
	Descriptor RoleDescriptor `json:"descriptor"`
}

// EventType implements Payload.
func (RolePutV1) EventType() (EventType, uint8) { return RolePut, 1 }

// RolePutV2 is RolePutV1 for a descriptor with remote_cluster, which a
// build applying only version 1 would silently drop.
type RolePutV2 RolePutV1

// EventType implements Payload.
func (RolePutV2) EventType() (EventType, uint8) { return RolePut, 2 }

// RoleDeletedV1 removes a role.
type RoleDeletedV1 struct {
	Name string `json:"name"`
}

// EventType implements Payload.
func (RoleDeletedV1) EventType() (EventType, uint8) { return RoleDeleted, 1 }

// RoleDeletedV2 removes several roles at once (bulk delete roles), all or
// none visible: one entry, one result per name in Items.
type RoleDeletedV2 struct {
	Names []string `json:"names"`
}

// EventType implements Payload.
func (RoleDeletedV2) EventType() (EventType, uint8) { return RoleDeleted, 2 }

// applyRolePutV1 keeps no remote_cluster, as the builds before it did: a
// version 1 event must build the same state on every build.
func applyRolePutV1(s *State, index uint64, p RolePutV1) Result {
	p.Descriptor.RemoteCluster = nil
	return putRole(s, index, p)
}

func applyRolePutV2(s *State, index uint64, p RolePutV2) Result {
	return putRole(s, index, RolePutV1(p))
}

func putRole(s *State, index uint64, p RolePutV1) Result {
	_, exists := s.roles[p.Name]
	s.roles[p.Name] = &Role{Name: p.Name, Descriptor: p.Descriptor, ModIndex: index}
	if exists {
		return Result{Status: Updated}
	}
	return Result{Status: Created}
}

func applyRoleDeletedV1(s *State, _ uint64, p RoleDeletedV1) Result {
	return deleteFrom(s.roles, p.Name)
}

func applyRoleDeletedV2(s *State, _ uint64, p RoleDeletedV2) Result {
	res := Result{Status: NotFound, Items: make(map[string]Status, len(p.Names))}
	for _, name := range p.Names {
		res.Items[name] = deleteFrom(s.roles, name).Status
		if res.Items[name] == Deleted {
			res.Status = Deleted
		}
	}
	return res
}

// Role returns the stored role with that name (immutable).
func (s *State) Role(name string) (*Role, bool) {
	s.mu.RLock()
	r, ok := s.roles[name]
	s.mu.RUnlock()
	return r, ok
}

// Roles returns every stored role, ordered by name.
func (s *State) Roles() []*Role {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return sortedValues(s.roles)
}

func (r *Role) recordKey() string { return r.Name }
