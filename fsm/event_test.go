package fsm

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// Adding an event is one row of events: this fails for an event type
// declared without a row, and for a row that leaves out whether the event
// may revoke, which action allows it, or an apply function of its type.
func TestEveryEventHasARow(t *testing.T) {
	for name, v := range declared(t, "event.go", "EventType") {
		if _, ok := rows[EventType(v)]; !ok {
			t.Errorf("event type %s (%d) has no row in events", name, v)
		}
	}
	if len(rows) != len(events) {
		t.Errorf("%d rows for %d event types: a type has two rows", len(events), len(rows))
	}
	for _, r := range events {
		if r.effect != onlyAdds && r.effect != mayRevoke {
			t.Errorf("event %d: the row does not say whether it may revoke", r.typ)
		}
		if r.action != LeaderOnly && !strings.HasPrefix(r.action, "cluster:") {
			t.Errorf("event %d: action %q is neither a cluster action nor LeaderOnly", r.typ, r.action)
		}
		if len(r.versions) == 0 {
			t.Errorf("event %d: no version", r.typ)
		}
		numbers := map[uint8]bool{}
		for _, v := range r.versions {
			if v.typ != r.typ {
				t.Errorf("event %d: version %d applies a payload of event %d", r.typ, v.number, v.typ)
			}
			if numbers[v.number] {
				t.Errorf("event %d: version %d appears twice", r.typ, v.number)
			}
			numbers[v.number] = true
		}
	}
}

// OnlyAdds follows the rows, and is false for what does not decode.
func TestOnlyAddsFollowsTheRows(t *testing.T) {
	for _, p := range sampleEvents() {
		typ, _ := p.EventType()
		if got, want := OnlyAdds(MustEncode(p)), rows[typ].effect == onlyAdds; got != want {
			t.Errorf("OnlyAdds(%T) = %v, want %v", p, got, want)
		}
	}
	for _, bad := range [][]byte{nil, {0x7f, 0x7f, 1}} {
		if OnlyAdds(bad) {
			t.Errorf("OnlyAdds(%x) = true for an undecodable event", bad)
		}
	}
	if got := EventType(0x7f7f).Action(); got != "" {
		t.Errorf("action of an unknown type: got %q, want none", got)
	}
}

// declared returns the constants of type typ in one of this package's
// files with their values: a literal, or iota in a block counting from it.
func declared(t *testing.T, file, typ string) map[string]int64 {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		var curType string
		var curValue ast.Expr
		for i, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			if vs.Type != nil || len(vs.Values) > 0 {
				curType, curValue = "", nil
				if id, ok := vs.Type.(*ast.Ident); ok {
					curType = id.Name
				}
				if len(vs.Values) > 0 {
					curValue = vs.Values[0]
				}
			}
			if curType != typ {
				continue
			}
			switch v := curValue.(type) {
			case *ast.BasicLit:
				n, err := strconv.ParseInt(v.Value, 0, 64)
				if err != nil {
					t.Fatalf("%s: %v", vs.Names[0].Name, err)
				}
				out[vs.Names[0].Name] = n
			case *ast.Ident:
				if v.Name != "iota" {
					t.Fatalf("%s: value %s is not a literal or iota", vs.Names[0].Name, v.Name)
				}
				out[vs.Names[0].Name] = int64(i)
			default:
				t.Fatalf("%s: value is not a literal or iota", vs.Names[0].Name)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no constant of type %s in %s", typ, file)
	}
	return out
}
