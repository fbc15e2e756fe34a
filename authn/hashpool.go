package authn

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
)

// hashPool bounds the CPU that password hashing takes, as Elasticsearch's
// security-crypto thread pool does: at most size hashes run at once, at most
// queue more wait for a turn, and any beyond that are refused at once with
// 429 es_rejected_execution_exception rather than piling up goroutines that
// each hold a core's worth of work. A hash runs on its caller's goroutine:
// the pool is a pair of semaphores, not a set of workers.
type hashPool struct {
	size, queue int
	running     chan struct{} // a token per hash running
	admitted    chan struct{} // a token per hash running or waiting
	// verified counts verifications run (not cached ones), rejected the
	// hashes refused because the queue was full.
	verified, rejected atomic.Uint64
}

// defaultCryptoPoolSize is Elasticsearch's security-crypto size: half the
// processors, rounded up.
func defaultCryptoPoolSize() int { return (runtime.GOMAXPROCS(0) + 1) / 2 }

// defaultCryptoQueueSize is Elasticsearch's security-crypto queue_size.
const defaultCryptoQueueSize = 1000

func newHashPool(size, queue int) *hashPool {
	if size <= 0 {
		size = defaultCryptoPoolSize()
	}
	if queue <= 0 {
		queue = defaultCryptoQueueSize
	}
	return &hashPool{size: size, queue: queue, running: make(chan struct{}, size), admitted: make(chan struct{}, size+queue)}
}

// do runs f once a turn is free. A request whose context ends while it
// waits leaves the queue without hashing; once f runs it runs to the end,
// which the cost limit on stored hashes keeps short.
func (p *hashPool) do(ctx context.Context, f func()) error {
	select {
	case p.admitted <- struct{}{}:
	default:
		p.rejected.Add(1)
		return p.rejection()
	}
	defer func() { <-p.admitted }()
	select {
	case p.running <- struct{}{}:
	case <-ctx.Done():
		return hashCancelled(ctx.Err())
	}
	defer func() { <-p.running }()
	// Both cases may have been ready: a cancelled request never hashes.
	if err := ctx.Err(); err != nil {
		return hashCancelled(err)
	}
	f()
	return nil
}

// rejection is Elasticsearch's EsRejectedExecutionException, which it
// renders as 429; Kind Throttled is this service's 429.
func (p *hashPool) rejection() *Error {
	return &Error{Kind: Throttled, Type: "es_rejected_execution_exception",
		Reason: fmt.Sprintf("rejected execution of password hashing on EsThreadPoolExecutor[name = security-crypto, pool size = %d, queue capacity = %d]", p.size, p.queue)}
}

// hashCancelled answers a request that went away while it waited: nobody
// reads the answer, and it decides nothing, so it is no failure.
func hashCancelled(err error) *Error {
	return &Error{Kind: Unavailable, Type: "task_cancelled_exception", Reason: "the request was cancelled while it waited for password hashing", Err: err}
}

// hashRefusal reports whether err is the pool's: a full queue or a request
// gone while it waited. Neither is a verdict on the credential.
func hashRefusal(err error) bool {
	if err == nil {
		return false
	}
	var e *Error
	return errors.As(err, &e) && (e.Type == "es_rejected_execution_exception" || e.Type == "task_cancelled_exception")
}

// verifyHash checks a password against a slow stored hash in the pool.
func (s *Service) verifyHash(ctx context.Context, password []byte, hash string) (bool, error) {
	var ok bool
	err := s.crypto.do(ctx, func() {
		s.crypto.verified.Add(1)
		ok = VerifyPassword(password, hash)
	})
	return ok, err
}

// hashPassword hashes a new password with the configured algorithm in the
// pool.
func (s *Service) hashPassword(ctx context.Context, password []byte) (string, error) {
	var hash string
	var herr error
	if err := s.crypto.do(ctx, func() { hash, herr = s.hasher.Hash(password) }); err != nil {
		return "", err
	}
	return hash, herr
}
