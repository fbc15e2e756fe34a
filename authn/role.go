package authn

import (
	"context"
	"fmt"

	"github.com/tokenstore/tokenstore/authn/authz"
	"github.com/tokenstore/tokenstore/fsm"
)

const (
	actionRolePut    = secPrefix + "role/put"
	actionRoleDelete = secPrefix + "role/delete"
	actionRoleGet    = secPrefix + "role/get"
)

// PutRole creates or replaces a role; it reports whether it created.
func (s *Service) PutRole(ctx context.Context, c Caller, name string, d fsm.RoleDescriptor) (bool, error) {
	if err := s.Authorize(c, actionRolePut); err != nil {
		return false, err
	}
	if err := validName("Role", name); err != nil {
		return false, err
	}
	if IsReservedRole(name) {
		return false, validation(fmt.Sprintf("Role [%s] is reserved and may not be used.", name))
	}
	if err := ValidateRoleDescriptor(d); err != nil {
		return false, err
	}
	res, err := s.propose(ctx, c, rolePutEvent(name, d))
	if err != nil {
		return false, err
	}
	return res.Status == fsm.Created, nil
}

// DeleteRole removes a role; it reports whether it existed.
func (s *Service) DeleteRole(ctx context.Context, c Caller, name string) (bool, error) {
	if err := s.Authorize(c, actionRoleDelete); err != nil {
		return false, err
	}
	if IsReservedRole(name) {
		return false, validation(fmt.Sprintf("role [%s] is reserved and cannot be deleted", name))
	}
	res, err := s.propose(ctx, c, fsm.RoleDeletedV1{Name: name})
	if err != nil {
		return false, err
	}
	return res.Status == fsm.Deleted, nil
}

// NamedRole is a role name with its descriptor.
type NamedRole struct {
	Name       string
	Descriptor fsm.RoleDescriptor
}

// GetRoles returns the named roles (built-in and stored), or all of them.
// The second result lists names that were not found.
func (s *Service) GetRoles(ctx context.Context, c Caller, names []string) ([]NamedRole, []string, error) {
	if err := s.Authorize(c, actionRoleGet); err != nil {
		return nil, nil, err
	}
	s.freshRead(ctx)
	var out []NamedRole
	var missing []string
	if len(names) == 0 {
		for _, n := range authz.BuiltinRoleNames() {
			d, _ := authz.BuiltinRole(n)
			out = append(out, NamedRole{n, d})
		}
		for _, r := range s.st.Roles() {
			out = append(out, NamedRole{r.Name, r.Descriptor})
		}
		return out, nil, nil
	}
	for _, n := range names {
		if d, ok := authz.BuiltinRole(n); ok {
			out = append(out, NamedRole{n, d})
		} else if r, ok := s.st.Role(n); ok {
			out = append(out, NamedRole{n, r.Descriptor})
		} else {
			missing = append(missing, n)
		}
	}
	return out, missing, nil
}

// rolePutEvent is the event that writes a role: version 1, which every
// build applies, unless the descriptor has remote_cluster, which only
// version 2 keeps (older builds would drop it).
func rolePutEvent(name string, d fsm.RoleDescriptor) fsm.Payload {
	if len(d.RemoteCluster) > 0 {
		return fsm.RolePutV2{Name: name, Descriptor: d}
	}
	return fsm.RolePutV1{Name: name, Descriptor: d}
}
