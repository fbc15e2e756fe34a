package chaos

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Kind is what an operation did.
type Kind uint8

// The operations a client performs on an API key.
const (
	Create Kind = iota
	Invalidate
	Authenticate
)

func (k Kind) String() string {
	return [...]string{"create", "invalidate", "authenticate"}[k]
}

// Outcome is what the client learnt from the answer.
type Outcome uint8

const (
	// OK: the create or invalidation took effect (an invalidation answer
	// lists the key), or the key authenticated.
	OK Outcome = iota
	// Refused: authentication answered 401.
	Refused
	// NotFound: an invalidation answered 200 without the key in either
	// list, i.e. the node said there is no such key.
	NotFound
	// Failed: a write answered 4xx, which the node gives before proposing
	// anything, so it had no effect.
	Failed
	// Unknown: a timeout, a connection error or a 5xx. A write may or may
	// not have taken effect; an authentication tells nothing.
	Unknown
)

func (o Outcome) String() string {
	return [...]string{"ok", "refused", "not-found", "failed", "unknown"}[o]
}

// Op is one recorded operation. Call and Return are nanoseconds on the
// recorder's monotonic clock.
type Op struct {
	Kind    Kind
	Key     string // the API key id; empty for a create whose answer was lost
	Name    string // the key name chosen by the client (creates)
	Client  int
	Node    int
	Call    int64
	Return  int64
	Outcome Outcome
	Status  int    // HTTP status; 0 for a transport error
	Detail  string // a short reason, for reports
}

func (op Op) String() string {
	s := fmt.Sprintf("%s(%s) on node-%d by client %d [%.3fs, %.3fs] -> %s", op.Kind, op.Key, op.Node, op.Client,
		seconds(op.Call), seconds(op.Return), op.Outcome)
	if op.Detail != "" {
		s += " (" + op.Detail + ")"
	}
	return s
}

func seconds(ns int64) float64 { return float64(ns) / 1e9 }

// Recorder collects operations from concurrent clients. Its clock is
// time.Since a fixed start, which Go measures on the monotonic clock, so
// wall-clock steps cannot reorder operations.
type Recorder struct {
	start time.Time
	mu    sync.Mutex
	ops   []Op
}

// NewRecorder starts the history clock.
func NewRecorder() *Recorder { return &Recorder{start: time.Now()} }

// Now is the history clock's reading.
func (r *Recorder) Now() int64 { return int64(time.Since(r.start)) }

// Add appends a finished operation.
func (r *Recorder) Add(op Op) {
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.mu.Unlock()
}

// Ops returns a copy of the history so far.
func (r *Recorder) Ops() []Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Op(nil), r.ops...)
}

// Counts is a table of operations by kind and outcome.
type Counts map[Kind]map[Outcome]int

// CountOps tallies a history.
func CountOps(ops []Op) Counts {
	c := Counts{}
	for _, op := range ops {
		if c[op.Kind] == nil {
			c[op.Kind] = map[Outcome]int{}
		}
		c[op.Kind][op.Outcome]++
	}
	return c
}

// String is e.g. "create ok=10 unknown=1; authenticate ok=50 refused=3".
func (c Counts) String() string {
	var parts []string
	for k := Create; k <= Authenticate; k++ {
		if len(c[k]) == 0 {
			continue
		}
		var outs []string
		for o := OK; o <= Unknown; o++ {
			if n := c[k][o]; n > 0 {
				outs = append(outs, fmt.Sprintf("%s=%d", o, n))
			}
		}
		parts = append(parts, k.String()+" "+strings.Join(outs, " "))
	}
	return strings.Join(parts, "; ")
}

// Total is the number of operations counted.
func (c Counts) Total() int {
	n := 0
	for _, m := range c {
		for _, v := range m {
			n += v
		}
	}
	return n
}

// sortByCall orders a history by invocation.
func sortByCall(ops []Op) {
	slices.SortStableFunc(ops, func(a, b Op) int { return cmp.Compare(a.Call, b.Call) })
}
