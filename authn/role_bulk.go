package authn

import (
	"context"
	"fmt"

	"github.com/tokenstore/tokenstore/fsm"
)

// actionRoleBulkDelete is Elasticsearch's own action for bulk delete
// (BULK_DELETE_ROLES), which its 403 names; the event it proposes is the
// one role delete's action allows.
const actionRoleBulkDelete = secPrefix + "role/bulk_delete"

// maxBulkRoleNames bounds one bulk delete, as maxBulkUpdateIDs bounds a
// bulk update: one Raft entry, one result per name.
const maxBulkRoleNames = 1000

// RoleDeletions is the outcome of a bulk role delete, each list in the
// order the names were asked for.
type RoleDeletions struct {
	Deleted, NotFound []string
	// Errors are the names refused before anything was written (reserved
	// or invalid), with why.
	Errors map[string]*Error
}

// DeleteRoles removes several roles in one event (RoleDeletedV2), so a
// reader sees all of them gone or none. While some member of the cluster
// runs a build without that event (a rolling upgrade), the cluster refuses
// it, naming the members; deleting one role at a time works throughout.
func (s *Service) DeleteRoles(ctx context.Context, c Caller, names []string) (RoleDeletions, error) {
	out := RoleDeletions{Errors: map[string]*Error{}}
	if err := s.Authorize(c, actionRoleBulkDelete); err != nil {
		return out, err
	}
	if len(names) == 0 {
		return out, validation("[names] must list at least one role")
	}
	if len(names) > maxBulkRoleNames {
		return out, validation(fmt.Sprintf("[names] may not list more than [%d] roles, found [%d]", maxBulkRoleNames, len(names)))
	}
	var valid []string
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		if err := validName("Role", name); err != nil {
			out.Errors[name] = &Error{Kind: Invalid, Type: "action_request_validation_exception", Reason: err.Error()}
			continue
		}
		if IsReservedRole(name) {
			out.Errors[name] = &Error{Kind: Invalid, Reason: fmt.Sprintf("role [%s] is reserved and cannot be deleted", name)}
			continue
		}
		valid = append(valid, name)
	}
	if len(valid) == 0 {
		return out, nil
	}
	res, err := s.propose(ctx, c, fsm.RoleDeletedV2{Names: valid})
	if err != nil {
		return out, err
	}
	for _, name := range valid {
		if res.Items[name] == fsm.Deleted {
			out.Deleted = append(out.Deleted, name)
		} else {
			out.NotFound = append(out.NotFound, name)
		}
	}
	return out, nil
}
