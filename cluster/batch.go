package cluster

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/tokenstore/tokenstore/fsm"
)

// Group commit of forwarded writes. A follower sends the writes its
// clients make to the leader in batches: while one batch is on its way,
// what arrives waits and goes in the next one, so under load a request
// carries many writes and when idle a write goes at once (no timer). The
// leader authorizes each write with its own credentials, appends those it
// admits with one raft.Apply each (Raft writes what is queued together in
// one append, one fsync), waits once for the highest revoking index to be
// confirmed on every member, and answers each write with what the single
// endpoint would have answered it.
const (
	// maxBatchItems and maxBatchBytes bound a batch: the follower builds
	// none larger and the leader reads none larger. A write larger than
	// maxBatchBytes on its own goes alone.
	maxBatchItems = 256
	maxBatchBytes = 1 << 20
	// maxBatchReplyBytes bounds the leader's answer to a batch as the
	// follower reads it.
	maxBatchReplyBytes = 16 << 20
	// batchesInFlight is how many batches a follower has on their way to
	// the leader at once.
	batchesInFlight = 1
	// aloneFor is how long writes go alone after the leader refused a
	// batch (a leader of an older build answers 404) before batches are
	// tried again.
	aloneFor = time.Minute
)

// bodyCredentialsHeader marks a request that carries credentials in its
// body, so that credentialGuard holds it to the same rule as a header.
const bodyCredentialsHeader = "X-Tokenstore-Credentials-In-Body"

// batchItem is one forwarded write on the wire: the client's credential,
// the subject's (for a write on another's behalf), and the event.
type batchItem struct {
	credential, subject string
	event               []byte
}

// String keeps the credentials out of anything that prints an item.
func (batchItem) String() string   { return "[redacted]" }
func (batchItem) GoString() string { return "[redacted]" }

// appendBatchItem encodes an item: each field a uvarint length and its
// bytes. Binary, since events are.
func appendBatchItem(buf []byte, it batchItem) []byte {
	for _, f := range [][]byte{[]byte(it.credential), []byte(it.subject), it.event} {
		buf = binary.AppendUvarint(buf, uint64(len(f)))
		buf = append(buf, f...)
	}
	return buf
}

// encodedSize is the size appendBatchItem gives the item.
func (it batchItem) encodedSize() int {
	n := 0
	for _, l := range []int{len(it.credential), len(it.subject), len(it.event)} {
		n += l + 1
		for v := l >> 7; v > 0; v >>= 7 {
			n++
		}
	}
	return n
}

// decodeBatch reads the items of a batch, at most maxBatchItems.
func decodeBatch(data []byte) ([]batchItem, error) {
	var items []batchItem
	for len(data) > 0 {
		if len(items) == maxBatchItems {
			return nil, fmt.Errorf("a batch holds at most %d writes", maxBatchItems)
		}
		var f [3][]byte
		for i := range f {
			l, n := binary.Uvarint(data)
			if n <= 0 || l > uint64(len(data)-n) {
				return nil, fmt.Errorf("write %d of the batch is cut short", len(items))
			}
			f[i], data = data[n:n+int(l)], data[n+int(l):]
		}
		items = append(items, batchItem{credential: string(f[0]), subject: string(f[1]), event: f[2]})
	}
	return items, nil
}

// batchReply is the leader's answer to a batch: one answer per write, in
// the batch's order.
type batchReply struct {
	Items []forwardAnswer `json:"items"`
}

// handleProposeBatch is the leader's side of a batch. Each write is
// checked and appended as handlePropose does it; a write refused fails
// alone.
func (n *Node) handleProposeBatch(w http.ResponseWriter, r *http.Request, authz Authorizer) {
	data, ok := n.leaderBody(w, r, maxBatchBytes)
	if !ok {
		return
	}
	items, err := decodeBatch(data)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, http.StatusOK, batchReply{Items: n.appendBatch(r.Context(), authz, items, r.RemoteAddr)})
}

// appendBatch admits and appends each write at once: Raft takes the
// entries queued meanwhile in one append, and the credentials of one
// write that needs a slow hash do not hold the others up.
func (n *Node) appendBatch(ctx context.Context, authz Authorizer, items []batchItem, from string) []forwardAnswer {
	answers := make([]forwardAnswer, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() {
			a := n.admitForwarded(authz, it.credential, it.subject, it.event, from)
			if a == nil {
				a = appendAnswer(n.applyLocal(it.event))
			}
			answers[i] = *a
		})
	}
	wg.Wait()
	n.confirmBatch(ctx, items, answers)
	return answers
}

// confirmBatch waits once, for the highest index among the appended writes
// that may revoke, until every member has applied it (proposeConfirmed's
// wait, for all of them); if that fails, each of them fails with it.
func (n *Node) confirmBatch(ctx context.Context, items []batchItem, answers []forwardAnswer) {
	revokes := func(i int) bool { return answers[i].Status == http.StatusOK && !fsm.OnlyAdds(items[i].event) }
	var top uint64
	for i := range answers {
		if revokes(i) {
			top = max(top, answers[i].Index)
		}
	}
	if top == 0 {
		return
	}
	err := n.WaitConfirmed(ctx, top)
	if err == nil {
		return
	}
	for i := range answers {
		if revokes(i) {
			answers[i] = *appendAnswer(0, fsm.Result{}, fmt.Errorf("committed at index %d, not confirmed on every node: %w", answers[i].Index, err))
		}
	}
}

// batches is a follower's queue of writes waiting for the next batch.
type batches struct {
	mu      sync.Mutex
	waiting []*pendingWrite
	sending int // batches on their way
	// aloneUntil: writes go alone until then (the leader took no batch).
	aloneUntil time.Time
}

// pendingWrite is a forwarded write in the queue; its outcome arrives on
// done.
type pendingWrite struct {
	item batchItem
	size int
	done chan batchOutcome
}

// batchOutcome is a write's outcome in a batch. alone says the leader
// took no batch and the write was not sent: it goes on its own.
type batchOutcome struct {
	forwarded
	alone bool
}

func newPendingWrite(event []byte, credential, subject string) *pendingWrite {
	it := batchItem{credential: credential, subject: subject, event: event}
	return &pendingWrite{item: it, size: it.encodedSize(), done: make(chan batchOutcome, 1)}
}

// accepted reports whether the leader is taken to accept batches.
func (q *batches) accepted() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return time.Now().After(q.aloneUntil)
}

// submitBatched queues w for the next batch and waits for its outcome;
// alone says w was not sent and should go on its own.
func (n *Node) submitBatched(ctx context.Context, w *pendingWrite) (forwarded, bool) {
	q := &n.batches
	q.mu.Lock()
	q.waiting = append(q.waiting, w)
	if q.sending < batchesInFlight {
		q.sending++
		go n.sendBatches(q.takeLocked())
	}
	q.mu.Unlock()
	select {
	case out := <-w.done:
		return out.forwarded, out.alone
	case <-ctx.Done():
		return n.abandon(w, ctx.Err()), false
	case <-n.stopped:
		return n.abandon(w, errors.New("node stopped")), false
	}
}

// abandon gives up waiting for w: a write still queued is taken out (it
// was never sent); one already on its way has an outcome nobody knows.
func (n *Node) abandon(w *pendingWrite, why error) forwarded {
	q := &n.batches
	q.mu.Lock()
	defer q.mu.Unlock()
	if i := slices.Index(q.waiting, w); i >= 0 {
		q.waiting = slices.Delete(q.waiting, i, i+1)
		return forwarded{err: fmt.Errorf("%w: %v", ErrUnavailable, why)}
	}
	select {
	case out := <-w.done:
		if !out.alone {
			return out.forwarded
		}
		return forwarded{err: fmt.Errorf("%w: %v", ErrUnavailable, why)}
	default:
		return outcomeUnknown(why)
	}
}

// takeLocked takes the next batch off the queue: the oldest writes, up to
// the bounds.
func (q *batches) takeLocked() []*pendingWrite {
	k, size := 0, 0
	for k < len(q.waiting) && k < maxBatchItems && size+q.waiting[k].size <= maxBatchBytes {
		size += q.waiting[k].size
		k++
	}
	batch := slices.Clone(q.waiting[:k])
	rest := copy(q.waiting, q.waiting[k:])
	clear(q.waiting[rest:])
	q.waiting = q.waiting[:rest]
	return batch
}

// sendBatches sends batch, then whatever queued meanwhile, until the queue
// is empty.
func (n *Node) sendBatches(batch []*pendingWrite) {
	q := &n.batches
	for len(batch) > 0 {
		for i, out := range n.postBatch(batch) {
			batch[i].done <- out
		}
		q.mu.Lock()
		batch = q.takeLocked()
		if len(batch) == 0 {
			q.sending--
		}
		q.mu.Unlock()
	}
}

// postBatch sends a batch to the leader and returns each write's outcome.
func (n *Node) postBatch(batch []*pendingWrite) []batchOutcome {
	leader := n.Leader()
	base, err := n.leaderURL()
	if err != nil {
		return sameOutcome(len(batch), batchOutcome{forwarded: forwarded{err: err, retry: true}})
	}
	ctx, cancel := n.whileLeads(context.Background(), leader)
	defer cancel()
	return n.postBatchTo(ctx, base, batch)
}

func sameOutcome(k int, o batchOutcome) []batchOutcome {
	out := make([]batchOutcome, k)
	for i := range out {
		out[i] = o
	}
	return out
}

// postBatchTo sends a batch to the leader at base.
func (n *Node) postBatchTo(ctx context.Context, base string, batch []*pendingWrite) []batchOutcome {
	all := func(o batchOutcome) []batchOutcome { return sameOutcome(len(batch), o) }
	status, body, reply, err := n.callBatch(ctx, base, batch)
	switch {
	case err != nil && !neverSent(err):
		return all(batchOutcome{forwarded: outcomeUnknown(err)})
	case err != nil:
		return all(batchOutcome{forwarded: forwarded{err: err, retry: true}})
	case status == http.StatusNotFound, status == http.StatusUnauthorized, status == http.StatusForbidden:
		// Refused before any write was looked at: an older leader, or one
		// that does not take this node's credential for node-only calls.
		n.log.Info("the leader takes no batches of forwarded writes; writes go alone for a while", "status", status)
		n.batches.mu.Lock()
		n.batches.aloneUntil = time.Now().Add(aloneFor)
		n.batches.mu.Unlock()
		return all(batchOutcome{alone: true})
	case status != http.StatusOK:
		return all(batchOutcome{forwarded: leaderRefused(status, body, esReason(body))})
	case len(reply.Items) != len(batch):
		return all(batchOutcome{forwarded: outcomeUnknown(fmt.Errorf("the leader answered %d writes of %d", len(reply.Items), len(batch)))})
	}
	out := make([]batchOutcome, len(batch))
	for i, a := range reply.Items {
		out[i].forwarded = a.forwarded()
	}
	return out
}

// callBatch posts a batch: this node's own credential in the header (a
// node-only endpoint), the writes' credentials in the body.
func (n *Node) callBatch(ctx context.Context, base string, batch []*pendingWrite) (int, []byte, batchReply, error) {
	var reply batchReply
	size := 0
	for _, w := range batch {
		size += w.size
	}
	body := make([]byte, 0, size)
	for _, w := range batch {
		body = appendBatchItem(body, w.item)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+pathProposeBatch, bytes.NewReader(body))
	if err != nil {
		return 0, nil, reply, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(bodyCredentialsHeader, "true")
	if c := n.peerCredential(); c != "" {
		req.Header.Set("Authorization", c)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, nil, reply, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBatchReplyBytes))
	if err != nil {
		return 0, nil, reply, err
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, &reply); err != nil {
			return 0, nil, reply, fmt.Errorf("decode the leader's answer to a batch: %w", err)
		}
	}
	return resp.StatusCode, data, reply, nil
}
