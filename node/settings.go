package node

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tokenstore/tokenstore/authn"
)

// Settings are the Elasticsearch-named settings given with -E.
type Settings map[string]string

// ParseSetting splits one "-E name=value" argument.
func ParseSetting(arg string) (string, string, error) {
	name, value, ok := strings.Cut(arg, "=")
	if !ok || strings.TrimSpace(name) == "" {
		return "", "", fmt.Errorf("setting [%s] must be in the form name=value", arg)
	}
	return strings.TrimSpace(name), value, nil
}

// resolved is the typed form of the settings.
type resolved struct {
	clusterName string
	// nonVoter is node.voter: false, a member that never votes.
	nonVoter bool
	// raft holds the snapshot settings and timeouts; zero values mean the
	// cluster package's defaults.
	raft struct {
		threshold, trailing uint64
		interval            time.Duration
		retain              int
		heartbeat, election time.Duration
	}
	httpSSL, transportSSL sslSettings
	// reload is how the certificate files are watched.
	reload struct {
		enabled  bool
		interval time.Duration
	}
	authn authn.Config
	purge authn.PurgeConfig
	net   netLimits
	// forwardAuthRules is the rule file's path; relative paths are under
	// the config dir.
	forwardAuthRules string
	audit            auditSettings
}

// netLimits bound what a connection may hold.
type netLimits struct {
	// handshake bounds the TLS handshake and the request headers; request a
	// whole request (headers and a body up to http.max_content_length) and
	// its answer; idle a keep-alive connection between requests; stream a
	// backup or restore, whose bodies have no size limit.
	handshake, request, idle, stream time.Duration
	httpMaxConns                     int
	raftHandshake                    time.Duration
	raftMaxConns                     int
	allowInsecure                    bool
}

// sslSettings is one xpack.security.{http,transport}.ssl group; the files
// are read when the node starts and again whenever they change (unless
// resource.reload.enabled is false).
type sslSettings struct {
	enabled          bool
	certificate, key string
	authorities      []string
	verifyHostname   bool
}

// resolve checks every setting against the table and converts it; a name
// the table lacks is refused, as Elasticsearch refuses unknown settings.
func (s Settings) resolve() (resolved, error) {
	var unknown []string
	for _, name := range slices.Sorted(maps.Keys(s)) {
		if _, ok := settingIndex[name]; !ok && affixOf(name) == nil {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		return resolved{}, fmt.Errorf("unknown setting [%s]", strings.Join(unknown, "], ["))
	}
	out := resolved{authn: authn.DefaultConfig()}
	for _, row := range settingTable {
		v, ok := s[row.name]
		if !ok && row.def == "" {
			continue
		}
		if !ok {
			v = row.def
		}
		if err := row.set(&out, row.name, v); err != nil {
			return resolved{}, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s)) {
		if a := affixOf(name); a != nil {
			if err := a.set(&out, name, s[name]); err != nil {
				return resolved{}, err
			}
		}
	}
	return out, out.checkSSL()
}

// checkSSL holds the rules between settings: TLS needs its files, and the
// transport its CA and HTTPS.
func (r *resolved) checkSSL() error {
	for _, g := range []struct {
		prefix string
		s      sslSettings
	}{{"xpack.security.http.ssl", r.httpSSL}, {"xpack.security.transport.ssl", r.transportSSL}} {
		if g.s.enabled && (g.s.certificate == "" || g.s.key == "") {
			return fmt.Errorf("setting [%s.enabled] is true, so [%s.certificate] and [%s.key] must be set", g.prefix, g.prefix, g.prefix)
		}
	}
	if r.transportSSL.enabled && len(r.transportSSL.authorities) == 0 {
		const p = "xpack.security.transport.ssl"
		return fmt.Errorf("setting [%s.enabled] is true, so [%s.certificate_authorities] must name the cluster CA that peers are verified against", p, p)
	}
	if r.transportSSL.enabled && !r.httpSSL.enabled {
		return fmt.Errorf("setting [xpack.security.transport.ssl.enabled] needs [xpack.security.http.ssl.enabled]: nodes call each other on the HTTP port too")
	}
	return nil
}
