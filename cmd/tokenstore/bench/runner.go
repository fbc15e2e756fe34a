package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config is one run of one workload.
type Config struct {
	// Workload is one of Workloads.
	Workload string
	// URLs are the nodes' base URLs; client i talks to URLs[i%len(URLs)].
	URLs []string
	// User and Password authenticate the workload's requests (Basic); the
	// user needs manage_api_key (create, and the key authenticate makes)
	// or manage_token (grant, refresh, with its own password).
	User, Password string
	// Clients is how many clients send at once, each waiting for its
	// answer before it sends again (a keep-alive connection each).
	Clients int
	// Duration is how long clients start new requests.
	Duration time.Duration
	// Rate paces all clients together to this many requests a second (0:
	// each client sends as soon as it has its answer). See pace.
	Rate float64
	// Mix is the percentage of authentications in the mixed workload, the
	// rest being creates; 0 means 90.
	Mix float64
	// Credential is the Authorization header authenticate and mixed send
	// (ApiKey …, Bearer …, Basic …); "" creates an API key first.
	Credential string
	// RootCAs verify the nodes' certificates (nil: the system's roots).
	RootCAs *x509.CertPool
	// HTTPClient, if set, sends every request instead of one made for the
	// run; it should keep Clients connections per node alive.
	HTTPClient *http.Client
	// Progress gets a line a second while the run lasts; nil gets none.
	Progress io.Writer
}

// maxSample is how much of a failed answer the report keeps.
const maxSample = 300

// runner is one run: what the clients share.
type runner struct {
	cfg        Config
	w          workload
	http       *http.Client
	basic      string
	credential string
	grant      []byte
	start      time.Time
	deadline   time.Time
	ticket     atomic.Int64
	ok, failed atomic.Int64
}

// Run sends cfg's workload until cfg.Duration has passed (or ctx ends:
// then clients stop sending and the requests under way finish) and reports
// what came back. It fails only when the run cannot start: a bad Config,
// or the setup (the API key authenticate uses, the first refresh tokens)
// failing.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.check(); err != nil {
		return Report{}, err
	}
	r := &runner{cfg: cfg, w: workloads[cfg.Workload], http: cfg.HTTPClient, credential: cfg.Credential,
		basic: "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.User+":"+cfg.Password)),
		grant: passwordGrant(cfg.User, cfg.Password)}
	if r.http == nil {
		r.http = newHTTPClient(cfg.Clients, cfg.RootCAs)
		defer r.http.CloseIdleConnections()
	}
	if err := r.warm(ctx); err != nil {
		return Report{}, fmt.Errorf("%s: setup: %w", cfg.Workload, err)
	}
	if r.w.setup != nil {
		if err := r.w.setup(ctx, r); err != nil {
			return Report{}, fmt.Errorf("%s: setup: %w", cfg.Workload, err)
		}
	}
	clients, err := r.prepare(ctx)
	if err != nil {
		return Report{}, err
	}
	r.start = time.Now()
	r.deadline = r.start.Add(cfg.Duration)
	stop := r.progress()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() { c.run(ctx) })
	}
	wg.Wait()
	elapsed := time.Since(r.start)
	stop()
	return r.report(clients, elapsed), nil
}

// prepare makes the clients and runs each one's setup (the refresh
// workload's first grant) at once, before the clock starts.
func (r *runner) prepare(ctx context.Context) ([]*client, error) {
	clients := make([]*client, r.cfg.Clients)
	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	for i := range clients {
		clients[i] = newClient(r, i)
		if r.w.prepare != nil {
			wg.Go(func() { errs[i] = r.w.prepare(ctx, clients[i]) })
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%s: setup: %w", r.cfg.Workload, err)
	}
	return clients, nil
}

// pace decides whether a client sends again, and when. Unpaced, it sends
// at once until the duration is over. Paced, request k of the run is due
// at start + k/Rate: a client takes the next k and waits for its time, so
// the offered rate does not depend on the answers' latency as long as a
// client is free; when every client is waiting for an answer the schedule
// slips and the next free client sends at once, late requests catching up
// (at most Clients at a time: open loop, bounded by the clients) until the
// deadline.
func (r *runner) pace(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	if r.cfg.Rate <= 0 {
		return time.Now().Before(r.deadline)
	}
	k := r.ticket.Add(1) - 1
	due := r.start.Add(time.Duration(float64(k) * float64(time.Second) / r.cfg.Rate))
	// A run behind its schedule stops at the deadline too: what it could
	// not send in time is not sent.
	if !due.Before(r.deadline) || !time.Now().Before(r.deadline) {
		return false
	}
	if wait := time.Until(due); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// progress prints a line a second, and one more when the returned stop
// is called.
func (r *runner) progress() (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done, finished := make(chan struct{}), make(chan struct{})
	var last int64
	line := func(now time.Time, end string) {
		ok := r.ok.Load()
		if end == "" {
			end = fmt.Sprintf("%d/s in the last second", ok-last)
		}
		fmt.Fprintf(r.cfg.Progress, "%s %5.1fs: %d ok, %d errors, %s\n",
			r.cfg.Workload, now.Sub(r.start).Seconds(), ok, r.failed.Load(), end)
		last = ok
	}
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				line(now, "")
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		line(time.Now(), "done")
	}
}

func (r *runner) report(clients []*client, elapsed time.Duration) Report {
	rep := Report{Workload: r.cfg.Workload, URLs: r.cfg.URLs, Clients: r.cfg.Clients, TargetRate: r.cfg.Rate,
		Seconds: elapsed.Seconds()}
	for op := range numOps {
		o := OpReport{Name: opNames[op], hist: NewHistogram()}
		used := r.w.reports(op)
		for _, c := range clients {
			if s := c.ops[op]; s != nil {
				used = true
				o.merge(OpReport{hist: s.hist, Errors: s.errors, ErrorsByStatus: s.byStatus, ErrorSamples: s.samples})
			}
		}
		if used {
			o.finish(rep.Seconds)
			rep.Operations = append(rep.Operations, o)
		}
	}
	return rep
}

// newHTTPClient keeps a connection per client to every node alive.
func newHTTPClient(clients int, roots *x509.CertPool) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        clients,
		MaxIdleConnsPerHost: clients,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
	}}
}

// call sends one request and returns the status and the answer's body.
func (r *runner) call(ctx context.Context, base, method, path, auth string, body []byte, into *bytes.Buffer) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return 0, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	into.Reset()
	// Read to the end, so the connection is used again.
	_, err = into.ReadFrom(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, err
}

// warm authenticates the user once on every node before anything else:
// a wrong password fails the run at once, and each node's cache holds the
// verified password, so the run measures what a node does in its steady
// state. Without it the clients' first requests all miss the cache at
// once, and each node's throttle refuses (429) the uncached password
// checks beyond its per-user budget (20) that are in flight together.
func (r *runner) warm(ctx context.Context) error {
	if r.cfg.User == "" {
		return nil
	}
	for _, base := range r.cfg.URLs {
		if _, err := r.setupCall(ctx, strings.TrimSuffix(base, "/"), http.MethodGet, authenticatePath, r.basic, nil); err != nil {
			return fmt.Errorf("authenticate as %s on %s: %w", r.cfg.User, base, err)
		}
	}
	return nil
}

// setupCall is call for the requests outside the measurement: anything
// but a 2xx is an error. A 429 is tried again for a while: setup requests
// made together (each client's first grant) may meet the throttle's
// reservations for checks in flight, which a moment resolves.
func (r *runner) setupCall(ctx context.Context, base, method, path, auth string, body []byte) ([]byte, error) {
	var buf bytes.Buffer
	for attempt := 0; ; attempt++ {
		status, err := r.call(ctx, base, method, path, auth, body, &buf)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		case status == http.StatusTooManyRequests && attempt < 50:
			select {
			case <-time.After(100 * time.Millisecond):
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		case status/100 != 2:
			return nil, fmt.Errorf("%s %s: %d %s", method, path, status, truncate(buf.String()))
		}
		return bytes.Clone(buf.Bytes()), nil
	}
}

func truncate(s string) string {
	if len(s) > maxSample {
		return s[:maxSample] + "…"
	}
	return s
}

// check refuses a Config that cannot run, with the flag's name in the
// message (the command line's flags are these fields).
func (cfg Config) check() error {
	if _, ok := workloads[cfg.Workload]; !ok {
		return fmt.Errorf("unknown workload %q (one of %s)", cfg.Workload, workloadList())
	}
	if len(cfg.URLs) == 0 {
		return errors.New("--url is required")
	}
	for _, u := range cfg.URLs {
		if err := checkURL(u); err != nil {
			return err
		}
	}
	switch {
	case cfg.User == "" && !(cfg.Workload == Authenticate && cfg.Credential != ""):
		return errors.New("--user is required")
	case cfg.User != "" && cfg.Password == "":
		return errors.New("no password: give --user NAME:PASSWORD, --password, or TOKENSTORE_PASSWORD")
	case cfg.Clients < 1:
		return fmt.Errorf("--clients must be at least 1, got %d", cfg.Clients)
	case cfg.Duration <= 0:
		return fmt.Errorf("--duration must be positive, got %s", cfg.Duration)
	case cfg.Rate < 0:
		return fmt.Errorf("--rate must not be negative, got %g", cfg.Rate)
	case cfg.Mix < 0 || cfg.Mix > 100:
		return fmt.Errorf("--mix is a percentage of authentications, 0 to 100, got %g", cfg.Mix)
	case cfg.Mix != 0 && cfg.Workload != Mixed:
		return fmt.Errorf("--mix is for the mixed workload, not %s", cfg.Workload)
	case cfg.Credential != "" && cfg.Workload != Authenticate && cfg.Workload != Mixed:
		return fmt.Errorf("--credential is for authenticate and mixed, not %s", cfg.Workload)
	}
	return nil
}

func checkURL(raw string) error {
	if !strings.HasPrefix(raw, "http://") && !strings.HasPrefix(raw, "https://") {
		return fmt.Errorf("--url %q: want http:// or https://", raw)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("--url %q: %w", raw, err)
	case u.Host == "":
		return fmt.Errorf("--url %q: no host", raw)
	case u.User != nil:
		return fmt.Errorf("--url %q: give the credentials with --user, not in the URL", raw)
	case u.Path != "" && u.Path != "/":
		return fmt.Errorf("--url %q: a node's base URL has no path", raw)
	}
	return nil
}

// statusKey names a failure in ErrorsByStatus.
func statusKey(status int, err error) string {
	if err != nil {
		return "transport"
	}
	return strconv.Itoa(status)
}
