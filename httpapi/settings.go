package httpapi

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
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

// knownSettings are the settings this service reads; any other is refused,
// as Elasticsearch refuses unknown settings.
var knownSettings = map[string]bool{
	"cluster.name": true,
	"xpack.security.authc.password_hashing.algorithm":             true,
	"xpack.security.authc.realms.native.default_native.cache.ttl": true,
	"xpack.security.enabled":                                      true,
	"xpack.security.authc.api_key.delete.retention_period":        true,
	"xpack.security.authc.api_key.delete.interval":                true,
	"xpack.security.authc.token.enabled":                          true,
	"xpack.security.authc.api_key.enabled":                        true,
	"xpack.security.authc.token.timeout":                          true,
	"xpack.security.authc.token.delete.interval":                  true,
	// Raft snapshots (this service's own settings, no Elasticsearch names).
	"raft.snapshot.threshold": true,
	"raft.snapshot.interval":  true,
	"raft.snapshot.retain":    true,
	"raft.trailing_logs":      true,
	// Raft timing: failover time against spurious elections on busy hosts.
	"raft.heartbeat_timeout": true,
	"raft.election_timeout":  true,
	// Failed-authentication throttling (authn/throttle.go).
	"tokenstore.authc.throttle.enabled":         true,
	"tokenstore.authc.throttle.address.burst":   true,
	"tokenstore.authc.throttle.address.refill":  true,
	"tokenstore.authc.throttle.username.burst":  true,
	"tokenstore.authc.throttle.username.refill": true,
	// TLS, with Elasticsearch's names.
	"xpack.security.http.ssl.enabled":                      true,
	"xpack.security.http.ssl.certificate":                  true,
	"xpack.security.http.ssl.key":                          true,
	"xpack.security.http.ssl.certificate_authorities":      true,
	"xpack.security.transport.ssl.enabled":                 true,
	"xpack.security.transport.ssl.certificate":             true,
	"xpack.security.transport.ssl.key":                     true,
	"xpack.security.transport.ssl.certificate_authorities": true,
	"xpack.security.transport.ssl.verification_mode":       true,
	// Plain text beyond loopback, refused unless this says otherwise.
	"tokenstore.security.allow_insecure_non_loopback": true,
}

// authnCounts are the integer settings of the security service: the
// crypto pool (Elasticsearch's security-crypto thread pool, under its
// names) and the most a stored password hash may cost to verify (zero, the
// default, derives it from the configured algorithm).
var authnCounts = []struct {
	name     string
	min, max int
	dst      func(*authn.Config) *int
}{
	{"xpack.security.crypto.thread_pool.size", 1, 1024, func(c *authn.Config) *int { return &c.CryptoPoolSize }},
	{"xpack.security.crypto.thread_pool.queue_size", 1, 100_000, func(c *authn.Config) *int { return &c.CryptoQueueSize }},
	{"tokenstore.authc.password_hashing.max_bcrypt_cost", 4, 31, func(c *authn.Config) *int { return &c.MaxBcryptCost }},
	{"tokenstore.authc.password_hashing.max_pbkdf2_iterations", 1000, 10_000_000, func(c *authn.Config) *int { return &c.MaxPBKDF2Iterations }},
}

func init() {
	for _, l := range authnCounts {
		knownSettings[l.name] = true
	}
	for _, l := range durationLimits {
		knownSettings[l.name] = true
	}
	for _, l := range countLimits {
		knownSettings[l.name] = true
	}
}

// netLimits bound what a connection may hold (see durationLimits and
// countLimits for their settings and defaults).
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

// durationLimits are the time-valued connection limits: name, default and
// bounds; a row adds a setting.
var durationLimits = []struct {
	name          string
	def, min, max time.Duration
	dst           func(*netLimits) *time.Duration
}{
	{"tokenstore.http.handshake_timeout", 10 * time.Second, 500 * time.Millisecond, 5 * time.Minute, func(n *netLimits) *time.Duration { return &n.handshake }},
	{"tokenstore.http.request_timeout", time.Minute, time.Second, time.Hour, func(n *netLimits) *time.Duration { return &n.request }},
	// Elasticsearch's name: how long a connection may stay idle.
	{"http.read_timeout", time.Minute, 500 * time.Millisecond, 24 * time.Hour, func(n *netLimits) *time.Duration { return &n.idle }},
	{"tokenstore.http.stream_timeout", time.Hour, time.Second, 24 * time.Hour, func(n *netLimits) *time.Duration { return &n.stream }},
	{"tokenstore.transport.handshake_timeout", 10 * time.Second, 500 * time.Millisecond, 5 * time.Minute, func(n *netLimits) *time.Duration { return &n.raftHandshake }},
}

// countLimits are the caps on open connections per port.
var countLimits = []struct {
	name          string
	def, min, max int
	dst           func(*netLimits) *int
}{
	{"tokenstore.http.max_open_connections", 4096, 1, 1 << 20, func(n *netLimits) *int { return &n.httpMaxConns }},
	{"tokenstore.transport.max_open_connections", 128, 8, 1 << 16, func(n *netLimits) *int { return &n.raftMaxConns }},
}

// timeValue writes a duration as Elasticsearch does: 500ms, 10s, 5m, 1h.
func timeValue(d time.Duration) string {
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if d%u.unit == 0 {
			return strconv.FormatInt(int64(d/u.unit), 10) + u.name
		}
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

func (s Settings) netLimits() (netLimits, error) {
	var out netLimits
	for _, l := range durationLimits {
		*l.dst(&out) = l.def
		v, ok := s[l.name]
		if !ok {
			continue
		}
		d, err := authn.ParseTimeValue(l.name, v)
		if err != nil || d < l.min || d > l.max {
			return out, fmt.Errorf("setting [%s] must be a time value from [%s] to [%s], got [%s]", l.name, timeValue(l.min), timeValue(l.max), v)
		}
		*l.dst(&out) = d
	}
	for _, l := range countLimits {
		*l.dst(&out) = l.def
		v, ok := s[l.name]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < l.min || n > l.max {
			return out, fmt.Errorf("setting [%s] must be a number from %d to %d, got [%s]", l.name, l.min, l.max, v)
		}
		*l.dst(&out) = n
	}
	const insecure = "tokenstore.security.allow_insecure_non_loopback"
	if v, ok := s[insecure]; ok {
		if v != "true" && v != "false" {
			return out, fmt.Errorf("setting [%s] must be [true] or [false], got [%s]", insecure, v)
		}
		out.allowInsecure = v == "true"
	}
	return out, nil
}

// resolved is the typed form of the settings.
type resolved struct {
	// raft holds the snapshot settings; zero values mean the defaults.
	raft struct {
		threshold, trailing uint64
		interval            time.Duration
		retain              int
		// heartbeat and election are Raft's timeouts; zero means the
		// cluster package's defaults.
		heartbeat, election time.Duration
	}
	clusterName string
	httpSSL     sslSettings
	transport   sslSettings
	authn       authn.Config
	purge       authn.PurgeConfig
	net         netLimits
}

func (s Settings) resolve() (out resolved, err error) {
	var unknown []string
	for k := range s {
		if !knownSettings[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return resolved{}, fmt.Errorf("unknown setting [%s]", strings.Join(unknown, "], ["))
	}
	out = resolved{clusterName: "tokenstore", authn: authn.DefaultConfig(),
		purge: authn.PurgeConfig{Retention: 7 * 24 * time.Hour, Interval: 24 * time.Hour, TokenInterval: 30 * time.Minute}}
	for name, dst := range map[string]*time.Duration{
		"xpack.security.authc.api_key.delete.retention_period": &out.purge.Retention,
		"xpack.security.authc.api_key.delete.interval":         &out.purge.Interval,
		"xpack.security.authc.token.delete.interval":           &out.purge.TokenInterval,
	} {
		v, ok := s[name]
		if !ok {
			continue
		}
		d, err := authn.ParseTimeValue(name, v)
		if err != nil {
			return resolved{}, err
		}
		if d < time.Second && !(name == "xpack.security.authc.api_key.delete.retention_period" && d == 0) {
			return resolved{}, fmt.Errorf("failed to parse value [%s] for setting [%s]: must be >= 1s", v, name)
		}
		*dst = d
	}
	if v, ok := s["cluster.name"]; ok {
		if strings.TrimSpace(v) == "" {
			return resolved{}, fmt.Errorf("setting [cluster.name] must not be empty")
		}
		out.clusterName = v
	}
	if v, ok := s["xpack.security.enabled"]; ok && v != "true" {
		return resolved{}, fmt.Errorf("setting [xpack.security.enabled] must be [true]: a credential service cannot run without security")
	}
	for name, dst := range map[string]*bool{
		"xpack.security.authc.token.enabled":   &out.authn.TokensEnabled,
		"xpack.security.authc.api_key.enabled": &out.authn.APIKeysEnabled,
	} {
		if v, ok := s[name]; ok {
			b, err := strconv.ParseBool(v)
			if err != nil || (v != "true" && v != "false") {
				return resolved{}, fmt.Errorf("setting [%s] must be [true] or [false], got [%s]", name, v)
			}
			*dst = b
		}
	}
	if v, ok := s["xpack.security.authc.token.timeout"]; ok {
		d, err := authn.ParseTimeValue("xpack.security.authc.token.timeout", v)
		if err != nil {
			return resolved{}, err
		}
		if d < time.Second || d > time.Hour {
			return resolved{}, fmt.Errorf("setting [xpack.security.authc.token.timeout] must be between [1s] and [1h], got [%s]", v)
		}
		out.authn.TokenTimeout = d
	}
	for name, dst := range map[string]*uint64{"raft.snapshot.threshold": &out.raft.threshold, "raft.trailing_logs": &out.raft.trailing} {
		if v, ok := s[name]; ok {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || n == 0 {
				return resolved{}, fmt.Errorf("setting [%s] must be a positive number of log entries, got [%s]", name, v)
			}
			*dst = n
		}
	}
	if v, ok := s["raft.snapshot.retain"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return resolved{}, fmt.Errorf("setting [raft.snapshot.retain] must be at least 1, got [%s]", v)
		}
		out.raft.retain = n
	}
	if v, ok := s["raft.snapshot.interval"]; ok {
		d, err := authn.ParseTimeValue("raft.snapshot.interval", v)
		if err != nil || d < time.Second {
			return resolved{}, fmt.Errorf("setting [raft.snapshot.interval] must be a time value of at least 1s, got [%s]", v)
		}
		out.raft.interval = d
	}
	for name, dst := range map[string]*time.Duration{"raft.heartbeat_timeout": &out.raft.heartbeat, "raft.election_timeout": &out.raft.election} {
		if v, ok := s[name]; ok {
			d, err := authn.ParseTimeValue(name, v)
			if err != nil || d < 50*time.Millisecond || d > time.Minute {
				return resolved{}, fmt.Errorf("setting [%s] must be a time value between [50ms] and [1m], got [%s]", name, v)
			}
			*dst = d
		}
	}
	if err := s.throttle(&out.authn.Throttle); err != nil {
		return resolved{}, err
	}
	for _, l := range authnCounts {
		if v, ok := s[l.name]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < l.min || n > l.max {
				return resolved{}, fmt.Errorf("setting [%s] must be a number from %d to %d, got [%s]", l.name, l.min, l.max, v)
			}
			*l.dst(&out.authn) = n
		}
	}
	if out.net, err = s.netLimits(); err != nil {
		return resolved{}, err
	}
	if out.httpSSL, err = s.ssl("xpack.security.http.ssl"); err != nil {
		return resolved{}, err
	}
	if out.transport, err = s.ssl("xpack.security.transport.ssl"); err != nil {
		return resolved{}, err
	}
	if out.transport.enabled && !out.httpSSL.enabled {
		return resolved{}, errors.New("setting [xpack.security.transport.ssl.enabled] needs [xpack.security.http.ssl.enabled]: nodes call each other on the HTTP port too")
	}
	if v, ok := s["xpack.security.authc.password_hashing.algorithm"]; ok {
		if _, err := authn.NewHasher(v); err != nil {
			return resolved{}, fmt.Errorf("setting [xpack.security.authc.password_hashing.algorithm]: %w", err)
		}
		out.authn.PasswordHashing = v
	}
	if v, ok := s["xpack.security.authc.realms.native.default_native.cache.ttl"]; ok {
		d, err := authn.ParseTimeValue("xpack.security.authc.realms.native.default_native.cache.ttl", v)
		if err != nil {
			return resolved{}, err
		}
		out.authn.CacheTTL = max(d, 0)
	}
	return out, nil
}

// sslSettings is one xpack.security.{http,transport}.ssl group; the files
// are read when the node starts.
type sslSettings struct {
	enabled          bool
	certificate, key string
	authorities      []string
	verifyHostname   bool
}

func (s Settings) ssl(prefix string) (sslSettings, error) {
	out := sslSettings{verifyHostname: true}
	if v, ok := s[prefix+".enabled"]; ok {
		if v != "true" && v != "false" {
			return out, fmt.Errorf("setting [%s.enabled] must be [true] or [false], got [%s]", prefix, v)
		}
		out.enabled = v == "true"
	}
	out.certificate, out.key = s[prefix+".certificate"], s[prefix+".key"]
	for _, f := range strings.Split(s[prefix+".certificate_authorities"], ",") {
		if f = strings.TrimSpace(f); f != "" {
			out.authorities = append(out.authorities, f)
		}
	}
	if v, ok := s[prefix+".verification_mode"]; ok {
		switch v {
		case "full":
		case "certificate":
			out.verifyHostname = false
		default:
			return out, fmt.Errorf("setting [%s.verification_mode] must be [full] or [certificate], got [%s]", prefix, v)
		}
	}
	if !out.enabled {
		return out, nil
	}
	if out.certificate == "" || out.key == "" {
		return out, fmt.Errorf("setting [%s.enabled] is true, so [%s.certificate] and [%s.key] must be set", prefix, prefix, prefix)
	}
	if prefix == "xpack.security.transport.ssl" && len(out.authorities) == 0 {
		return out, fmt.Errorf("setting [%s.enabled] is true, so [%s.certificate_authorities] must name the cluster CA that peers are verified against", prefix, prefix)
	}
	return out, nil
}

func (s Settings) throttle(t *authn.ThrottleConfig) error {
	const prefix = "tokenstore.authc.throttle."
	if v, ok := s[prefix+"enabled"]; ok {
		if v != "true" && v != "false" {
			return fmt.Errorf("setting [%senabled] must be [true] or [false], got [%s]", prefix, v)
		}
		t.Disabled = v == "false"
	}
	for name, dst := range map[string]*int{"address.burst": &t.AddressBurst, "username.burst": &t.UserBurst} {
		if v, ok := s[prefix+name]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 10_000 {
				return fmt.Errorf("setting [%s%s] must be a number from 1 to 10000, got [%s]", prefix, name, v)
			}
			*dst = n
		}
	}
	for name, dst := range map[string]*time.Duration{"address.refill": &t.AddressRefill, "username.refill": &t.UserRefill} {
		if v, ok := s[prefix+name]; ok {
			d, err := authn.ParseTimeValue(prefix+name, v)
			if err != nil || d < time.Millisecond || d > time.Hour {
				return fmt.Errorf("setting [%s%s] must be a time value from [1ms] to [1h], got [%s]", prefix, name, v)
			}
			*dst = d
		}
	}
	return nil
}
