package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/tokenstore/tokenstore/fsm"
)

func TestBatchRoundTrips(t *testing.T) {
	items := []batchItem{
		{credential: "Basic ZWxhc3RpYzpjaGFuZ2VtZQ==", event: []byte{0, 7, 1, '{', '}'}},
		{credential: "ApiKey abc", subject: "Refresh xyz", event: bytes.Repeat([]byte{0xff}, 300)},
		{},
	}
	var buf []byte
	for _, it := range items {
		before := len(buf)
		buf = appendBatchItem(buf, it)
		if got := len(buf) - before; got != it.encodedSize() {
			t.Errorf("encoded size: got %d, want %d", got, it.encodedSize())
		}
	}
	got, err := decodeBatch(buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(items) {
		t.Fatalf("got %d items, want %d", len(got), len(items))
	}
	for i := range items {
		if got[i].credential != items[i].credential || got[i].subject != items[i].subject || !bytes.Equal(got[i].event, items[i].event) {
			t.Errorf("item %d: got another item back", i)
		}
	}
	if s := fmt.Sprintf("%v %#v %s", got[0], got[0], got[0]); strings.Contains(s, "ZWxhc3Rp") {
		t.Errorf("an item prints its credential: %s", s)
	}
}

func TestBatchDecodeRefusesBadInput(t *testing.T) {
	one := appendBatchItem(nil, batchItem{credential: "c", event: []byte("event")})
	tooMany := bytes.Repeat(appendBatchItem(nil, batchItem{}), maxBatchItems+1)
	for name, data := range map[string][]byte{
		"cut short":                  one[:len(one)-1],
		"length beyond the end":      {0x05, 'a'},
		"length overflowing":         {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"one more than the bound":    tooMany,
		"a field missing at the end": one[:2],
	} {
		if _, err := decodeBatch(data); err == nil {
			t.Errorf("%s: decoded, want an error", name)
		}
	}
	if got, err := decodeBatch(tooMany[:len(tooMany)-3]); err != nil || len(got) != maxBatchItems {
		t.Errorf("exactly the bound: got %d items, %v; want %d", len(got), err, maxBatchItems)
	}
}

// testNode is enough of a node to send batches to a leader at a URL.
func testNode() *Node {
	return &Node{log: hclog.NewNullLogger(), stopped: make(chan struct{}),
		client: newInternalClient(&directLinks{}, nil, func(string) bool { return true })}
}

func pending(k int) []*pendingWrite {
	out := make([]*pendingWrite, k)
	for i := range out {
		out[i] = newPendingWrite([]byte{0, 1, 1}, "Basic x", "")
	}
	return out
}

// A batch is answered item by item, each as the single endpoint would
// have answered that write.
func TestBatchOutcomesAreEachWritesOwn(t *testing.T) {
	res := fsm.Result{Status: fsm.Created}
	answers := []forwardAnswer{
		{Status: http.StatusOK, Index: 7, Result: &res},
		{Status: http.StatusForbidden, Body: "action [cluster:admin/xpack/security/role/put] is unauthorized"},
		{Status: http.StatusConflict, Body: "not appended"},
		{Status: http.StatusPreconditionFailed, Body: "upgrade them first"},
		{Status: http.StatusServiceUnavailable, Unavailable: "disk full"},
		{Status: http.StatusServiceUnavailable, Body: "committed at index 9, not confirmed on every node"},
	}
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != pathProposeBatch || r.Header.Get(bodyCredentialsHeader) == "" {
			http.Error(w, "wrong request", http.StatusBadRequest)
			return
		}
		writeJSON(w, http.StatusOK, batchReply{Items: answers})
	}))
	defer leader.Close()
	out := testNode().postBatchTo(context.Background(), leader.URL, pending(len(answers)))
	if len(out) != len(answers) {
		t.Fatalf("got %d outcomes, want %d", len(out), len(answers))
	}
	if o := out[0]; o.err != nil || o.index != 7 || o.result.Status != fsm.Created {
		t.Errorf("appended write: got index %d, %v, %v", o.index, o.result, o.err)
	}
	if _, ok := errors.AsType[*ForbiddenError](out[1].err); !ok || out[1].retry {
		t.Errorf("refused write: got %v (retry %v), want a ForbiddenError", out[1].err, out[1].retry)
	}
	if !out[2].retry {
		t.Errorf("write the leader did not append: got %v, want a retry", out[2].err)
	}
	if _, ok := errors.AsType[*UnsupportedEventError](out[3].err); !ok {
		t.Errorf("unsupported event: got %v", out[3].err)
	}
	if ue, ok := errors.AsType[*UnavailableError](out[4].err); !ok || !strings.Contains(ue.Reason, "disk full") {
		t.Errorf("leader that cannot write: got %v", out[4].err)
	}
	if o := out[5]; !errors.Is(o.err, ErrUnavailable) || o.retry {
		t.Errorf("unconfirmed write: got %v (retry %v), want unavailable, no retry", o.err, o.retry)
	}
}

// A leader of an older build has no batch endpoint: nothing was sent, and
// the writes go alone from then on.
func TestBatchToALeaderWithoutTheEndpointGoesAlone(t *testing.T) {
	leader := httptest.NewServer(http.NotFoundHandler())
	defer leader.Close()
	n := testNode()
	for i, o := range n.postBatchTo(context.Background(), leader.URL, pending(3)) {
		if !o.alone || o.err != nil {
			t.Errorf("write %d: got alone %v, %v; want alone", i, o.alone, o.err)
		}
	}
	if n.batches.accepted() {
		t.Error("batches still tried after a 404")
	}
}

// A batch sent without an answer has an unknown outcome for every write in
// it: none may be sent again. One the leader refused whole before
// appending anything may be.
func TestBatchWithoutAnAnswerIsOutcomeUnknown(t *testing.T) {
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer cut.Close()
	for i, o := range testNode().postBatchTo(context.Background(), cut.URL, pending(2)) {
		if o.retry || o.alone || !strings.Contains(fmt.Sprint(o.err), "outcome unknown") {
			t.Errorf("write %d: got %v (retry %v), want outcome unknown", i, o.err, o.retry)
		}
	}
	notLeader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not the leader", http.StatusConflict)
	}))
	defer notLeader.Close()
	for i, o := range testNode().postBatchTo(context.Background(), notLeader.URL, pending(2)) {
		if !o.retry {
			t.Errorf("write %d refused by a follower: got %v, want a retry", i, o.err)
		}
	}
}

// A batch carries credentials in its body: it goes only where a header
// with them could.
func TestBatchCredentialsGoOnlyToVerifiedMembers(t *testing.T) {
	sent := false
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sent = true }))
	defer leader.Close()
	n := testNode()
	n.client = newInternalClient(&directLinks{}, nil, func(string) bool { return false })
	for i, o := range n.postBatchTo(context.Background(), leader.URL, pending(2)) {
		if !errors.Is(o.err, ErrUnverifiedPeer) || !o.retry {
			t.Errorf("write %d: got %v, want ErrUnverifiedPeer before sending", i, o.err)
		}
	}
	if sent {
		t.Error("the batch reached a member not verified as a node")
	}
}
