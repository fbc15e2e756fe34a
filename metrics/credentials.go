package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokenstore/tokenstore/fsm"
)

// credentialCollector counts the credentials in the state at scrape time,
// by kind and state: one pass over each kind under the state's read lock
// (see BenchmarkCredentialScrape for its cost at 100,000 keys).
type credentialCollector struct {
	state *fsm.State
	// fileTokens is the size of this node's service_tokens file.
	fileTokens func() int
	now        func() time.Time
	desc       *prometheus.Desc
}

func newCredentialCollector(st *fsm.State, fileTokens func() int, now func() time.Time) *credentialCollector {
	return &credentialCollector{state: st, fileTokens: fileTokens, now: now,
		desc: prometheus.NewDesc(ns+"_credentials", "Credentials in this node's state, by kind and state (expired by this node's clock).",
			[]string{"kind", "state"}, nil)}
}

// states of a credential; users use valid and disabled.
const (
	valid = iota
	expired
	invalidated
	disabled
)

var stateNames = [...]string{"valid", "expired", "invalidated", "disabled"}

// census is the counts of one scrape: for each kind, the states it has.
type census struct {
	users, apiKeys, access, refresh, profiles [len(stateNames)]int
	roles, serviceTokens, fileServiceTokens   int
}

func (c *credentialCollector) count() census {
	var out census
	now := c.now().UnixMilli()
	for _, u := range c.state.Users() {
		if u.Enabled {
			out.users[valid]++
		} else {
			out.users[disabled]++
		}
	}
	for _, p := range c.state.Profiles() {
		if p.Enabled {
			out.profiles[valid]++
		} else {
			out.profiles[disabled]++
		}
	}
	out.roles = len(c.state.Roles())
	// keep runs under the read lock and keeps nothing: one pass, no copy.
	c.state.APIKeys(func(k *fsm.APIKey) bool {
		switch {
		case k.Invalidated:
			out.apiKeys[invalidated]++
		case k.Expiration > 0 && k.Expiration <= now:
			out.apiKeys[expired]++
		default:
			out.apiKeys[valid]++
		}
		return false
	})
	c.state.Tokens(func(t *fsm.TokenPair) bool {
		out.access[tokenState(t.AccessInvalidated, t.AccessExpiry <= now)]++
		if t.RefreshHash != "" {
			// A used refresh token cannot be used again (after
			// Elasticsearch's short retry window): it counts as invalidated.
			out.refresh[tokenState(t.RefreshInvalidated || t.RefreshTime > 0, t.GrantTime+fsm.RefreshLifetime <= now)]++
		}
		return false
	})
	out.serviceTokens = c.state.Counts()["service_tokens"]
	out.fileServiceTokens = c.fileTokens()
	return out
}

func tokenState(invalid, past bool) int {
	switch {
	case invalid:
		return invalidated
	case past:
		return expired
	}
	return valid
}

func (c *credentialCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *credentialCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.count()
	g := func(kind string, state int, v int) {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(v), kind, stateNames[state])
	}
	g("users", valid, n.users[valid])
	g("users", disabled, n.users[disabled])
	g("profiles", valid, n.profiles[valid])
	g("profiles", disabled, n.profiles[disabled])
	g("roles", valid, n.roles)
	for _, s := range []int{valid, expired, invalidated} {
		g("api_keys", s, n.apiKeys[s])
		g("access_tokens", s, n.access[s])
		g("refresh_tokens", s, n.refresh[s])
	}
	g("service_tokens_index", valid, n.serviceTokens)
	g("service_tokens_file", valid, n.fileServiceTokens)
}
