package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// Key is an API key whose create was acknowledged.
type Key struct {
	ID, Name, Encoded string
	// invalidating is set once a client has picked the key to invalidate,
	// so most keys are invalidated at most once.
	invalidating atomic.Bool
}

// Workload creates, invalidates and authenticates API keys on random nodes
// of a cluster and records every operation.
type Workload struct {
	C   *testcluster.Cluster
	Rec *Recorder
	// Prefix starts every key name, so keys whose create answer was lost
	// can be found by name afterwards.
	Prefix string

	seq atomic.Int64
	mu  sync.Mutex
	// keys holds the acknowledged creates, in acknowledgement order.
	keys []*Key
	// lostNames are the names of creates with an unknown outcome; failed
	// are the names of creates refused with a 4xx.
	lostNames, failedNames []string
}

// NewWorkload prepares clients for cluster c; prefix names this run's keys.
func NewWorkload(c *testcluster.Cluster, rec *Recorder, prefix string) *Workload {
	return &Workload{C: c, Rec: rec, Prefix: prefix}
}

// Keys returns the acknowledged keys.
func (w *Workload) Keys() []*Key {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*Key(nil), w.keys...)
}

func (w *Workload) pick(rng *rand.Rand) *Key {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(w.keys)
	if n == 0 {
		return nil
	}
	// Half of the picks go to recent keys, where replication races are.
	if rng.IntN(2) == 0 {
		return w.keys[n-1-rng.IntN(min(n, 32))]
	}
	return w.keys[rng.IntN(n)]
}

// pickToInvalidate prefers a key nobody has invalidated yet.
func (w *Workload) pickToInvalidate(rng *rand.Rand) *Key {
	for range 8 {
		if k := w.pick(rng); k != nil && k.invalidating.CompareAndSwap(false, true) {
			return k
		}
	}
	return w.pick(rng)
}

// Run starts n client goroutines, each with its own random stream; they
// stop when ctx ends, and the returned function waits for them.
func (w *Workload) Run(ctx context.Context, n int, seed uint64) (wait func()) {
	var wg sync.WaitGroup
	for id := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.client(ctx, id, rand.New(rand.NewPCG(seed, uint64(id))))
		}()
	}
	return wg.Wait
}

func (w *Workload) client(ctx context.Context, id int, rng *rand.Rand) {
	nodes := w.C.Len()
	for ctx.Err() == nil {
		node := rng.IntN(nodes)
		var op Op
		switch r := rng.IntN(100); {
		case r < 25 || w.pick(rng) == nil:
			op = w.Create(id, node)
			// A key one node acknowledged must authenticate on any other at
			// once: try that often.
			if op.Outcome == OK && rng.IntN(2) == 0 {
				w.Authenticate(id, (node+1+rng.IntN(nodes-1))%nodes, w.key(op.Key))
			}
		case r < 35:
			k := w.pickToInvalidate(rng)
			op = w.Invalidate(id, node, k)
			if op.Outcome == OK && rng.IntN(2) == 0 {
				w.Authenticate(id, (node+1+rng.IntN(nodes-1))%nodes, k)
			}
		default:
			op = w.Authenticate(id, node, w.pick(rng))
		}
		if op.Status == 0 || op.Status == http.StatusTooManyRequests || op.Status == http.StatusServiceUnavailable {
			// The node is down, busy or throttling this address: back off
			// as a client would, rather than spin on instant refusals.
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

func (w *Workload) key(id string) *Key {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := len(w.keys) - 1; i >= 0; i-- {
		if w.keys[i].ID == id {
			return w.keys[i]
		}
	}
	return nil
}

// classifyWrite maps a write's answer to an outcome: a 4xx is decided
// before anything is proposed; a 5xx or no answer may hide a committed write.
func classifyWrite(status int, err error) Outcome {
	switch {
	case err != nil || status == 0:
		return Unknown
	case status == http.StatusOK:
		return OK
	case status >= 400 && status < 500:
		return Failed
	}
	return Unknown
}

// Create creates a key on node as client, records the operation and
// registers the key if acknowledged.
func (w *Workload) Create(client, node int) Op {
	name := fmt.Sprintf("%s-c%d-%d", w.Prefix, client, w.seq.Add(1))
	op, encoded := w.create(client, node, name, "")
	w.mu.Lock()
	switch op.Outcome {
	case OK:
		w.keys = append(w.keys, &Key{ID: op.Key, Name: name, Encoded: encoded})
	case Unknown:
		w.lostNames = append(w.lostNames, name)
	case Failed:
		w.failedNames = append(w.failedNames, name)
	}
	w.mu.Unlock()
	w.Rec.Add(op)
	return op
}

// create sends a create and returns the operation (not recorded) and, if
// acknowledged, the encoded credential.
func (w *Workload) create(client, node int, name, expiration string) (Op, string) {
	body := map[string]any{"name": name}
	if expiration != "" {
		body["expiration"] = expiration
	}
	op := Op{Kind: Create, Name: name, Client: client, Node: node, Call: w.Rec.Now()}
	r, err := testcluster.Do(w.C.URL(node), http.MethodPost, "/_security/api_key", testcluster.Elastic, body)
	op.Return = w.Rec.Now()
	op.Status, op.Outcome, op.Detail = r.Status, classifyWrite(r.Status, err), detail(r, err)
	if op.Outcome != OK {
		return op, ""
	}
	var out struct{ ID, Name, Encoded string }
	if json.Unmarshal(r.Body, &out) != nil || out.ID == "" || out.Encoded == "" || out.Name != name {
		op.Outcome, op.Detail = Unknown, "unreadable answer: "+truncate(string(r.Body))
		return op, ""
	}
	op.Key = out.ID
	return op, out.Encoded
}

// Invalidate invalidates k by id on node as client.
func (w *Workload) Invalidate(client, node int, k *Key) Op {
	op := Op{Kind: Invalidate, Key: k.ID, Client: client, Node: node, Call: w.Rec.Now()}
	r, err := testcluster.Do(w.C.URL(node), http.MethodDelete, "/_security/api_key", testcluster.Elastic,
		map[string]any{"ids": []string{k.ID}})
	op.Return = w.Rec.Now()
	op.Status, op.Outcome, op.Detail = r.Status, classifyWrite(r.Status, err), detail(r, err)
	if op.Outcome == OK {
		var out struct {
			Invalidated           []string `json:"invalidated_api_keys"`
			PreviouslyInvalidated []string `json:"previously_invalidated_api_keys"`
			ErrorCount            int      `json:"error_count"`
		}
		switch {
		case json.Unmarshal(r.Body, &out) != nil:
			op.Outcome, op.Detail = Unknown, "unreadable answer: "+truncate(string(r.Body))
		case contains(out.Invalidated, k.ID):
			op.Detail = "invalidated"
		case contains(out.PreviouslyInvalidated, k.ID):
			op.Detail = "previously invalidated"
		case out.ErrorCount > 0:
			op.Outcome, op.Detail = Unknown, truncate(string(r.Body))
		default:
			op.Outcome, op.Detail = NotFound, truncate(string(r.Body))
		}
	}
	w.Rec.Add(op)
	return op
}

// Authenticate presents k on node as client and records the operation.
func (w *Workload) Authenticate(client, node int, k *Key) Op {
	op := w.authenticate(client, node, k.ID, k.Encoded)
	w.Rec.Add(op)
	return op
}

func (w *Workload) authenticate(client, node int, id, encoded string) Op {
	op := Op{Kind: Authenticate, Key: id, Client: client, Node: node, Call: w.Rec.Now()}
	r, err := testcluster.Do(w.C.URL(node), http.MethodGet, "/_security/_authenticate", "ApiKey "+encoded, nil)
	op.Return = w.Rec.Now()
	op.Status = r.Status
	switch {
	case err == nil && r.Status == http.StatusOK:
		var out struct {
			APIKey struct{ ID string } `json:"api_key"`
		}
		if json.Unmarshal(r.Body, &out) != nil || out.APIKey.ID != id {
			op.Outcome, op.Detail = Unknown, "unexpected answer: "+truncate(string(r.Body))
		} else {
			op.Outcome = OK
		}
	case err == nil && r.Status == http.StatusUnauthorized:
		op.Outcome, op.Detail = Refused, refusal(r.Body)
	default:
		op.Outcome, op.Detail = Unknown, detail(r, err)
	}
	return op
}

// refusal shortens a 401 body to its reason.
func refusal(body []byte) string {
	b := string(body)
	for _, s := range []string{"has been invalidated", "unable to find apikey", "invalid credentials", "api key is expired"} {
		if strings.Contains(b, s) {
			return s
		}
	}
	return truncate(b)
}

func detail(r testcluster.Response, err error) string {
	if err != nil {
		return truncate(err.Error())
	}
	if r.Status == http.StatusOK {
		return ""
	}
	return truncate(string(r.Body))
}

func truncate(s string) string {
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
