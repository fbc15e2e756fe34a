package authn

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tokenstore/tokenstore/authn/authz"
	"github.com/tokenstore/tokenstore/fsm"
)

// RunAsHeader is Elasticsearch's header naming the user a request runs as.
const RunAsHeader = "es-security-runas-user"

// runAsSeparator joins a run-as user to the Authorization header in the
// credential a forwarded write (or a question to the members) carries, so
// the receiving node checks the run-as again. A tab may travel in a header
// value and is in no credential this service accepts; whoever writes it
// into a header gets only what the run-as check allows.
const runAsSeparator = "\trun-as:"

// splitRunAs separates a credential into the Authorization header and the
// run-as user, if any.
func splitRunAs(credential string) (header, target string, ok bool) {
	return strings.Cut(credential, runAsSeparator)
}

// RunAs turns an authenticated caller into the user it asks to run as, as
// Elasticsearch does: only realm users, access tokens and API keys may, the
// caller's roles (an API key's own descriptors and its limited_by alike)
// must grant run_as for that user, and the user must exist and be enabled;
// otherwise the request is refused with Elasticsearch's run-as 403 for
// action. The result authorizes by the run-as user's roles.
func (s *Service) RunAs(c Caller, target, action string) (Caller, error) {
	out, err := s.runAs(c, target)
	if err != nil {
		s.obs.ranAs(c, target, action, false)
		return c, runAsDenied(c.Auth, target, action)
	}
	s.obs.ranAs(out, target, action, true)
	return out, nil
}

// errRunAs is why a run-as was refused; the client sees only the 403.
var errRunAs = errors.New("run as refused")

func (s *Service) runAs(c Caller, target string) (Caller, error) {
	a := c.Auth
	if a.RunBy != nil || a.madeUnderRunAs || a.Realm == ServiceAccountRealm || !slices.Contains([]string{"realm", "token", "api_key"}, a.Type) {
		return c, errRunAs
	}
	if target == "" || !runAsGranted(s.Permission(c), target) {
		return c, errRunAs
	}
	rec, ok := lookupUser(s.st, target)
	if !ok || !rec.enabled {
		return c, errRunAs
	}
	as := rec.authentication() // built fresh: RunBy marks no other
	as.RunBy = a
	c.Auth = as
	c.Credential = c.Credential + runAsSeparator + target
	return c, nil
}

// runAsGranted reports whether a permission allows running as target: one
// of its descriptors names it under run_as, and so does its limit (an API
// key's owner snapshot) when it has one.
func runAsGranted(p Permission, target string) bool {
	ok := slices.ContainsFunc(p.Descriptors, func(d fsm.RoleDescriptor) bool {
		return slices.ContainsFunc(d.RunAs, func(pat string) bool { return authz.GlobMatch(pat, target) })
	})
	return ok && (p.Limit == nil || runAsGranted(*p.Limit, target))
}

// runAsDenied is Elasticsearch's 403 (AuthorizationDenialMessages.runAsDenied).
func runAsDenied(a *Authentication, target, action string) *Error {
	who := authenticatedUser(a)
	reason := fmt.Sprintf("action [%s] is unauthorized for %s", action, who)
	if a.APIKey == nil && a.Realm != ServiceAccountRealm {
		reason += fmt.Sprintf(" with effective roles [%s]", strings.Join(a.Roles, ","))
	}
	reason += fmt.Sprintf(", because %s is unauthorized to run as [%s]", who, Clip(target, maxEcho))
	return &Error{Kind: Forbidden, Type: "security_exception", Reason: reason}
}

// authenticatedUser names who authenticated, as Elasticsearch's messages do.
func authenticatedUser(a *Authentication) string {
	kind := "user"
	if a.Realm == ServiceAccountRealm {
		kind = "service account"
	}
	who := fmt.Sprintf("%s [%s]", kind, a.Username)
	if a.APIKey != nil {
		who = fmt.Sprintf("API key id [%s] of %s", a.APIKey.ID, who)
	}
	return who
}
