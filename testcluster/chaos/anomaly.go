package chaos

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// AnomalyKind names a violation that a single pair of operations proves.
type AnomalyKind uint8

const (
	// InvalidationUndone: a key authenticated although an invalidation of
	// it had been acknowledged before the authentication began.
	InvalidationUndone AnomalyKind = iota
	// CreateMissing: a key was refused although its create had been
	// acknowledged before the authentication began, and no invalidation of
	// it had been attempted.
	CreateMissing
	// InvalidateMissedKey: an invalidation found no such key although its
	// create had been acknowledged before the invalidation began. The
	// client was told there was nothing to invalidate; the key stays valid.
	InvalidateMissedKey
)

func (k AnomalyKind) String() string {
	return [...]string{"acknowledged invalidation undone", "acknowledged create missing",
		"invalidation missed an acknowledged key"}[k]
}

// Anomaly is one operation that contradicts an earlier acknowledged one.
type Anomaly struct {
	Kind  AnomalyKind
	Op    Op // the contradicting operation
	Cause Op // the acknowledged write it contradicts
	Fault string
}

func (a Anomaly) String() string {
	s := fmt.Sprintf("%s: %v; after %v", a.Kind, a.Op, a.Cause)
	if a.Fault != "" {
		s += "; during " + a.Fault
	}
	return s
}

// FindAnomalies lists the operations that contradict an acknowledged write
// which returned before they were invoked. Each is a linearizability
// violation on its own; porcupine finds these and any subtler ones, this
// names them. faults gives each anomaly the fault active at its call.
func FindAnomalies(ops []Op, faults []Fault) []Anomaly {
	type keyFacts struct {
		create          *Op
		invalidated     *Op   // the acknowledged invalidation that returned first
		firstInvalidate int64 // call of the first invalidation that may have taken effect
	}
	facts := map[string]*keyFacts{}
	get := func(k string) *keyFacts {
		f := facts[k]
		if f == nil {
			f = &keyFacts{firstInvalidate: math.MaxInt64}
			facts[k] = f
		}
		return f
	}
	for i := range ops {
		op := &ops[i]
		if op.Key == "" {
			continue
		}
		f := get(op.Key)
		switch {
		case op.Kind == Create && op.Outcome == OK:
			f.create = op
		case op.Kind == Invalidate && (op.Outcome == OK || op.Outcome == Unknown):
			f.firstInvalidate = min(f.firstInvalidate, op.Call)
			if op.Outcome == OK && (f.invalidated == nil || op.Return < f.invalidated.Return) {
				f.invalidated = op
			}
		}
	}
	var out []Anomaly
	add := func(kind AnomalyKind, op Op, cause Op) {
		out = append(out, Anomaly{Kind: kind, Op: op, Cause: cause, Fault: activeFault(faults, op.Call)})
	}
	for _, op := range ops {
		f := facts[op.Key]
		if f == nil || f.create == nil {
			continue
		}
		switch {
		case op.Kind == Authenticate && op.Outcome == OK && f.invalidated != nil && op.Call > f.invalidated.Return:
			add(InvalidationUndone, op, *f.invalidated)
		case op.Kind == Authenticate && op.Outcome == Refused && op.Call > f.create.Return && op.Return < f.firstInvalidate:
			add(CreateMissing, op, *f.create)
		case op.Kind == Invalidate && op.Outcome == NotFound && op.Call > f.create.Return:
			add(InvalidateMissedKey, op, *f.create)
		}
	}
	sortAnomalies(out)
	return out
}

func sortAnomalies(as []Anomaly) {
	slices.SortStableFunc(as, func(a, b Anomaly) int { return cmp.Compare(a.Op.Call, b.Op.Call) })
}

func activeFault(faults []Fault, at int64) string {
	for _, f := range faults {
		if f.Start <= at && (f.End == 0 || at <= f.End) {
			return f.String()
		}
	}
	return ""
}
