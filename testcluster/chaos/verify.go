package chaos

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// verifierClient is the client id of the final reads.
const verifierClient = 1001

// Final is what the cluster holds after the run, checked against what the
// clients were told.
type Final struct {
	AckedCreates, AckedInvalidations int
	// UnknownCreates had no answer; UnknownCreatesApplied of them exist.
	UnknownCreates, UnknownCreatesApplied int
	// Lost are acknowledged creates missing or refused on some node;
	// Undone acknowledged invalidations not in force on some node;
	// Phantoms creates refused with a 4xx that exist all the same;
	// Unanswered final authentications that got no 200 or 401 in time.
	Lost, Undone, Phantoms, Unanswered []string
	// Diverged is set when the nodes did not agree on the keys in time.
	Diverged string
}

type keyView struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Invalidated bool   `json:"invalidated"`
}

// Verify reads every node's view of this run's keys once they agree, then
// authenticates every acknowledged key on every node, recording those
// reads in the history so the linearizability check covers them too.
// timeout bounds the wait for the views to agree, and then for answers.
func (w *Workload) Verify(t testing.TB, timeout time.Duration) Final {
	t.Helper()
	var f Final
	deadline := time.Now().Add(timeout)
	views := w.converged(&f, deadline)
	acked := w.Keys()
	ackedInvalid := map[string]bool{}
	for _, op := range w.Rec.Ops() {
		if op.Kind == Invalidate && op.Outcome == OK {
			ackedInvalid[op.Key] = true
		}
	}
	f.AckedCreates, f.AckedInvalidations = len(acked), len(ackedInvalid)
	c := checked{lost: map[string]bool{}, undone: map[string]bool{}, unanswered: map[string]bool{}}
	for i, v := range views {
		if v == nil {
			continue // never answered: Diverged says so, and the reads below judge it
		}
		for _, k := range acked {
			kv, ok := v[k.ID]
			switch {
			case !ok:
				c.lost[fmt.Sprintf("%s (missing on node %d)", k.ID, i)] = true
			case ackedInvalid[k.ID] && !kv.Invalidated:
				c.undone[fmt.Sprintf("%s (valid on node %d)", k.ID, i)] = true
			}
		}
	}
	w.countUnknownCreates(&f, views[0])
	w.authenticateAll(acked, ackedInvalid, deadline.Add(timeout), &c)
	f.Lost, f.Undone, f.Unanswered = slices.Sorted(maps.Keys(c.lost)), slices.Sorted(maps.Keys(c.undone)), slices.Sorted(maps.Keys(c.unanswered))
	return f
}

// checked gathers what the final checks found, as sets of descriptions.
type checked struct {
	mu                       sync.Mutex
	lost, undone, unanswered map[string]bool
}

// converged polls every node's view of the keys until they agree or the
// deadline passes; f.Diverged says why they did not.
func (w *Workload) converged(f *Final, deadline time.Time) []map[string]keyView {
	views := make([]map[string]keyView, w.C.Len())
	for {
		agree := true
		for i := range views {
			v, err := w.view(i)
			if err != nil {
				agree = false
				f.Diverged = fmt.Sprintf("node %d: %v", i, err)
				continue
			}
			views[i] = v
			if i > 0 && views[0] != nil && !sameView(views[0], v) {
				agree = false
				f.Diverged = fmt.Sprintf("node %d holds %d keys, node 0 %d", i, len(v), len(views[0]))
			}
		}
		if agree {
			f.Diverged = ""
			return views
		}
		if time.Now().After(deadline) {
			return views
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
}

// countUnknownCreates counts the unanswered creates that were applied and
// the refused ones that were (phantoms), by name, in node 0's view.
func (w *Workload) countUnknownCreates(f *Final, view map[string]keyView) {
	w.mu.Lock()
	lostNames, failedNames := append([]string(nil), w.lostNames...), append([]string(nil), w.failedNames...)
	w.mu.Unlock()
	f.UnknownCreates = len(lostNames)
	if view == nil {
		return
	}
	byName := map[string]bool{}
	for _, kv := range view {
		byName[kv.Name] = true
	}
	for _, n := range lostNames {
		if byName[n] {
			f.UnknownCreatesApplied++
		}
	}
	for _, n := range failedNames {
		if byName[n] {
			f.Phantoms = append(f.Phantoms, n)
		}
	}
}

// authenticateAll authenticates every acknowledged key on every node.
func (w *Workload) authenticateAll(acked []*Key, ackedInvalid map[string]bool, deadline time.Time, c *checked) {
	type job struct {
		k    *Key
		node int
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				op := w.answered(j.node, j.k, deadline)
				w.Rec.Add(op)
				c.mu.Lock()
				switch {
				case op.Outcome == OK && ackedInvalid[j.k.ID]:
					c.undone[fmt.Sprintf("%s (authenticates on node %d)", j.k.ID, j.node)] = true
				case op.Outcome == Refused && !ackedInvalid[j.k.ID] && op.Detail != "has been invalidated":
					c.lost[fmt.Sprintf("%s (refused on node %d: %s)", j.k.ID, j.node, op.Detail)] = true
				case op.Outcome == Unknown:
					c.unanswered[fmt.Sprintf("%s (node %d: %s)", j.k.ID, j.node, op.Detail)] = true
				}
				c.mu.Unlock()
			}
		}()
	}
	for _, k := range acked {
		for i := range w.C.Len() {
			jobs <- job{k, i}
		}
	}
	close(jobs)
	wg.Wait()
}

// answered authenticates until the node answers 200 or 401.
func (w *Workload) answered(node int, k *Key, deadline time.Time) Op {
	for {
		op := w.authenticate(verifierClient, node, k.ID, k.Encoded)
		if op.Outcome != Unknown || time.Now().After(deadline) {
			return op
		}
		time.Sleep(20 * time.Millisecond) // pacing between attempts
	}
}

// view is node i's list of this run's keys (a management read, which
// catches up with the leader first).
func (w *Workload) view(i int) (map[string]keyView, error) {
	r, err := testcluster.Do(w.C.URL(i), http.MethodGet, "/_security/api_key?name="+url.QueryEscape(w.Prefix+"-c*"), testcluster.Elastic, nil)
	if err != nil {
		return nil, err
	}
	if r.Status != http.StatusOK {
		return nil, fmt.Errorf("get api keys: %d %s", r.Status, truncate(string(r.Body)))
	}
	var out struct {
		APIKeys []keyView `json:"api_keys"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		return nil, err
	}
	m := make(map[string]keyView, len(out.APIKeys))
	for _, k := range out.APIKeys {
		m[k.ID] = k
	}
	return m, nil
}

func sameView(a, b map[string]keyView) bool {
	if len(a) != len(b) {
		return false
	}
	for id, k := range a {
		if b[id] != k {
			return false
		}
	}
	return true
}
