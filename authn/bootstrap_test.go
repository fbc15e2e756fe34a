package authn

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tokenstore/tokenstore/fsm"
)

// Issue 14 item 8: before the state applied the cluster's bootstrap, no
// password is decided: every attempt, right or wrong, is a 503 that costs
// the client nothing; once it applied, a wrong password is a 401 again.
func TestNoCredentialIsDecidedBeforeTheBootstrap(t *testing.T) {
	st := fsm.NewState()
	svc, err := New(stateProposer{st}, Config{PasswordHashing: "bcrypt4", Throttle: ThrottleConfig{AddressBurst: 3, UserBurst: 3},
		Logger: hclog.NewNullLogger(), Now: func() time.Time { return time.Unix(1_700_000_000, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		_, err := svc.Authenticate(context.Background(), basicHeader("elastic", "wrong-password"), "/", "10.9.9.9:5000")
		if kind, typ := authErr(err); kind != Unavailable || typ != "unavailable_shards_exception" {
			t.Fatalf("attempt %d before the bootstrap: %v (%v), want a 503", i, kind, typ)
		}
	}
	h, _ := NewHasher("bcrypt4")
	hash, _ := h.Hash([]byte("right-password"))
	if _, err := st.ApplyEvent(1, fsm.MustEncode(fsm.ElasticBootstrappedV1{PasswordHash: hash, ClusterID: "c1"})); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(context.Background(), basicHeader("elastic", "wrong-password"), "/", "10.9.9.9:5000"); func() bool {
		kind, _ := authErr(err)
		return kind != Unauthenticated
	}() {
		t.Fatalf("wrong password after the bootstrap: %v, want a 401 (no strike was left from before)", err)
	}
	if c, err := svc.Authenticate(context.Background(), basicHeader("elastic", "right-password"), "/", "10.9.9.9:5000"); err != nil || c.Auth.Username != "elastic" {
		t.Fatalf("right password after the bootstrap: %v", err)
	}
}
