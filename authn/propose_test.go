package authn

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tokenstore/tokenstore/fsm"
)

// versionProposer records the versions proposed to it. The members it
// stands for apply compact events when compactOK; the leader refuses the
// first compact event it is sent when leaderRefuses (it knows of an older
// member the proposing node has not seen yet).
type versionProposer struct {
	stateProposer
	compactOK, leaderRefuses bool
	sent                     *[]fsm.EventKey
}

type notSupported struct{}

func (notSupported) Error() string      { return "an older member does not apply it" }
func (notSupported) EventNotSupported() {}

// Propose refuses a compact event as the node's own check does when a
// member lacks it (nothing is sent: sent stays as it is), and as the
// leader does when leaderRefuses (sent, then refused).
func (p versionProposer) Propose(_ context.Context, event []byte, _, _ string) (uint64, fsm.Result, error) {
	k, _ := fsm.Header(event)
	if !p.compactOK && !fsm.Baseline.Has(k.Type, k.Version) {
		return 0, fsm.Result{}, notSupported{}
	}
	*p.sent = append(*p.sent, k)
	if p.leaderRefuses && !fsm.Baseline.Has(k.Type, k.Version) {
		return 0, fsm.Result{}, notSupported{}
	}
	return 1, fsm.Result{Status: fsm.Created}, nil
}

// A hot event is written compact once every member applies it, and as it
// is otherwise, or when the leader refuses the compact one.
func TestProposeWritesCompactEventsOnceEveryMemberAppliesThem(t *testing.T) {
	issued := fsm.TokenIssuedV1{Pair: fsm.TokenPair{DocID: "token_a"}}
	for _, c := range []struct {
		name                     string
		compactOK, leaderRefuses bool
		want                     []fsm.EventKey
	}{
		{"every member applies it", true, false, []fsm.EventKey{{Type: fsm.TokenIssued, Version: 2}}},
		{"an older member remains", false, false, []fsm.EventKey{{Type: fsm.TokenIssued, Version: 1}}},
		{"the leader knows of an older member", true, true,
			[]fsm.EventKey{{Type: fsm.TokenIssued, Version: 2}, {Type: fsm.TokenIssued, Version: 1}}},
	} {
		var sent []fsm.EventKey
		p := versionProposer{stateProposer: stateProposer{fsm.NewState()}, compactOK: c.compactOK, leaderRefuses: c.leaderRefuses, sent: &sent}
		svc, err := New(p, Config{PasswordHashing: "bcrypt4", Logger: hclog.NewNullLogger(), Now: func() time.Time { return time.Unix(1_700_000_000, 0) }})
		if err != nil {
			t.Fatal(err)
		}
		res, err := svc.propose(context.Background(), Caller{}, issued)
		if err != nil || res.Status != fsm.Created {
			t.Errorf("%s: %v %v", c.name, res, err)
		}
		if !slices.Equal(sent, c.want) {
			t.Errorf("%s: sent %v, want %v", c.name, sent, c.want)
		}
	}
}
