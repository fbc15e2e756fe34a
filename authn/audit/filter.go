package audit

import (
	"fmt"
	"regexp"
	"strings"
)

// Policy is one xpack.security.audit.logfile.events.ignore_filters.<name>
// policy: an event is ignored when its user, realm, action and every one of
// its roles match. A field the policy leaves unset matches anything; a
// field the event lacks is the empty string, which only "*" or an empty
// pattern matches.
type Policy struct {
	Name                          string
	Users, Realms, Roles, Actions []string // nil: every value
}

// filters is the compiled form of the policies; an event matching any
// policy is not logged.
type filters []compiledPolicy

type compiledPolicy struct {
	users, realms, roles, actions matcher
}

// subject is what the ignore filters look at.
type subject struct {
	user, realm, action string
	roles               []string
}

func compileFilters(ps []Policy) (filters, error) {
	var out filters
	for _, p := range ps {
		var c compiledPolicy
		var err error
		for _, f := range []struct {
			field    string
			patterns []string
			dst      *matcher
		}{{"users", p.Users, &c.users}, {"realms", p.Realms, &c.realms}, {"roles", p.Roles, &c.roles}, {"actions", p.Actions, &c.actions}} {
			if *f.dst, err = compileMatcher(f.patterns); err != nil {
				return nil, fmt.Errorf("ignore_filters.%s.%s: %w", p.Name, f.field, err)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// ignores reports whether any policy drops an event about s.
func (fs filters) ignores(s subject) bool {
	for _, p := range fs {
		if p.users.match(s.user) && p.realms.match(s.realm) && p.actions.match(s.action) && p.matchRoles(s.roles) {
			return true
		}
	}
	return false
}

func (p compiledPolicy) matchRoles(roles []string) bool {
	if len(roles) == 0 {
		return p.roles.match("")
	}
	for _, r := range roles {
		if !p.roles.match(r) {
			return false
		}
	}
	return true
}

// matcher is a list of Elasticsearch automaton patterns: "*" and "?"
// wildcards, or a /regular expression/; nil matches everything.
type matcher []*regexp.Regexp

func compileMatcher(patterns []string) (matcher, error) {
	if patterns == nil {
		patterns = []string{"*"}
	}
	if len(patterns) == 0 {
		// An empty list matches only an absent field, as Elasticsearch's.
		patterns = []string{""}
	}
	m := make(matcher, 0, len(patterns))
	for _, p := range patterns {
		re, err := compilePattern(p)
		if err != nil {
			return nil, err
		}
		m = append(m, re)
	}
	return m, nil
}

func compilePattern(p string) (*regexp.Regexp, error) {
	if len(p) >= 2 && strings.HasPrefix(p, "/") && strings.HasSuffix(p, "/") {
		re, err := regexp.Compile("^(?:" + p[1:len(p)-1] + ")$")
		if err != nil {
			return nil, fmt.Errorf("invalid pattern [%s]: %w", p, err)
		}
		return re, nil
	}
	var b strings.Builder
	b.WriteString("^")
	escaped := false
	for _, r := range p {
		switch {
		case escaped:
			b.WriteString(regexp.QuoteMeta(string(r)))
			escaped = false
		case r == '\\':
			escaped = true
		case r == '*':
			b.WriteString("(?s:.*)")
		case r == '?':
			b.WriteString("(?s:.)")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

func (m matcher) match(v string) bool {
	for _, re := range m {
		if re.MatchString(v) {
			return true
		}
	}
	return false
}
