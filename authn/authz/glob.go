package authz

import (
	"path"
	"strings"
)

// GlobMatch matches Elasticsearch-style patterns where * is any run of
// characters and ? any one character.
func GlobMatch(pattern, s string) bool {
	if pattern == "*" || pattern == s {
		return true
	}
	if !strings.ContainsAny(pattern, "*?") {
		return false
	}
	// path.Match treats / specially and [ as a class; escape both ways out by
	// matching on a string where / cannot occur in the pattern's sense.
	ok, err := path.Match(escapeForMatch(pattern), strings.ReplaceAll(s, "/", "\x00"))
	return err == nil && ok
}

func escapeForMatch(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '/':
			b.WriteByte(0)
		case '[', ']', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
