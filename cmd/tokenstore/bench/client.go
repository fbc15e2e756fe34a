package bench

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strings"
	"time"
)

// The kinds of operation a workload sends, in report order.
const (
	opAuthenticate = iota
	opCreate
	opGrant
	opRefresh
	numOps
)

var opNames = [numOps]string{"authenticate", "create", "grant", "refresh"}

// client is one of the run's clients: it waits for each answer before it
// sends again, and counts its own operations (merged at the end).
type client struct {
	r    *runner
	base string
	rng  *rand.Rand
	// chain is the refresh token this client refreshes next.
	chain string
	ops   [numOps]*opStats
	buf   bytes.Buffer
}

// opStats is one client's figures for one kind of operation.
type opStats struct {
	hist     *Histogram
	errors   int64
	byStatus map[string]int64
	samples  map[string]string
}

func newClient(r *runner, i int) *client {
	base := strings.TrimSuffix(r.cfg.URLs[i%len(r.cfg.URLs)], "/")
	return &client{r: r, base: base, rng: rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))}
}

func (c *client) run(ctx context.Context) {
	// Requests under way finish when ctx ends: a run cut short still
	// counts what it sent.
	send := context.WithoutCancel(ctx)
	for c.r.pace(ctx) {
		c.r.w.step(send, c)
	}
}

func (c *client) stats(op int) *opStats {
	s := c.ops[op]
	if s == nil {
		s = &opStats{hist: NewHistogram()}
		c.ops[op] = s
	}
	return s
}

// do sends one measured request. It reports whether the answer was a 2xx,
// whose body is then in c.buf.
func (c *client) do(ctx context.Context, op int, method, path, auth string, body []byte) bool {
	start := time.Now()
	status, err := c.r.call(ctx, c.base, method, path, auth, body, &c.buf)
	took := time.Since(start)
	s := c.stats(op)
	if err == nil && status/100 == 2 {
		s.hist.Record(took)
		c.r.ok.Add(1)
		return true
	}
	c.r.failed.Add(1)
	s.errors++
	key := statusKey(status, err)
	if s.byStatus == nil {
		s.byStatus, s.samples = map[string]int64{}, map[string]string{}
	}
	s.byStatus[key]++
	if _, ok := s.samples[key]; !ok {
		sample := c.buf.String()
		if err != nil {
			sample = err.Error()
		}
		s.samples[key] = truncate(sample)
	}
	return false
}
