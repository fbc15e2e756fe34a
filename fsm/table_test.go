package fsm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The table agrees with a plain map under random puts and deletes.
func TestTableMatchesAMap(t *testing.T) {
	type rec struct{ k, v string }
	tb := newTable(func(r *rec) string { return r.k }, 0)
	want := map[string]string{}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		k := fmt.Sprint(rng.IntN(500))
		if rng.IntN(3) == 0 {
			tb.del(k)
			delete(want, k)
		} else {
			v := fmt.Sprint(i)
			tb.put(&rec{k, v})
			want[k] = v
		}
	}
	all := tb.filter(func(*rec) bool { return true })
	if tb.len() != len(want) || len(all) != len(want) {
		t.Fatalf("table holds %d records, the map %d", tb.len(), len(want))
	}
	for k, v := range want {
		if r, ok := tb.get(k); !ok || r.v != v {
			t.Fatalf("get(%s) = %v %v, want %s", k, r, ok, v)
		}
	}
	for _, r := range all {
		if want[r.k] != r.v {
			t.Fatalf("filter() holds %v, the map %q", r, want[r.k])
		}
	}
}
