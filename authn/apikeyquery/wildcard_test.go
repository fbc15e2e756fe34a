package apikeyquery

import (
	"strings"
	"testing"
)

func TestWildcardMatching(t *testing.T) {
	tests := []struct {
		pattern, s string
		ci, want   bool
	}{
		{"", "", false, true},
		{"", "a", false, false},
		{"*", "", false, true},
		{"*", "anything", false, true},
		{"a?c", "abc", false, true},
		{"a?c", "ac", false, false},
		{"a?c", "aéc", false, true}, // ? is one character, not one byte
		{"a*c", "abbbbc", false, true},
		{"a*c", "abbbbcd", false, false},
		{"a**b*", "ab", false, true},
		{"*a*b", "xxaxxbxxb", false, true},
		{"*a*b", "xxaxxbxxa", false, false},
		{`a\*c`, "a*c", false, true},
		{`a\*c`, "abc", false, false},
		{`a\?`, "a?", false, true},
		{`ab\`, `ab\`, false, true},
		{"APP1-*", "app1-key", true, true},
		{"APP1-*", "app1-key", false, false},
		{"ÉTÉ", "été", true, true},
		{"a\nb", "a\nb", false, true},
		{"?", "\n", false, true},
	}
	for _, tc := range tests {
		p, err := compileWildcard(tc.pattern, tc.ci, &budget{})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.match(tc.s); got != tc.want {
			t.Errorf("wildcard %q (ci %v) on %q: %v, want %v", tc.pattern, tc.ci, tc.s, got, tc.want)
		}
	}
	// The worst case for backtracking matchers still gets the right answer.
	p, _ := compileWildcard(strings.Repeat("*a", maxPattern/2-1)+"*b", false, &budget{})
	if p.match(strings.Repeat("a", 4000)) || !p.match(strings.Repeat("a", 600)+"b") {
		t.Error("pathological pattern matched wrongly")
	}
}
