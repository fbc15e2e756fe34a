package authn

import (
	"slices"
	"strings"
	"testing"
)

func TestAPIKeyNameProblems(t *testing.T) {
	cases := []struct {
		name string
		want []string
	}{
		{"k1", nil},
		{"", []string{"api key name is required"}},
		{"\x00abc", []string{"api key name may not begin or end with whitespace"}},
		{"abc\x1f", []string{"api key name may not begin or end with whitespace"}},
		{" abc", []string{"api key name may not begin or end with whitespace"}},
		{"\u00a0abc", nil}, // Java's trim keeps U+00A0
		{"_abc", []string{"api key name may not begin with an underscore"}},
		{strings.Repeat("a", 256), nil},
		{strings.Repeat("😀", 129), []string{"api key name may not be more than 256 characters long"}}, // 258 UTF-16 units
		{"_" + strings.Repeat("a", 256) + " ", []string{"api key name may not be more than 256 characters long",
			"api key name may not begin or end with whitespace", "api key name may not begin with an underscore"}},
	}
	for _, c := range cases {
		if got := apiKeyNameProblems(c.name); !slices.Equal(got, c.want) {
			t.Errorf("%q: got %q, want %q", c.name, got, c.want)
		}
	}
}
