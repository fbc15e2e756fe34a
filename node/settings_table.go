package node

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tokenstore/tokenstore/authn"
)

// setting is one -E setting: its name, its default (parsed like a given
// value; "" leaves authn.DefaultConfig's or the zero value), and set, which
// parses a value into its place in resolved.
type setting struct {
	name, def string
	set       func(r *resolved, name, v string) error
}

// settingTable is every setting the node reads, one row each; a row adds a
// setting. They are resolved in this order.
var settingTable = []setting{
	{"cluster.name", "tokenstore", clusterName},
	{"xpack.security.enabled", "", securityEnabled},
	{"xpack.security.authc.api_key.delete.retention_period", "7d", purgeTime(true, func(r *resolved) *time.Duration { return &r.purge.Retention })},
	{"xpack.security.authc.api_key.delete.interval", "24h", purgeTime(false, func(r *resolved) *time.Duration { return &r.purge.Interval })},
	// How often the members' API key uses become one event: last_used's
	// precision against one log entry an interval.
	{"xpack.security.authc.api_key.last_used.interval", "1h", timeFromTo(time.Second, 24*time.Hour, func(r *resolved) *time.Duration { return &r.authn.LastUsedInterval })},
	{"xpack.security.authc.token.delete.interval", "30m", purgeTime(false, func(r *resolved) *time.Duration { return &r.purge.TokenInterval })},
	{"xpack.security.authc.token.enabled", "", flag(func(r *resolved, on bool) { r.authn.TokensEnabled = on })},
	{"xpack.security.authc.api_key.enabled", "", flag(func(r *resolved, on bool) { r.authn.APIKeysEnabled = on })},
	{"xpack.security.authc.token.timeout", "", tokenTimeout},
	// Raft snapshots and timing (this service's own settings, no
	// Elasticsearch names): failover time against spurious elections.
	// Whether the node joins as a voter; false makes it a non-voting
	// member (it keeps the state and authenticates, never votes).
	{"node.voter", "", flag(func(r *resolved, on bool) { r.nonVoter = !on })},
	{"raft.snapshot.threshold", "", logEntries(func(r *resolved) *uint64 { return &r.raft.threshold })},
	{"raft.trailing_logs", "", logEntries(func(r *resolved) *uint64 { return &r.raft.trailing })},
	{"raft.snapshot.retain", "", snapshotRetain},
	{"raft.snapshot.interval", "", snapshotInterval},
	{"raft.heartbeat_timeout", "", timeBetween(50*time.Millisecond, time.Minute, func(r *resolved) *time.Duration { return &r.raft.heartbeat })},
	{"raft.election_timeout", "", timeBetween(50*time.Millisecond, time.Minute, func(r *resolved) *time.Duration { return &r.raft.election })},
	// Failed-authentication throttling (authn/throttle.go).
	{"tokenstore.authc.throttle.enabled", "", flag(func(r *resolved, on bool) { r.authn.Throttle.Disabled = !on })},
	{"tokenstore.authc.throttle.address.burst", "", numberFromTo(1, 10_000, func(r *resolved) *int { return &r.authn.Throttle.AddressBurst })},
	{"tokenstore.authc.throttle.username.burst", "", numberFromTo(1, 10_000, func(r *resolved) *int { return &r.authn.Throttle.UserBurst })},
	{"tokenstore.authc.throttle.address.refill", "", timeFromTo(time.Millisecond, time.Hour, func(r *resolved) *time.Duration { return &r.authn.Throttle.AddressRefill })},
	{"tokenstore.authc.throttle.username.refill", "", timeFromTo(time.Millisecond, time.Hour, func(r *resolved) *time.Duration { return &r.authn.Throttle.UserRefill })},
	// The crypto pool (Elasticsearch's security-crypto thread pool, under
	// its names) and the most a stored password hash may cost to verify
	// (zero, the default, derives it from the configured algorithm).
	{"xpack.security.crypto.thread_pool.size", "", numberFromTo(1, 1024, func(r *resolved) *int { return &r.authn.CryptoPoolSize })},
	{"xpack.security.crypto.thread_pool.queue_size", "", numberFromTo(1, 100_000, func(r *resolved) *int { return &r.authn.CryptoQueueSize })},
	{"tokenstore.authc.password_hashing.max_bcrypt_cost", "", numberFromTo(4, 31, func(r *resolved) *int { return &r.authn.MaxBcryptCost })},
	{"tokenstore.authc.password_hashing.max_pbkdf2_iterations", "", numberFromTo(1000, 10_000_000, func(r *resolved) *int { return &r.authn.MaxPBKDF2Iterations })},
	// Connection limits.
	{"tokenstore.http.handshake_timeout", "10s", timeFromTo(500*time.Millisecond, 5*time.Minute, func(r *resolved) *time.Duration { return &r.net.handshake })},
	{"tokenstore.http.request_timeout", "1m", timeFromTo(time.Second, time.Hour, func(r *resolved) *time.Duration { return &r.net.request })},
	// Elasticsearch's name: how long a connection may stay idle.
	{"http.read_timeout", "1m", timeFromTo(500*time.Millisecond, 24*time.Hour, func(r *resolved) *time.Duration { return &r.net.idle })},
	{"tokenstore.http.stream_timeout", "1h", timeFromTo(time.Second, 24*time.Hour, func(r *resolved) *time.Duration { return &r.net.stream })},
	{"tokenstore.transport.handshake_timeout", "10s", timeFromTo(500*time.Millisecond, 5*time.Minute, func(r *resolved) *time.Duration { return &r.net.raftHandshake })},
	{"tokenstore.http.max_open_connections", "4096", numberFromTo(1, 1<<20, func(r *resolved) *int { return &r.net.httpMaxConns })},
	{"tokenstore.transport.max_open_connections", "128", numberFromTo(8, 1<<16, func(r *resolved) *int { return &r.net.raftMaxConns })},
	// Plain text beyond loopback, refused unless this says otherwise.
	{"tokenstore.security.allow_insecure_non_loopback", "", flag(func(r *resolved, on bool) { r.net.allowInsecure = on })},
	// TLS, with Elasticsearch's names; checkSSL holds the rules between them.
	{"xpack.security.http.ssl.enabled", "", flag(func(r *resolved, on bool) { r.httpSSL.enabled = on })},
	{"xpack.security.http.ssl.certificate", "", text(func(r *resolved) *string { return &r.httpSSL.certificate })},
	{"xpack.security.http.ssl.key", "", text(func(r *resolved) *string { return &r.httpSSL.key })},
	{"xpack.security.http.ssl.certificate_authorities", "", fileList(func(r *resolved) *[]string { return &r.httpSSL.authorities })},
	{"xpack.security.transport.ssl.enabled", "", flag(func(r *resolved, on bool) { r.transportSSL.enabled = on })},
	{"xpack.security.transport.ssl.certificate", "", text(func(r *resolved) *string { return &r.transportSSL.certificate })},
	{"xpack.security.transport.ssl.key", "", text(func(r *resolved) *string { return &r.transportSSL.key })},
	{"xpack.security.transport.ssl.certificate_authorities", "", fileList(func(r *resolved) *[]string { return &r.transportSSL.authorities })},
	{"xpack.security.transport.ssl.verification_mode", "full", verificationMode},
	// Certificate files are polled and reloaded (Elasticsearch's names:
	// its ssl files are watched at the "high" frequency).
	{"resource.reload.enabled", "true", flag(func(r *resolved, on bool) { r.reload.enabled = on })},
	{"resource.reload.interval.high", "5s", timeFromTo(100*time.Millisecond, time.Hour, func(r *resolved) *time.Duration { return &r.reload.interval })},
	{"xpack.security.authc.password_hashing.algorithm", "", passwordHashing},
	{"xpack.security.authc.realms.native.default_native.cache.ttl", "", cacheTTL},
	// The forward-auth rule file (JSON), read when the node starts.
	{"tokenstore.forward_auth.rules", "", text(func(r *resolved) *string { return &r.forwardAuthRules })},
	// The audit log (node/audit.go), with Elasticsearch's names.
	{"xpack.security.audit.enabled", "false", flag(func(r *resolved, on bool) { r.audit.enabled = on })},
	{"xpack.security.audit.logfile.events.include", "", auditEvents(func(r *resolved) *[]string { return &r.audit.include })},
	{"xpack.security.audit.logfile.events.exclude", "", auditEvents(func(r *resolved) *[]string { return &r.audit.exclude })},
}

// affixTable is the settings named by a prefix, a name of the operator's
// and a suffix, as Elasticsearch's affix settings; they are resolved after
// settingTable, in name order.
var affixTable = []affixSetting{
	{"xpack.security.audit.logfile.events.ignore_filters.", []string{"users", "realms", "roles", "actions"}, auditIgnoreFilter},
}

// settingIndex finds a row by name.
var settingIndex = func() map[string]setting {
	m := make(map[string]setting, len(settingTable))
	for _, row := range settingTable {
		m[row.name] = row
	}
	return m
}()

func clusterName(r *resolved, _, v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("setting [cluster.name] must not be empty")
	}
	r.clusterName = v
	return nil
}

func securityEnabled(_ *resolved, _, v string) error {
	if v != "true" {
		return fmt.Errorf("setting [xpack.security.enabled] must be [true]: a credential service cannot run without security")
	}
	return nil
}

func tokenTimeout(r *resolved, name, v string) error {
	d, err := authn.ParseTimeValue(name, v)
	if err != nil {
		return err
	}
	if d < time.Second || d > time.Hour {
		return fmt.Errorf("setting [%s] must be between [1s] and [1h], got [%s]", name, v)
	}
	r.authn.TokenTimeout = d
	return nil
}

func snapshotRetain(r *resolved, name, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return fmt.Errorf("setting [%s] must be at least 1, got [%s]", name, v)
	}
	r.raft.retain = n
	return nil
}

func snapshotInterval(r *resolved, name, v string) error {
	d, err := authn.ParseTimeValue(name, v)
	if err != nil || d < time.Second {
		return fmt.Errorf("setting [%s] must be a time value of at least 1s, got [%s]", name, v)
	}
	r.raft.interval = d
	return nil
}

func verificationMode(r *resolved, name, v string) error {
	switch v {
	case "full":
		r.transportSSL.verifyHostname = true
	case "certificate":
		r.transportSSL.verifyHostname = false
	default:
		return fmt.Errorf("setting [%s] must be [full] or [certificate], got [%s]", name, v)
	}
	return nil
}

func passwordHashing(r *resolved, name, v string) error {
	if _, err := authn.NewHasher(v); err != nil {
		return fmt.Errorf("setting [%s]: %w", name, err)
	}
	r.authn.PasswordHashing = v
	return nil
}

func cacheTTL(r *resolved, name, v string) error {
	d, err := authn.ParseTimeValue(name, v)
	if err != nil {
		return err
	}
	r.authn.CacheTTL = max(d, 0)
	return nil
}
