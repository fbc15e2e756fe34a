package authn

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// Kind classifies an Error for the HTTP layer.
type Kind int

// The kinds of error authn returns.
const (
	Unauthenticated Kind = iota + 1
	Forbidden
	NotFound
	Invalid     // a bad request: validation or illegal argument
	Conflict    // a version conflict, e.g. a duplicate name
	Unavailable // no leader, or the cluster cannot commit
	Throttled   // too many failed authentications; RetryAfter says when to come back
)

// Error is what authn returns for a request it refuses. Reason is shown to
// the client and never contains a secret.
type Error struct {
	Kind   Kind
	Type   string // Elasticsearch exception type; empty for the kind's default
	Reason string
	// Additional is Elasticsearch's additional_unsuccessful_credentials.
	Additional string
	// Authenticate replaces the default WWW-Authenticate values when set.
	Authenticate []string
	// OAuth, when set, asks for an RFC 6749 error body with this code
	// (get token's validation and invalid_grant failures).
	OAuth string
	// RetryAfter is when a Throttled request may be tried again.
	RetryAfter time.Duration
	// CausedBy is Elasticsearch's caused_by: the exception under this one.
	CausedBy *Error
	Err      error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Reason, e.Err)
	}
	return e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

func invalid(format string, a ...any) *Error {
	return &Error{Kind: Invalid, Type: "illegal_argument_exception", Reason: fmt.Sprintf(format, a...)}
}

// validation builds Elasticsearch's action_request_validation_exception,
// whose reason numbers each message.
func validation(msgs ...string) *Error {
	reason := "Validation Failed: "
	for i, m := range msgs {
		reason += fmt.Sprintf("%d: %s;", i+1, m)
	}
	return &Error{Kind: Invalid, Type: "action_request_validation_exception", Reason: reason}
}

// Clip shortens s to at most n bytes on a rune boundary, marking the cut:
// what every error and log line quotes of a caller's input passes through it.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
