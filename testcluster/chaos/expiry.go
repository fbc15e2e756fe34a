package chaos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// checkExpiry runs while node skewed's clock is off by d (minutes). Keys
// with an expiry of |d|/2 are not part of the linearizability history: their
// validity depends on the reader's clock by design ("expiry is evaluated by
// readers with their clock"). It checks that
//   - a key created on a node with a right clock authenticates on every
//     node with a right clock, whatever the skewed node does;
//   - the skewed node decides that key's expiry with its own clock;
//   - every node stores the same creation and expiration times for it:
//     nothing in the state depends on the reader's clock.
//
// It also notes what the right-clock nodes decide for a key created on the
// skewed node, whose times come from the skewed clock.
func (s *Schedule) checkExpiry(t testing.TB, skewed int, d time.Duration) {
	t.Helper()
	half := d.Abs() / 2
	exp := fmt.Sprintf("%ds", int(half.Seconds()))
	right := others(s.C.Len(), skewed)
	origin := right[s.Rand.IntN(len(right))]
	id, encoded, ok := s.createExpiring(t, origin, exp)
	if !ok {
		return
	}
	for _, m := range right {
		if op := s.authenticateAnswered(t, m, id, encoded); op.Outcome != OK {
			t.Errorf("key created on node %d expiring in %s refused by node %d whose clock is right, while node %d is %v off: %v",
				origin, exp, m, skewed, d, op)
		}
	}
	op := s.authenticateAnswered(t, skewed, id, encoded)
	wantExpired := d > half
	if gotExpired := op.Outcome == Refused && op.Detail == "api key is expired"; gotExpired != wantExpired || (op.Outcome != OK && !gotExpired) {
		t.Errorf("node %d with its clock %v off: key expiring in %s answered %v, want expired=%v", skewed, d, exp, op, wantExpired)
	}
	s.sameRecordEverywhere(t, id)

	id2, encoded2, ok := s.createExpiring(t, skewed, exp)
	if !ok {
		return
	}
	var refused []int
	for _, m := range right {
		if op := s.authenticateAnswered(t, m, id2, encoded2); op.Outcome != OK {
			refused = append(refused, m)
		}
	}
	s.sameRecordEverywhere(t, id2)
	if len(refused) > 0 {
		s.note("a key created on node %d (clock %v off) with expiration %s was refused as expired at once by the right-clock nodes %v: its creation and expiration times come from the creating node's clock",
			skewed, d, exp, refused)
	}
}

// createExpiring creates a key with an expiration on node; a failure is
// reported and the run goes on, so one stuck node does not hide the rest.
func (s *Schedule) createExpiring(t testing.TB, node int, exp string) (string, string, bool) {
	t.Helper()
	deadline := time.Now().Add(s.Recover)
	var op Op
	for time.Now().Before(deadline) {
		name := fmt.Sprintf("%s-exp-%d", s.W.Prefix, s.W.seq.Add(1))
		var encoded string
		if op, encoded = s.W.create(probeClient, node, name, exp); op.Outcome == OK {
			return op.Key, encoded, true
		}
		time.Sleep(10 * time.Millisecond) // pacing between attempts
	}
	t.Errorf("no key with expiration %s could be created on node %d within %v; last answer: %v", exp, node, s.Recover, op)
	return "", "", false
}

// authenticateAnswered retries until the node gives a 200 or a 401.
func (s *Schedule) authenticateAnswered(t testing.TB, node int, id, encoded string) Op {
	t.Helper()
	deadline := time.Now().Add(s.Recover)
	for {
		op := s.W.authenticate(probeClient, node, id, encoded)
		if op.Outcome != Unknown || time.Now().After(deadline) {
			return op
		}
		time.Sleep(10 * time.Millisecond) // pacing between attempts
	}
}

// sameRecordEverywhere compares a key's stored record on every node.
func (s *Schedule) sameRecordEverywhere(t testing.TB, id string) {
	t.Helper()
	var first []byte
	for i := range s.C.Len() {
		r, err := testcluster.Do(s.C.URL(i), http.MethodGet, "/_security/api_key?id="+id, testcluster.Elastic, nil)
		if err != nil || r.Status != http.StatusOK {
			t.Errorf("get api key %s on node %d: %v %d %s", id, i, err, r.Status, r.Body)
			continue
		}
		var out struct {
			APIKeys []struct {
				Creation    int64  `json:"creation"`
				Expiration  int64  `json:"expiration"`
				Invalidated bool   `json:"invalidated"`
				Name        string `json:"name"`
			} `json:"api_keys"`
		}
		if json.Unmarshal(r.Body, &out) != nil || len(out.APIKeys) != 1 {
			t.Errorf("get api key %s on node %d: %s", id, i, r.Body)
			continue
		}
		rec, _ := json.Marshal(out.APIKeys[0])
		if first == nil {
			first = rec
		} else if !bytes.Equal(rec, first) {
			t.Errorf("api key %s on node %d is %s, on node 0 %s", id, i, rec, first)
		}
	}
}
