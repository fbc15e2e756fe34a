package authn

import (
	"context"
	"fmt"
	"regexp"
	"slices"

	"github.com/tokenstore/tokenstore/fsm"
)

const (
	actionPrivilegePut    = secPrefix + "privilege/put"
	actionPrivilegeGet    = secPrefix + "privilege/get"
	actionPrivilegeDelete = secPrefix + "privilege/delete"
)

var (
	applicationNamePattern = regexp.MustCompile(`^[a-z][A-Za-z0-9_-]{2,}$`)
	privilegeNamePattern   = regexp.MustCompile(`^[a-z][a-zA-Z0-9_.-]*$`)
	actionPattern          = regexp.MustCompile(`^[a-zA-Z0-9_*]*[/:*][^\x00-\x1f]*$`)
)

// PutApplicationPrivileges creates or replaces application privileges and
// returns, per "app/name", whether each was created.
func (s *Service) PutApplicationPrivileges(ctx context.Context, c Caller, privs []fsm.ApplicationPrivilege) (map[string]bool, error) {
	if err := s.Authorize(c, actionPrivilegePut); err != nil {
		return nil, err
	}
	var msgs []string
	for _, p := range privs {
		if !applicationNamePattern.MatchString(p.Application) {
			msgs = append(msgs, fmt.Sprintf("An application name must match the pattern %s (found '%s')", applicationNamePattern, p.Application))
		}
		if !privilegeNamePattern.MatchString(p.Name) {
			msgs = append(msgs, fmt.Sprintf("An application privilege name must match the pattern %s (found '%s')", privilegeNamePattern, p.Name))
		}
		if len(p.Actions) == 0 {
			msgs = append(msgs, "Application privileges must have at least one action")
		}
		for _, a := range p.Actions {
			if !actionPattern.MatchString(a) {
				msgs = append(msgs, fmt.Sprintf("An application action must contain one of [/*:] (found '%s')", a))
			}
		}
		if err := checkMetadataKeys(p.Metadata); err != nil {
			return nil, err
		}
	}
	if len(privs) == 0 {
		msgs = append(msgs, "At least one application privilege must be provided")
	}
	if len(msgs) > 0 {
		return nil, validation(msgs...)
	}
	res, err := s.propose(ctx, c, fsm.ApplicationPrivilegePutV1{Privileges: privs})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for k, st := range res.Items {
		out[k] = st == fsm.Created
	}
	return out, nil
}

// GetApplicationPrivileges returns privileges of an application (all when
// app is empty), restricted to names when given.
func (s *Service) GetApplicationPrivileges(ctx context.Context, c Caller, app string, names []string) ([]*fsm.ApplicationPrivilege, error) {
	if err := s.Authorize(c, actionPrivilegeGet); err != nil {
		return nil, err
	}
	s.freshRead(ctx)
	all := s.st.ApplicationPrivileges(app)
	if len(names) == 0 {
		return all, nil
	}
	var out []*fsm.ApplicationPrivilege
	for _, p := range all {
		if slices.Contains(names, p.Name) {
			out = append(out, p)
		}
	}
	return out, nil
}

// DeleteApplicationPrivileges removes named privileges of an application and
// returns, per name, whether it existed.
func (s *Service) DeleteApplicationPrivileges(ctx context.Context, c Caller, app string, names []string) (map[string]bool, error) {
	if err := s.Authorize(c, actionPrivilegeDelete); err != nil {
		return nil, err
	}
	res, err := s.propose(ctx, c, fsm.ApplicationPrivilegeDeletedV1{Application: app, Names: names})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, n := range names {
		out[n] = res.Items[app+"/"+n] == fsm.Deleted
	}
	return out, nil
}
