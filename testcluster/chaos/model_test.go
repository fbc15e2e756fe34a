package chaos

import (
	"slices"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// op builds a history entry for key k; ret < 0 means no answer.
func op(kind Kind, k string, call, ret int64, out Outcome) Op {
	return Op{Kind: kind, Key: k, Call: call, Return: ret, Outcome: out}
}

func TestModelDecidesLinearizability(t *testing.T) {
	cases := []struct {
		name string
		ops  []Op
		want porcupine.CheckResult
		// anomaly is the kind FindAnomalies must report, or -1 for none.
		anomaly int
	}{
		{"create, use, invalidate, refuse", []Op{
			op(Create, "a", 0, 10, OK), op(Authenticate, "a", 11, 12, OK),
			op(Invalidate, "a", 13, 20, OK), op(Authenticate, "a", 21, 22, Refused),
		}, porcupine.Ok, -1},
		{"authentication concurrent with the invalidation may pass", []Op{
			op(Create, "a", 0, 10, OK), op(Invalidate, "a", 11, 20, OK), op(Authenticate, "a", 15, 25, OK),
		}, porcupine.Ok, -1},
		{"authentication concurrent with the create may be refused", []Op{
			op(Create, "a", 0, 10, OK), op(Authenticate, "a", 5, 6, Refused),
		}, porcupine.Ok, -1},
		{"valid after an acknowledged invalidation", []Op{
			op(Create, "a", 0, 10, OK), op(Invalidate, "a", 11, 20, OK), op(Authenticate, "a", 21, 22, OK),
		}, porcupine.Illegal, int(InvalidationUndone)},
		{"refused after an acknowledged create", []Op{
			op(Create, "a", 0, 10, OK), op(Authenticate, "a", 11, 12, Refused),
		}, porcupine.Illegal, int(CreateMissing)},
		{"invalidation finds no key after an acknowledged create", []Op{
			op(Create, "a", 0, 10, OK), op(Invalidate, "a", 11, 12, NotFound),
		}, porcupine.Illegal, int(InvalidateMissedKey)},
		{"an unanswered invalidation may take effect late", []Op{
			op(Create, "a", 0, 10, OK), op(Invalidate, "a", 11, 12, Unknown),
			op(Authenticate, "a", 30, 31, OK), op(Authenticate, "a", 40, 41, Refused),
		}, porcupine.Ok, -1},
		{"an unanswered invalidation may never take effect", []Op{
			op(Create, "a", 0, 10, OK), op(Invalidate, "a", 11, 12, Unknown), op(Authenticate, "a", 30, 31, OK),
		}, porcupine.Ok, -1},
		{"but once seen it cannot be undone", []Op{
			op(Create, "a", 0, 10, OK), op(Invalidate, "a", 11, 12, Unknown),
			op(Authenticate, "a", 30, 31, Refused), op(Authenticate, "a", 40, 41, OK),
		}, porcupine.Illegal, -1},
		{"a failed invalidation changes nothing", []Op{
			op(Create, "a", 0, 10, OK), op(Invalidate, "a", 11, 12, Failed), op(Authenticate, "a", 30, 31, Refused),
		}, porcupine.Illegal, int(CreateMissing)},
		{"unanswered authentications tell nothing", []Op{
			op(Create, "a", 0, 10, OK), op(Authenticate, "a", 11, 12, Unknown), op(Authenticate, "a", 13, 14, OK),
		}, porcupine.Ok, -1},
		{"keys are independent", []Op{
			op(Create, "a", 0, 10, OK), op(Create, "b", 0, 10, OK), op(Invalidate, "a", 11, 20, OK),
			op(Authenticate, "b", 21, 22, OK), op(Authenticate, "a", 21, 22, Refused),
		}, porcupine.Ok, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Check(c.ops, 10*time.Second)
			if v.Result != c.want {
				t.Errorf("got %s, want %s", v.Result, c.want)
			}
			if c.want == porcupine.Illegal && !slices.Equal(v.Illegal, []string{"a"}) {
				t.Errorf("illegal keys %v, want [a]", v.Illegal)
			}
			as := FindAnomalies(c.ops, nil)
			switch {
			case c.anomaly < 0 && len(as) > 0:
				t.Errorf("got anomalies %v, want none", as)
			case c.anomaly >= 0 && (len(as) != 1 || as[0].Kind != AnomalyKind(c.anomaly)):
				t.Errorf("got anomalies %v, want one %s", as, AnomalyKind(c.anomaly))
			}
		})
	}
}

// One bad key among many independent ones is found and named.
func TestCheckNamesTheIllegalKey(t *testing.T) {
	var ops []Op
	for i := range 500 {
		k := string(rune('a'+i%26)) + string(rune('a'+i/26))
		ops = append(ops, op(Create, k, 0, 10, OK), op(Authenticate, k, 11, 12, OK),
			op(Invalidate, k, 13, 14, OK), op(Authenticate, k, 15, 16, Refused))
	}
	ops = append(ops, op(Authenticate, "ct", 20, 21, OK))
	v := Check(ops, 10*time.Second)
	if v.Result != porcupine.Illegal || !slices.Equal(v.Illegal, []string{"ct"}) || v.Keys != 500 {
		t.Fatalf("got %s %v over %d keys, want Illegal [ct] over 500", v.Result, v.Illegal, v.Keys)
	}
	path := t.TempDir() + "/vis.html"
	if err := Visualize(ops, v.Illegal, []Fault{{Kind: KillLeader, Nodes: []int{0}, Start: 12, End: 19}}, path); err != nil {
		t.Fatal(err)
	}
}
