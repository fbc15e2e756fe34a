package authn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
)

// Bounds of a forward-auth rule file: it is read once at start, but a
// mistake in it should be a clear refusal, not a slow node.
const (
	maxRulesFileBytes    = 1 << 20
	maxRules             = 1000
	maxRulePrivileges    = 32
	maxRuleMethods       = 16
	maxRuleFieldBytes    = 1024
	maxRulePrivilegeName = 256
)

// ForwardAuthRules map requests a proxy asks about to the application
// privileges of one application (this service, in _security/privilege)
// that a principal needs to make them. The first rule that matches a
// request decides; a request no rule matches is refused.
type ForwardAuthRules struct {
	Application string            `json:"application"`
	Rules       []ForwardAuthRule `json:"rules"`
}

// ForwardAuthRule is one row of a rule file. Host (without port) and
// Methods are optional; Path is a prefix that ends at a segment boundary.
// Privileges are all needed, on Resource or, without one, on the request's
// path; an empty list lets any valid credential through.
type ForwardAuthRule struct {
	Host       string   `json:"host,omitempty"`
	Path       string   `json:"path"`
	Methods    []string `json:"methods,omitempty"`
	Privileges []string `json:"privileges"`
	Resource   string   `json:"resource,omitempty"`
}

// LoadForwardAuthRules reads and checks a rule file (JSON). Every mistake
// is one error naming the file and, where there is one, the rule.
func LoadForwardAuthRules(file string) (*ForwardAuthRules, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("forward-auth rules: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRulesFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("forward-auth rules [%s]: %w", file, err)
	}
	if len(data) > maxRulesFileBytes {
		return nil, fmt.Errorf("forward-auth rules [%s]: larger than %d bytes", file, maxRulesFileBytes)
	}
	rules, err := ParseForwardAuthRules(data)
	if err != nil {
		return nil, fmt.Errorf("forward-auth rules [%s]: %w", file, err)
	}
	return rules, nil
}

// ParseForwardAuthRules decodes a rule file's content strictly: unknown
// fields, trailing data and out-of-bounds values are refused.
func ParseForwardAuthRules(data []byte) (*ForwardAuthRules, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var rs ForwardAuthRules
	if err := dec.Decode(&rs); err != nil {
		return nil, fmt.Errorf("not a rule set: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the rule set")
	}
	if !applicationNamePattern.MatchString(rs.Application) {
		return nil, fmt.Errorf("application [%s] must match %s", Clip(rs.Application, maxEcho), applicationNamePattern)
	}
	if len(rs.Rules) == 0 || len(rs.Rules) > maxRules {
		return nil, fmt.Errorf("between 1 and %d rules are needed, got %d", maxRules, len(rs.Rules))
	}
	for i := range rs.Rules {
		if err := rs.Rules[i].check(); err != nil {
			return nil, fmt.Errorf("rule %d: %w", i, err)
		}
	}
	return &rs, nil
}

// check validates one rule and lowers its host, as requests' hosts are
// compared.
func (r *ForwardAuthRule) check() error {
	if !strings.HasPrefix(r.Path, "/") || len(r.Path) > maxRuleFieldBytes || path.Clean(r.Path) != strings.TrimSuffix(r.Path, "/") && r.Path != "/" {
		return fmt.Errorf("path [%s] must start with / and be clean (no //, . or ..), at most %d bytes", Clip(r.Path, maxEcho), maxRuleFieldBytes)
	}
	if len(r.Host) > maxRuleFieldBytes || strings.ContainsAny(r.Host, "/:@ ") {
		return fmt.Errorf("host [%s] must be a host name without port, at most %d bytes", Clip(r.Host, maxEcho), maxRuleFieldBytes)
	}
	r.Host = strings.ToLower(r.Host)
	if len(r.Methods) > maxRuleMethods {
		return fmt.Errorf("at most %d methods", maxRuleMethods)
	}
	for _, m := range r.Methods {
		if m == "" || len(m) > 32 || strings.IndexFunc(m, func(c rune) bool { return c < 'A' || c > 'Z' }) >= 0 {
			return fmt.Errorf("method [%s] must be an upper-case HTTP method", Clip(m, maxEcho))
		}
	}
	if len(r.Privileges) > maxRulePrivileges {
		return fmt.Errorf("at most %d privileges", maxRulePrivileges)
	}
	for _, p := range r.Privileges {
		if p == "" || len(p) > maxRulePrivilegeName {
			return fmt.Errorf("privilege [%s] must be 1-%d bytes", Clip(p, maxEcho), maxRulePrivilegeName)
		}
	}
	if len(r.Resource) > maxRuleFieldBytes {
		return fmt.Errorf("resource longer than %d bytes", maxRuleFieldBytes)
	}
	return nil
}

// match is the first rule for the request, or nil.
func (rs *ForwardAuthRules) match(host, method, p string) *ForwardAuthRule {
	for i := range rs.Rules {
		r := &rs.Rules[i]
		if r.Host != "" && r.Host != host {
			continue
		}
		if len(r.Methods) > 0 && !slices.Contains(r.Methods, method) {
			continue
		}
		if pathUnder(p, r.Path) {
			return r
		}
	}
	return nil
}

// pathUnder reports whether p is prefix or below it: "/admin" covers
// "/admin" and "/admin/x", not "/administrator".
func pathUnder(p, prefix string) bool {
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	return len(p) == len(prefix) || strings.HasSuffix(prefix, "/") || p[len(prefix)] == '/'
}

// requestPath is the path of a request URI as an upstream resolves it:
// query cut, percent-decoded once, dot segments and double slashes
// removed. Encodings an upstream may read either way (an encoded slash,
// backslash or dot) and control characters are refused rather than
// guessed at, so a rule cannot be dodged by spelling a path differently.
func requestPath(uri string) (string, error) {
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	if uri == "" {
		uri = "/"
	}
	if !strings.HasPrefix(uri, "/") {
		return "", errors.New("the request URI is not a path")
	}
	lower := strings.ToLower(uri)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.Contains(lower, "%2e") || strings.Contains(uri, `\`) {
		return "", errors.New("the request path encodes a slash, backslash or dot")
	}
	p, err := url.PathUnescape(uri)
	if err != nil {
		return "", errors.New("the request path has an invalid escape")
	}
	if strings.IndexFunc(p, func(c rune) bool { return c < 0x20 || c == 0x7f }) >= 0 {
		return "", errors.New("the request path has a control character")
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean, nil
}

// requestHost is a Host header's name, lower case, without its port.
func requestHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.ToLower(strings.Trim(h, "[]"))
}
