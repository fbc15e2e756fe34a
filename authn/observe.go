package authn

import (
	"errors"
	"net/http"
	"time"

	"github.com/tokenstore/tokenstore/fsm"
)

// Observer hears what the security service decides: the metrics count it
// and the audit log records it. Its methods run on the request's
// goroutine, Authenticated on the authentication hot path: they must not
// block, and Authenticated must not allocate for a success.
type Observer interface {
	// Authenticated is every authentication attempt's outcome.
	Authenticated(AuthOutcome)
	// Authorized is every cluster action checked for a caller.
	Authorized(c Caller, action string, granted bool)
	// Wrote is every write proposed for a caller: the event and its
	// result, or the error, after took.
	Wrote(c Caller, p fsm.Payload, res fsm.Result, err error, took time.Duration)
}

// RunAsObserver is an Observer that also hears run-as decisions (the audit
// log's run_as_granted and run_as_denied). c is the caller run as target
// when granted, the authenticating caller when denied.
type RunAsObserver interface {
	RanAs(c Caller, target, action string, granted bool)
}

// AuthResult is how an authentication attempt ended.
type AuthResult uint8

// The results, as the metrics label them.
const (
	AuthSuccess     AuthResult = iota
	AuthFailed                 // the credential was missing, malformed or refused
	AuthThrottled              // refused before it was checked (429)
	AuthUnavailable            // the node could not decide (503)
)

func (r AuthResult) String() string {
	return [...]string{"success", "failed", "throttled", "unavailable"}[r]
}

// AuthOutcome is one authentication attempt, as observers see it. It never
// holds the secret.
type AuthOutcome struct {
	// Scheme is basic, api_key, bearer, service_token, password_grant,
	// grant_api_key, none or unknown.
	Scheme    string
	Result    AuthResult
	Principal string          // the user, API key id or token name claimed
	Auth      *Authentication // on success
	Err       error           // otherwise
	Took      time.Duration
	// Request is the API request authenticated; nil for a credential that
	// came another way (in a body, or with a write another node forwarded).
	Request *http.Request
	// Internal is a check the cluster makes on another node's behalf (a
	// forwarded write's credentials, a join): that node observed the
	// client's request already.
	Internal bool
}

func resultOf(err error) AuthResult {
	if err == nil {
		return AuthSuccess
	}
	return failureOf(err)
}

// failureOf is resultOf for an error; apart, so that the *Error that
// errors.As moves to the heap is not allocated for a success.
func failureOf(err error) AuthResult {
	var e *Error
	switch {
	case hashRefusal(err):
		return AuthThrottled
	case !errors.As(err, &e):
		return AuthFailed
	case e.Kind == Throttled:
		return AuthThrottled
	case e.Kind == Unavailable:
		return AuthUnavailable
	}
	return AuthFailed
}

// observers is every observer the service reports to; empty costs nothing.
type observers []Observer

func (o observers) authenticated(a *attempt, auth *Authentication, err error, start time.Time, req *http.Request) {
	if len(o) == 0 {
		return
	}
	out := AuthOutcome{Scheme: a.scheme, Result: resultOf(err), Principal: a.Principal, Auth: auth, Err: err,
		Took: time.Since(start), Request: req, Internal: a.from.internal}
	for _, ob := range o {
		ob.Authenticated(out)
	}
}

func (o observers) authorized(c Caller, action string, granted bool) {
	for _, ob := range o {
		ob.Authorized(c, action, granted)
	}
}

func (o observers) ranAs(c Caller, target, action string, granted bool) {
	for _, ob := range o {
		if r, ok := ob.(RunAsObserver); ok {
			r.RanAs(c, target, action, granted)
		}
	}
}

func (o observers) wrote(c Caller, p fsm.Payload, res fsm.Result, err error, start time.Time) {
	if len(o) == 0 {
		return
	}
	took := time.Since(start)
	for _, ob := range o {
		ob.Wrote(c, p, res, err, took)
	}
}
