package apikeyquery

import (
	"unicode"
	"unicode/utf8"
)

// pattern is a compiled wildcard: * matches any run of characters, ?
// exactly one, a backslash escapes the next character.
type pattern struct {
	toks []patternToken
	ci   bool
}

type patternToken struct {
	r         rune
	any, star bool
}

// compileWildcard compiles a wildcard pattern within the query's budget, so a
// pattern's size, and with it the cost of matching, is bounded.
func compileWildcard(p string, ci bool, b *budget) (*pattern, error) {
	if len(p) > maxPattern {
		return nil, invalid("The length of wildcard pattern [%d] used in the query has exceeded the allowed maximum of [%d].", len(p), maxPattern)
	}
	if b.patternBytes += len(p); b.patternBytes > maxPatternBytes {
		return nil, invalid("The wildcard patterns of the query are [%d] bytes together, more than the allowed maximum of [%d].", b.patternBytes, maxPatternBytes)
	}
	out := &pattern{ci: ci}
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRuneInString(p[i:])
		i += size
		switch {
		case r == '*' && len(out.toks) > 0 && out.toks[len(out.toks)-1].star:
			// ** is *: collapsing them keeps matching linear in the stars.
		case r == '*':
			out.toks = append(out.toks, patternToken{star: true})
		case r == '?':
			out.toks = append(out.toks, patternToken{any: true})
		case r == '\\' && i < len(p):
			r, size = utf8.DecodeRuneInString(p[i:])
			i += size
			fallthrough
		default:
			out.toks = append(out.toks, patternToken{r: r})
		}
	}
	return out, nil
}

// match is the greedy wildcard match: on a mismatch the last * takes one
// more character and matching resumes after it. It never recurses and
// costs at most len(pattern) x len(s) steps.
func (p *pattern) match(s string) bool {
	ti, si := 0, 0
	starTi, starSi := -1, 0
	for si < len(s) {
		r, size := utf8.DecodeRuneInString(s[si:])
		if ti < len(p.toks) {
			if t := p.toks[ti]; t.star {
				starTi, starSi = ti, si
				ti++
				continue
			} else if t.any || p.same(t.r, r) {
				ti, si = ti+1, si+size
				continue
			}
		}
		if starTi < 0 {
			return false
		}
		_, size = utf8.DecodeRuneInString(s[starSi:])
		starSi += size
		ti, si = starTi+1, starSi
	}
	for ti < len(p.toks) && p.toks[ti].star {
		ti++
	}
	return ti == len(p.toks)
}

func (p *pattern) same(a, b rune) bool {
	return a == b || p.ci && (unicode.ToLower(a) == unicode.ToLower(b) || unicode.ToUpper(a) == unicode.ToUpper(b))
}
