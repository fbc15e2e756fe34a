package authn

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tokenstore/tokenstore/authn/authz"
	"github.com/tokenstore/tokenstore/fsm"
)

// secPrefix starts the security actions.
const secPrefix = authz.SecPrefix

// Actions of tokenstore's own that no Elasticsearch privilege names.
const (
	// ActionBackup reads every credential hash: security's to give.
	ActionBackup = authz.ActionBackup
	// ActionRestore replaces the whole state; ActionJoin adds a member
	// that receives every write and the credentials forwarded with them.
	ActionRestore = authz.ActionRestore
	ActionJoin    = authz.ActionJoin
)

// Permission is what a caller's roles allow (see authz.Permission).
type Permission = authz.Permission

// The has_privileges request and answer (see package authz).
type (
	HasPrivilegesRequest       = authz.HasPrivilegesRequest
	IndexPrivilegesCheck       = authz.IndexPrivilegesCheck
	ApplicationPrivilegesCheck = authz.ApplicationPrivilegesCheck
	HasPrivilegesResponse      = authz.HasPrivilegesResponse
)

// ClusterPrivilegeNames lists the predefined cluster privileges, sorted.
func ClusterPrivilegeNames() []string { return authz.ClusterPrivilegeNames() }

// IndexPrivilegeNames lists the predefined index privileges, sorted.
func IndexPrivilegeNames() []string { return authz.IndexPrivilegeNames() }

// RemoteClusterPrivilegeNames lists the remote_cluster privileges, sorted.
func RemoteClusterPrivilegeNames() []string { return authz.RemoteClusterPrivilegeNames() }

// IsReservedRole reports whether a role name belongs to a built-in role.
func IsReservedRole(name string) bool { return authz.IsReservedRole(name) }

// ValidateRoleDescriptor checks the privilege names of a descriptor as
// Elasticsearch does on put role.
func ValidateRoleDescriptor(d fsm.RoleDescriptor) error {
	return modelError(authz.ValidateRoleDescriptor(d))
}

// checkMetadataKeys refuses top-level metadata keys starting with "_",
// which Elasticsearch reserves.
func checkMetadataKeys(raw []byte) error { return modelError(authz.CheckMetadataKeys(raw)) }

// modelError is the 400 for what the authorization model refused.
func modelError(err error) error {
	e, ok := err.(*authz.Error)
	switch {
	case err == nil:
		return nil
	case !ok:
		return err
	case e.Validation:
		return validation(e.Reason)
	case e.Type != "":
		out := &Error{Kind: Invalid, Type: e.Type, Reason: e.Reason}
		if e.Cause != nil {
			out.CausedBy = &Error{Kind: Invalid, Type: e.Cause.Type, Reason: e.Cause.Reason}
		}
		return out
	}
	return &Error{Kind: Invalid, Type: "illegal_argument_exception", Reason: e.Reason}
}

// Permission resolves the caller's roles; an API key's permission is its
// own descriptors limited by its owner's snapshot.
func (s *Service) Permission(c Caller) Permission {
	if c.Auth.Realm == ServiceAccountRealm {
		d, _ := authz.ServiceAccount(c.Auth.Username)
		return Permission{Descriptors: []fsm.RoleDescriptor{d}}
	}
	k := c.Auth.key
	if k == nil {
		return authz.Resolve(s.st, c.Auth.Roles)
	}
	limit := Permission{Roles: slices.Sorted(maps.Keys(k.LimitedBy)), Descriptors: slices.Collect(mapValues(k.LimitedBy))}
	if len(k.RoleDescriptors) == 0 {
		return limit
	}
	return Permission{Roles: slices.Sorted(maps.Keys(k.RoleDescriptors)), Descriptors: slices.Collect(mapValues(k.RoleDescriptors)), Limit: &limit}
}

// Authorize checks that the caller may run a cluster action.
func (s *Service) Authorize(c Caller, action string) error {
	granted := s.Permission(c).AllowsCluster(action)
	s.obs.authorized(c, action, granted)
	if granted {
		return nil
	}
	return forbidden(c.Auth, action)
}

func forbidden(a *Authentication, action string) *Error {
	reason := fmt.Sprintf("action [%s] is unauthorized for user [%s]", action, a.Username)
	if a.RunBy != nil {
		reason = fmt.Sprintf("action [%s] is unauthorized for %s run as [%s]", action, authenticatedUser(a.RunBy), a.Username)
	}
	if a.APIKey != nil {
		reason = fmt.Sprintf("action [%s] is unauthorized for API key id [%s] of user [%s]", action, a.APIKey.ID, a.Username)
	} else if len(a.Roles) > 0 {
		reason += fmt.Sprintf(" with effective roles [%s]", strings.Join(a.Roles, ","))
	}
	if granting := authz.PrivilegesGranting(action); len(granting) > 0 {
		reason += fmt.Sprintf(", this action is granted by the cluster privileges [%s]", strings.Join(granting, ","))
	}
	return &Error{Kind: Forbidden, Type: "security_exception", Reason: reason}
}

// maxPrivilegeChecks bounds one has_privileges request: every caller may
// ask about its own privileges, so the answer's size and the work behind it
// are capped rather than left to grow with the product of names and
// privileges.
const maxPrivilegeChecks = 50_000

// maxEcho is how much of a caller's input an error message repeats.
const maxEcho = 256

// HasPrivileges checks the caller's own privileges.
func (s *Service) HasPrivileges(c Caller, req HasPrivilegesRequest) (HasPrivilegesResponse, error) {
	if err := validateHasPrivileges(req); err != nil {
		return HasPrivilegesResponse{}, err
	}
	return authz.Check(s.Permission(c), c.Auth.Username, req, s.st.ApplicationPrivileges), nil
}

// validateHasPrivileges refuses what Elasticsearch refuses, in its order.
func validateHasPrivileges(req HasPrivilegesRequest) error {
	if len(req.Cluster) == 0 && len(req.Index) == 0 && len(req.Application) == 0 {
		return validation("must specify at least one privilege")
	}
	for _, ic := range req.Index {
		if len(ic.Names) == 0 || len(ic.Privileges) == 0 {
			return validation("indices privileges must refer to at least one index name and one privilege")
		}
	}
	if n := authz.Checks(req); n > maxPrivilegeChecks {
		return validation(fmt.Sprintf("has_privileges asks for [%d] checks, more than the limit of [%d]", n, maxPrivilegeChecks))
	}
	for _, p := range req.Cluster {
		if !authz.ValidClusterEntry(p) {
			return invalid("unknown cluster privilege [%s]", Clip(p, maxEcho))
		}
	}
	for _, ic := range req.Index {
		for _, p := range ic.Privileges {
			if !authz.ValidIndexPrivilege(p) {
				return invalid("unknown index privilege [%s]", Clip(p, maxEcho))
			}
		}
	}
	for _, ac := range req.Application {
		if ac.Application == "" {
			return validation("application must not be empty")
		}
	}
	return nil
}
