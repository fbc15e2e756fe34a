package node

import (
	"net"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/metrics"
)

func TestSettingsDefaults(t *testing.T) {
	r, err := Settings{}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ got, want any }{
		"cluster.name":            {r.clusterName, "tokenstore"},
		"retention_period":        {r.purge.Retention, 7 * 24 * time.Hour},
		"api_key.delete.interval": {r.purge.Interval, 24 * time.Hour},
		"token.delete.interval":   {r.purge.TokenInterval, 30 * time.Minute},
		"handshake_timeout":       {r.net.handshake, 10 * time.Second},
		"request_timeout":         {r.net.request, time.Minute},
		"read_timeout":            {r.net.idle, time.Minute},
		"stream_timeout":          {r.net.stream, time.Hour},
		"transport handshake":     {r.net.raftHandshake, 10 * time.Second},
		"http connections":        {r.net.httpMaxConns, 4096},
		"raft connections":        {r.net.raftMaxConns, 128},
		"verification_mode":       {r.transportSSL.verifyHostname, true},
		"tokens enabled":          {r.authn.TokensEnabled, true},
		"node.voter":              {r.nonVoter, false},
		"last_used.interval":      {r.authn.LastUsedInterval, time.Hour},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", name, c.got, c.want)
		}
	}
}

func TestSettingsErrors(t *testing.T) {
	for _, tc := range []struct {
		settings Settings
		want     string
	}{
		{Settings{"no.such": "1", "also.not": "2"}, "unknown setting [also.not], [no.such]"},
		{Settings{"cluster.name": " "}, "setting [cluster.name] must not be empty"},
		{Settings{"xpack.security.authc.token.timeout": "2h"}, "setting [xpack.security.authc.token.timeout] must be between [1s] and [1h], got [2h]"},
		{Settings{"raft.heartbeat_timeout": "10ms"}, "setting [raft.heartbeat_timeout] must be a time value between [50ms] and [1m], got [10ms]"},
		{Settings{"http.read_timeout": "1ms"}, "setting [http.read_timeout] must be a time value from [500ms] to [24h], got [1ms]"},
		{Settings{"tokenstore.authc.throttle.address.refill": "0"}, "setting [tokenstore.authc.throttle.address.refill] must be a time value from [1ms] to [1h], got [0]"},
		{Settings{"tokenstore.http.max_open_connections": "0"}, "setting [tokenstore.http.max_open_connections] must be a number from 1 to 1048576, got [0]"},
		{Settings{"xpack.security.authc.api_key.delete.interval": "0"}, "failed to parse value [0] for setting [xpack.security.authc.api_key.delete.interval]: must be >= 1s"},
		{Settings{"xpack.security.authc.api_key.last_used.interval": "500ms"}, "setting [xpack.security.authc.api_key.last_used.interval] must be a time value from [1s] to [24h], got [500ms]"},
		{Settings{"tokenstore.authc.throttle.enabled": "no"}, "setting [tokenstore.authc.throttle.enabled] must be [true] or [false], got [no]"},
		{Settings{"node.voter": "maybe"}, "setting [node.voter] must be [true] or [false], got [maybe]"},
		{Settings{"xpack.security.transport.ssl.enabled": "true", "xpack.security.transport.ssl.certificate": "c", "xpack.security.transport.ssl.key": "k"},
			"setting [xpack.security.transport.ssl.enabled] is true, so [xpack.security.transport.ssl.certificate_authorities] must name the cluster CA that peers are verified against"},
	} {
		if _, err := tc.settings.resolve(); err == nil || err.Error() != tc.want {
			t.Errorf("%v: got %v, want %s", tc.settings, err, tc.want)
		}
	}
}

// node.voter=false reaches the cluster's configuration as a non-voter.
func TestNodeVoterSetting(t *testing.T) {
	for v, want := range map[string]bool{"true": false, "false": true} {
		r, err := Settings{"node.voter": v}.resolve()
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		n := &Node{settings: r, listener: ln, metrics: metrics.New()}
		got := n.clusterConfig().NonVoter
		ln.Close()
		if got != want {
			t.Errorf("node.voter=%s: cluster NonVoter %v, want %v", v, got, want)
		}
	}
}
