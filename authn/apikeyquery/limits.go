package apikeyquery

import (
	"fmt"
	"strings"
)

// Limits on a query's size, so its cost is bounded before it runs: with
// them matching costs at most docs x (clauses + terms + pattern bytes x
// value bytes), never more. Elasticsearch's counterparts are named.
const (
	maxDepth   = 30    // indices.query.bool.max_nested_depth (8.x default)
	maxWindow  = 10000 // index.max_result_window, for from + size
	maxClauses = 1024  // indices.query.bool.max_clause_count (8.x floor), leaf queries
	maxTerms   = 65536 // index.max_terms_count, values of one terms or ids query
	// maxPattern bounds one wildcard pattern, as index.max_regex_length
	// (1000) bounds a regexp; maxPatternBytes all of a query's together.
	maxPattern      = 1000
	maxPatternBytes = 10 * maxPattern
	maxSort         = 32  // sort keys (Elasticsearch has no limit; there are nine fields)
	maxShown        = 256 // bytes of a request's input quoted in an error
)

// budget counts what a query spends of the limits while it compiles, and
// carries the time its date math counts from (epoch ms).
type budget struct {
	clauses, patternBytes int
	now                   int64
}

func (b *budget) clause(n int) error {
	if b.clauses += n; b.clauses > maxClauses {
		return invalid("Query contains too many nested clauses; maxClauseCount is set to %d", maxClauses)
	}
	return nil
}

// quote quotes at most maxShown bytes of a request's input.
func quote(s string) string {
	if len(s) <= maxShown {
		return s
	}
	return strings.ToValidUTF8(s[:maxShown], "") + "..."
}

// invalid is the query's Error with every argument that is not a number shortened:
// a field name or value in an error is the caller's input, of any size.
func invalid(format string, a ...any) *Error {
	for i, x := range a {
		switch x.(type) {
		case int, int64, uint64:
		default:
			a[i] = quote(fmt.Sprint(x))
		}
	}
	return &Error{Reason: fmt.Sprintf(format, a...)}
}

// Error is a query refused as malformed or over a limit: Elasticsearch's
// illegal_argument_exception. Reason quotes at most maxShown bytes of any
// one piece of the request.
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

// tooManyTerms is index.max_terms_count's error.
func tooManyTerms(n int) error {
	return invalid("The number of terms [%d] used in the Terms Query request has exceeded the allowed maximum of [%d]. "+
		"This maximum can be set by changing the [index.max_terms_count] index level setting.", n, maxTerms)
}
