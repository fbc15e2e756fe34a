package chaos

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"
)

// keyState is the model of one API key: a key is valid from its create's
// linearization point until its invalidation's.
type keyState uint8

const (
	absent keyState = iota
	valid
	invalidated
)

func (s keyState) String() string { return [...]string{"absent", "valid", "invalidated"}[s] }

type opInput struct {
	Kind         Kind
	Key          string
	Node, Client int
}

type opOutput struct {
	Outcome Outcome
	Detail  string
}

// step is the sequential specification of one key. An operation whose
// outcome is unknown is given the end of the history as its return time,
// so the checker may place it anywhere after its call, including after
// everything else: that is "possibly happened".
func step(state, input, output any) (bool, any) {
	s, in, out := state.(keyState), input.(opInput), output.(opOutput)
	switch in.Kind {
	case Create:
		switch out.Outcome {
		case OK:
			return s == absent, valid
		case Unknown:
			if s == absent {
				return true, valid
			}
		}
		return true, s
	case Invalidate:
		switch out.Outcome {
		case OK:
			return s != absent, invalidated
		case NotFound:
			return s == absent, s
		case Unknown:
			if s != absent {
				return true, invalidated
			}
		}
		return true, s
	case Authenticate:
		switch out.Outcome {
		case OK:
			return s == valid, s
		case Refused:
			return s != valid, s
		}
	}
	return true, s
}

// partitionByKey splits a history by key: keys are independent, so the
// history is linearizable exactly when each key's history is.
func partitionByKey(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[string][]porcupine.Operation{}
	var order []string
	for _, op := range history {
		k := op.Input.(opInput).Key
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], op)
	}
	out := make([][]porcupine.Operation, 0, len(order))
	for _, k := range order {
		out = append(out, byKey[k])
	}
	return out
}

// Model is the porcupine model of the API key history, partitioned by key.
var Model = porcupine.Model{
	Partition: partitionByKey,
	Init:      func() any { return absent },
	Step:      step,
	Hash:      func(s any) uint64 { return uint64(s.(keyState)) },
	DescribeOperation: func(input, output any) string {
		in, out := input.(opInput), output.(opOutput)
		s := fmt.Sprintf("%s %s @node-%d -> %s", in.Kind, in.Key, in.Node, out.Outcome)
		if out.Detail != "" {
			s += " (" + out.Detail + ")"
		}
		return s
	},
	DescribeState: func(s any) string { return s.(keyState).String() },
}

// Operations turns a recorded history into porcupine's form. Creates
// whose answer was lost carry no key id, and no client can hold such a key,
// so they constrain nothing and are left out; so are authentications that
// got no answer. Writes with an unknown outcome return at the end.
func Operations(ops []Op) []porcupine.Operation {
	var end int64
	for _, op := range ops {
		end = max(end, op.Return)
	}
	end++
	out := make([]porcupine.Operation, 0, len(ops))
	for _, op := range ops {
		if op.Key == "" || (op.Kind == Authenticate && op.Outcome == Unknown) {
			continue
		}
		ret := op.Return
		if op.Outcome == Unknown {
			ret = end
		}
		out = append(out, porcupine.Operation{ClientId: op.Client, Call: op.Call, Return: ret,
			Input:  opInput{Kind: op.Kind, Key: op.Key, Node: op.Node, Client: op.Client},
			Output: opOutput{Outcome: op.Outcome, Detail: op.Detail}})
	}
	return out
}

// Verdict is the linearizability check's answer.
type Verdict struct {
	Result porcupine.CheckResult
	Ops    int // operations checked
	Keys   int
	Took   time.Duration
	// Illegal lists the keys whose own history is not linearizable.
	Illegal []string
}

// Linearizable runs porcupine over the history with a time limit.
func Linearizable(ops []Op, timeout time.Duration) porcupine.CheckResult {
	return porcupine.CheckOperationsTimeout(Model, Operations(ops), timeout)
}

// Check runs porcupine over the history with a time limit and, if it is
// not linearizable, checks each key alone to name the ones that are not.
// Unknown (the limit passed) is not a pass.
func Check(ops []Op, timeout time.Duration) Verdict {
	hist := Operations(ops)
	start := time.Now()
	res := porcupine.CheckOperationsTimeout(Model, hist, timeout)
	v := Verdict{Result: res, Ops: len(hist), Keys: len(partitionByKey(hist)), Took: time.Since(start)}
	if res == porcupine.Illegal {
		for _, part := range partitionByKey(hist) {
			if porcupine.CheckOperationsTimeout(Model, part, timeout) == porcupine.Illegal {
				v.Illegal = append(v.Illegal, part[0].Input.(opInput).Key)
			}
		}
		slices.Sort(v.Illegal)
	}
	return v
}

// StaleBy returns a copy of the history in which every read (an
// authentication, or an invalidation that found nothing) is taken to have
// been invoked d earlier. The copy is linearizable exactly when the
// history is with reads allowed to be up to d stale: how far from
// linearizable a failing history is.
func StaleBy(ops []Op, d time.Duration) []Op {
	out := append([]Op(nil), ops...)
	for i := range out {
		if out[i].Kind == Authenticate || (out[i].Kind == Invalidate && out[i].Outcome == NotFound) {
			out[i].Call -= int64(d)
		}
	}
	return out
}

// Visualize writes porcupine's HTML view of the given keys' histories,
// with the faults drawn alongside, to path.
func Visualize(ops []Op, keys []string, faults []Fault, path string) error {
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	var sub []Op
	for _, op := range ops {
		if want[op.Key] {
			sub = append(sub, op)
		}
	}
	_, info := porcupine.CheckOperationsVerbose(Model, Operations(sub), time.Minute)
	var notes []porcupine.Annotation
	for _, f := range faults {
		end := f.End
		if end == 0 || end == math.MaxInt64 {
			end = f.Start
		}
		notes = append(notes, porcupine.Annotation{Tag: "faults", Start: f.Start, End: end,
			Description: f.Kind.String(), Details: f.String(), BackgroundColor: "#fbd5d5"})
	}
	info.AddAnnotations(notes)
	return porcupine.VisualizePath(Model, info, path)
}
