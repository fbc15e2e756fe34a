package metrics

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tokenstore/tokenstore/fsm"
)

// stateWith applies events to a new state, numbering them from 1.
func stateWith(tb testing.TB, events ...fsm.Payload) *fsm.State {
	tb.Helper()
	st := fsm.NewState()
	for i, p := range events {
		data, err := fsm.Encode(p)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := st.ApplyEvent(uint64(i+1), data); err != nil {
			tb.Fatal(err)
		}
	}
	return st
}

func apiKey(id string, expiration int64) fsm.Payload {
	return fsm.APIKeyCreatedV1{Key: fsm.APIKey{ID: id, Name: id, Type: "rest", Hash: "{SSHA256}AAAAAAAAAAA=" + "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
		Creation: 1000, Expiration: expiration, Creator: fsm.Creator{Principal: "joe", Realm: "default_native"}}}
}

// TestCredentialStates: each key, token pair, user and profile lands in its state
// by this node's clock.
func TestCredentialStates(t *testing.T) {
	now := time.UnixMilli(10_000)
	st := stateWith(t,
		apiKey("valid", 0), apiKey("later", 20_000), apiKey("expired", 5_000), apiKey("revoked", 0),
		fsm.APIKeysInvalidatedV1{IDs: []string{"revoked"}, Time: 6_000},
		fsm.TokenIssuedV1{Pair: fsm.TokenPair{DocID: "t1", AccessHash: "a", RefreshHash: "r", Creation: 1000, GrantTime: 1000, AccessExpiry: 20_000, Username: "joe"}},
		fsm.TokenIssuedV1{Pair: fsm.TokenPair{DocID: "t2", AccessHash: "a", Creation: 1000, GrantTime: 1000, AccessExpiry: 5_000, Username: "joe"}},
		fsm.ProfileActivatedV1{Profile: fsm.Profile{UID: "u_a_0", Username: "joe"}},
		fsm.ProfileActivatedV1{Profile: fsm.Profile{UID: "u_b_0", Username: "amy"}},
		fsm.ProfileEnabledSetV1{UID: "u_b_0", Enabled: false},
	)
	c := newCredentialCollector(st, func() int { return 2 }, func() time.Time { return now })
	got := c.count()
	want := census{apiKeys: [4]int{valid: 2, expired: 1, invalidated: 1}, access: [4]int{valid: 1, expired: 1},
		refresh: [4]int{valid: 1}, profiles: [4]int{valid: 1, disabled: 1}, fileServiceTokens: 2}
	if got != want {
		t.Errorf("census %+v, want %+v", got, want)
	}
	if n := testutil.CollectAndCount(c); n != 16 {
		t.Errorf("%d series, want 16", n)
	}
}

// BenchmarkCredentialScrape is one scrape of the credential gauges over a
// state of 100,000 API keys: the time the state's read lock is shared
// with it (writes wait for their turn meanwhile).
func BenchmarkCredentialScrape(b *testing.B) {
	events := make([]fsm.Payload, 100_000)
	for i := range events {
		events[i] = apiKey(fmt.Sprintf("key-%06d", i), int64(i%3)*5_000)
	}
	st := stateWith(b, events...)
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCredentialCollector(st, func() int { return 0 }, time.Now))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEveryEventHasALabel: a new event needs its row in eventNames.
func TestEveryEventHasALabel(t *testing.T) {
	seen := map[string]bool{}
	for _, typ := range fsm.EventTypes() {
		name, ok := eventNames[typ]
		if !ok || seen[name] {
			t.Errorf("event type %d: label %q (missing or shared); add its row to eventNames", typ, name)
		}
		seen[name] = true
	}
}
