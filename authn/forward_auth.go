package authn

import (
	"cmp"
	"context"
	"fmt"
	"strings"
)

// ForwardAuthRequest is what a proxy asks about: the client's credential
// and address, and the request it wants to pass on. Conflict, when set,
// says the proxy's headers named the request in two different ways.
type ForwardAuthRequest struct {
	Authorization string
	// Path is the endpoint's own path, which error messages name.
	Path       string
	RemoteAddr string
	// Host, Method and URI are the original request's, as the proxy told
	// them; they matter only to a rule set.
	Host, Method, URI string
	Conflict          string
}

// ForwardAuth decides whether a proxy lets a request through: it
// authenticates the credential by the same chain and throttle as every
// request, then, with a rule set configured, checks the application
// privilege the first matching rule names, as has_privileges would.
func (s *Service) ForwardAuth(ctx context.Context, req ForwardAuthRequest) (Caller, error) {
	// Forward auth ignores run-as; the run-as a node appends to a
	// credential it forwards is no credential a proxy's client may send.
	if strings.Contains(req.Authorization, runAsSeparator) {
		return Caller{}, unauthenticated(anonymousDenied, "")
	}
	c, err := s.Authenticate(ctx, req.Authorization, req.Path, req.RemoteAddr)
	if err != nil {
		return Caller{}, err
	}
	rules := s.cfg.ForwardAuthRules
	if rules == nil {
		return c, nil
	}
	if err := s.forwardAuthorize(c, rules, req); err != nil {
		return Caller{}, err
	}
	return c, nil
}

// forwardAuthorize is the rule set's verdict on an authenticated request.
func (s *Service) forwardAuthorize(c Caller, rules *ForwardAuthRules, req ForwardAuthRequest) error {
	if req.Conflict != "" {
		return requestRefused(c, req.Conflict)
	}
	p, err := requestPath(req.URI)
	if err != nil {
		return requestRefused(c, err.Error())
	}
	rule := rules.match(requestHost(req.Host), req.Method, p)
	if rule == nil {
		return requestRefused(c, "no forward-auth rule matches the request")
	}
	if len(rule.Privileges) == 0 {
		return nil
	}
	check := HasPrivilegesRequest{Application: []ApplicationPrivilegesCheck{{
		Application: rules.Application, Resources: []string{cmp.Or(rule.Resource, p)}, Privileges: rule.Privileges}}}
	resp, err := s.HasPrivileges(c, check)
	if err != nil {
		return err
	}
	if !resp.HasAllRequested {
		return requestRefused(c, fmt.Sprintf("the request needs the application privileges %v of [%s]", rule.Privileges, rules.Application))
	}
	return nil
}

// requestRefused is the 403 for a valid credential the rules do not let
// through.
func requestRefused(c Caller, why string) *Error {
	return &Error{Kind: Forbidden, Type: "security_exception",
		Reason: fmt.Sprintf("forward-auth refused user [%s]: %s", c.Auth.Username, why)}
}
