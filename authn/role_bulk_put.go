package authn

import (
	"context"
	"fmt"

	"github.com/tokenstore/tokenstore/fsm"
)

const actionRoleBulkPut = secPrefix + "role/bulk_put"

// RolePuts is the outcome of a bulk role put, each list in request order.
type RolePuts struct {
	Created, Updated, Noop []string
	// Errors are the roles refused (invalid name or descriptor, reserved),
	// with why; the others are written regardless.
	Errors map[string]*Error
}

// PutRoles creates or replaces several roles. A role whose stored
// descriptor is already the one asked for is a noop and writes nothing.
// Each other role is one RolePut entry (rolePutEvent), so a reader sees each role
// whole; a failure to commit stops the bulk there and is the answer.
func (s *Service) PutRoles(ctx context.Context, c Caller, roles []NamedRole) (RolePuts, error) {
	out := RolePuts{Errors: map[string]*Error{}}
	if err := s.Authorize(c, actionRoleBulkPut); err != nil {
		return out, err
	}
	if len(roles) == 0 {
		return out, validation("[roles] must contain at least one role")
	}
	if len(roles) > maxBulkRoleNames {
		return out, validation(fmt.Sprintf("[roles] may not contain more than [%d] roles, found [%d]", maxBulkRoleNames, len(roles)))
	}
	var valid []NamedRole
	for _, r := range roles {
		if err := s.checkRole(r.Name, r.Descriptor); err != nil {
			e, ok := err.(*Error)
			if !ok {
				e = &Error{Kind: Invalid, Reason: err.Error()}
			}
			out.Errors[r.Name] = e
			continue
		}
		valid = append(valid, r)
	}
	s.freshRead(ctx)
	for _, r := range valid {
		if old, ok := s.st.Role(r.Name); ok && sameJSON(old.Descriptor, r.Descriptor) {
			out.Noop = append(out.Noop, r.Name)
			continue
		}
		res, err := s.propose(ctx, c, rolePutEvent(r.Name, r.Descriptor))
		if err != nil {
			return out, err
		}
		if res.Status == fsm.Created {
			out.Created = append(out.Created, r.Name)
		} else {
			out.Updated = append(out.Updated, r.Name)
		}
	}
	return out, nil
}

// checkRole validates a role as put role does.
func (s *Service) checkRole(name string, d fsm.RoleDescriptor) error {
	if err := validName("Role", name); err != nil {
		return err
	}
	if IsReservedRole(name) {
		return validation(fmt.Sprintf("Role [%s] is reserved and may not be used.", name))
	}
	return ValidateRoleDescriptor(d)
}
