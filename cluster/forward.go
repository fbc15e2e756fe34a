package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tokenstore/tokenstore/fsm"
)

// Internal endpoints, served on the public HTTP port under this prefix.
const (
	InternalPrefix = "/_tokenstore/internal"
	pathPropose    = InternalPrefix + "/propose"
	// pathProposeBatch takes many forwarded writes in one request (batch.go).
	pathProposeBatch = InternalPrefix + "/propose/batch"
	pathJoin         = InternalPrefix + "/join"
	pathApplied      = InternalPrefix + "/applied"
	pathStatus       = InternalPrefix + "/status"
	pathConfirm      = InternalPrefix + "/confirm"
	maxEventBytes    = 16 << 20
)

// NodeOnlyPaths are the internal endpoints only nodes call: they carry no
// client credential, or (a batch of forwarded writes) carry them in the
// body, each authorized on its own. With transport TLS the peer certificate admits the
// caller (RequirePeer); without, the HTTP layer asks for a node's
// credential (see Node.peerCredential).
var NodeOnlyPaths = []string{pathApplied, pathStatus, pathConfirm, pathKeyUsage, pathProposeBatch}

// Authorizer is what the leader asks before it acts on another node's
// request. authn.Service satisfies it; it is given to Handler, which serves
// the only endpoints that need it.
type Authorizer interface {
	// AuthorizeForwarded checks a write another node forwarded, with the
	// credentials of the client that sent it: its own, and for writes on
	// behalf of another subject (a password or refresh grant), the subject's.
	AuthorizeForwarded(credential, subject string, event []byte) error
	// AuthorizeJoin checks the credential a joining node shows. Without a
	// successful check nobody becomes a member.
	AuthorizeJoin(credential string) error
}

func newInternalClient(links Links, tlsConfig *tls.Config, credentialsMayGoTo func(string) bool) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: credentialGuard{allowed: credentialsMayGoTo, next: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
				return links.Dial(ctx, network, addr)
			},
			MaxIdleConnsPerHost: 64,
			// Peers close idle connections after http.read_timeout; closing
			// ours first avoids sending on one being closed.
			IdleConnTimeout:   30 * time.Second,
			TLSClientConfig:   tlsConfig,
			ForceAttemptHTTP2: tlsConfig != nil,
		}},
	}
}

// Propose appends an event through the leader and returns its log index and
// result once this node has applied it. On a follower the event goes to the
// leader with the client's credential (and the subject's, for writes made on
// another's behalf), and the leader authorizes it again. Credentials travel
// in headers only; they never enter the log.
func (n *Node) Propose(ctx context.Context, event []byte, credential, subject string) (uint64, fsm.Result, error) {
	if err := fsm.Validate(event); err != nil {
		return 0, fsm.Result{}, err
	}
	// This node could not apply what it forwarded, nor store what it leads.
	if err := n.disk.err(); err != nil {
		return 0, fsm.Result{}, err
	}
	if n.IsLeader() {
		idx, res, err := n.proposeConfirmed(ctx, event)
		// Not appended at all: safe to send again, to whoever leads now.
		if !errors.Is(err, errNotAppended) {
			return idx, res, err
		}
	}
	// Decided here too, not only by the leader (applyLocal decides what
	// this node appends as leader): a leader of an older build would take
	// an event it does not know for a bad one.
	if err := n.CanPropose(event); err != nil {
		return 0, fsm.Result{}, err
	}
	start := time.Now()
	idx, res, err := n.forward(ctx, event, credential, subject)
	n.cfg.Observer.Forwarded(time.Since(start), err)
	if err != nil {
		return 0, fsm.Result{}, err
	}
	if err := n.waitAppliedHere(ctx, idx); err != nil {
		return 0, fsm.Result{}, err
	}
	return idx, res, nil
}

// waitAppliedHere waits until this node has applied the write at index that
// it forwarded, or ctx ends, or the node's disk fails (then it cannot).
func (n *Node) waitAppliedHere(ctx context.Context, index uint64) error {
	st := n.fsm.State()
	for {
		ch := st.AppliedChanged()
		if st.AppliedIndex() >= index {
			return nil
		}
		if err := n.disk.err(); err != nil {
			return &UnavailableError{Reason: fmt.Sprintf("the write was committed at index %d, but this node cannot apply it: %v", index, err)}
		}
		select {
		case <-ch:
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("%w: committed at index %d but not yet applied here: %v", ErrUnavailable, index, ctx.Err())
		}
	}
}

// ProposeAsLeader appends an event that the node itself originates (purges,
// bootstrap, registration); it fails unless this node leads.
func (n *Node) ProposeAsLeader(event []byte) (uint64, fsm.Result, error) {
	if !n.IsLeader() {
		return 0, fsm.Result{}, ErrNoLeader
	}
	return n.applyLocal(event)
}

// applyLocal is the one place the leader appends: what some member cannot
// apply yet is refused here (CanPropose), and a halted leader appends
// nothing.
func (n *Node) applyLocal(event []byte) (uint64, fsm.Result, error) {
	if err := n.Halted(); err != nil {
		return 0, fsm.Result{}, fmt.Errorf("%w: %w: %v", ErrUnavailable, errNotAppended, err)
	}
	if err := n.CanPropose(event); err != nil {
		return 0, fsm.Result{}, err
	}
	if err := n.disk.err(); err != nil {
		return 0, fsm.Result{}, err
	}
	f := n.raft.Apply(event, 10*time.Second)
	if err := f.Error(); err != nil {
		if ue, ok := errors.AsType[*UnavailableError](err); ok {
			return 0, fsm.Result{}, ue // this leader's log store failed
		}
		if errors.Is(err, raft.ErrNotLeader) {
			return 0, fsm.Result{}, fmt.Errorf("%w: %w", ErrNoLeader, errNotAppended)
		}
		if errors.Is(err, raft.ErrLeadershipLost) {
			return 0, fsm.Result{}, fmt.Errorf("%w: %v", ErrNoLeader, err)
		}
		return 0, fsm.Result{}, fmt.Errorf("%w: apply: %v", ErrUnavailable, err)
	}
	if herr, ok := f.Response().(error); ok {
		return 0, fsm.Result{}, fmt.Errorf("%w: %v", ErrUnavailable, herr)
	}
	res, _ := f.Response().(fsm.Result)
	return f.Index(), res, nil
}

type proposeReply struct {
	Index  uint64     `json:"index"`
	Result fsm.Result `json:"result"`
}

// subjectHeader carries the subject's credential of a forwarded write.
const subjectHeader = "X-Tokenstore-Subject"

// forwarded is the outcome of one attempt to forward a write.
type forwarded struct {
	index  uint64
	result fsm.Result
	err    error
	// retry says the leader surely did not append the write: it may go
	// again, to whoever leads by then.
	retry bool
}

func (n *Node) forward(ctx context.Context, event []byte, credential, subject string) (uint64, fsm.Result, error) {
	var lastErr error
	// A leader may be changing; retry briefly while a new one is found.
	for attempt := 0; attempt < 20; attempt++ {
		out := n.forwardOnce(ctx, event, credential, subject)
		if !out.retry {
			return out.index, out.result, out.err
		}
		lastErr = out.err
		select {
		case <-ctx.Done():
			return 0, fsm.Result{}, fmt.Errorf("%w: %v", ErrUnavailable, ctx.Err())
		case <-n.stopped:
			return 0, fsm.Result{}, fmt.Errorf("%w: node stopped", ErrUnavailable)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if errors.Is(lastErr, ErrNoLeader) {
		return 0, fsm.Result{}, lastErr
	}
	return 0, fsm.Result{}, fmt.Errorf("%w: forward to leader: %v", ErrUnavailable, lastErr)
}

// forwardOnce sends a write to the leader once: in a batch with the other
// writes this node forwards meanwhile (batch.go), or alone when it is too
// large for a batch or the leader takes none (a leader of an older build).
func (n *Node) forwardOnce(ctx context.Context, event []byte, credential, subject string) forwarded {
	w := newPendingWrite(event, credential, subject)
	if w.size <= maxBatchBytes && n.batches.accepted() {
		if out, alone := n.submitBatched(ctx, w); !alone {
			return out
		}
	}
	return n.forwardAlone(ctx, event, credential, subject)
}

// forwardAlone sends one write to the leader's single endpoint, with the
// credentials in headers.
func (n *Node) forwardAlone(ctx context.Context, event []byte, credential, subject string) forwarded {
	leader := n.Leader()
	base, err := n.leaderURL()
	if err != nil {
		return forwarded{err: err, retry: true}
	}
	ctx, cancel := n.whileLeads(ctx, leader)
	defer cancel()
	var reply proposeReply
	status, body, err := n.call(ctx, http.MethodPost, base+pathPropose, credential, event, &reply, subject)
	switch {
	case err != nil && !neverSent(err):
		return outcomeUnknown(err)
	case err != nil:
		return forwarded{err: err, retry: true}
	case status == http.StatusOK:
		return forwarded{index: reply.Index, result: reply.Result}
	}
	return leaderRefused(status, body, esReason(body))
}

// outcomeUnknown is the outcome of a write sent to the leader without an
// answer: the leader may have appended it, and sending it again could apply
// it twice.
func outcomeUnknown(err error) forwarded {
	return forwarded{err: fmt.Errorf("%w: forward to leader, outcome unknown: %v", ErrUnavailable, err)}
}

// leaderRefused is what an answer other than 200 to a forwarded write
// means, the same for a write sent alone and one in a batch; unavailable
// is the reason a leader that cannot write gives with its 503.
func leaderRefused(status int, body []byte, unavailable string) forwarded {
	var err error
	switch {
	case status == http.StatusConflict:
		return forwarded{err: fmt.Errorf("leader changed before appending: %s", body), retry: true}
	case status == http.StatusForbidden:
		err = &ForbiddenError{Reason: strings.TrimSpace(string(body))}
	case status == http.StatusPreconditionFailed:
		err = &UnsupportedEventError{reason: strings.TrimSpace(string(body))}
	case status == http.StatusBadRequest:
		err = fmt.Errorf("leader rejected event: %s", body)
	case status == http.StatusServiceUnavailable && unavailable != "":
		err = &UnavailableError{Reason: "the leader could not append the write: " + unavailable}
	default:
		err = fmt.Errorf("%w: leader answered %d: %s", ErrUnavailable, status, strings.TrimSpace(string(body)))
	}
	return forwarded{err: err}
}

// esReason is the reason of an answer in Elasticsearch's error shape, or "".
func esReason(body []byte) string {
	var e struct {
		Error struct{ Reason string } `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return truncate(e.Error.Reason, 1024)
}

// neverSent reports whether a call failed before the request could reach
// the other side (no connection), which makes it safe to send again.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.Is(err, ErrUnverifiedPeer) || (errors.As(err, &op) && op.Op == "dial")
}

// leaderCheckEvery is how often a write on its way to the leader looks
// whether this node still takes that node for leader.
const leaderCheckEvery = 50 * time.Millisecond

// whileLeads is ctx, ended as soon as this node takes another node, or
// none, for leader than leader. A write on its way to a leader that was
// deposed (cut off from the others, say) would otherwise wait for its
// answer until the client gives up, and a batch would hold every write
// queued behind it on this node; ended, its outcome is unknown, as for any
// write sent without an answer, and the writes after it go to the new
// leader.
func (n *Node) whileLeads(ctx context.Context, leader string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		tick := time.NewTicker(leaderCheckEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-n.stopped:
				cancel()
				return
			case <-tick.C:
				if n.Leader() != leader {
					cancel()
					return
				}
			}
		}
	}()
	return ctx, cancel
}

// waitLeaderURL is the leader's HTTP base URL, waiting (until ctx ends)
// while an election is under way or the leader's address is not known yet.
func (n *Node) waitLeaderURL(ctx context.Context) (string, error) {
	for {
		u, err := n.leaderURL()
		if err == nil {
			return u, nil
		}
		select {
		case <-ctx.Done():
			return "", err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (n *Node) leaderURL() (string, error) {
	id := n.Leader()
	if id == "" {
		return "", ErrNoLeader
	}
	node, ok := n.State().Node(id)
	if !ok {
		return "", fmt.Errorf("%w: leader %s has not registered its address yet", ErrNoLeader, id)
	}
	return n.PeerURL(node.HTTPAddr), nil
}

// call makes one internal HTTP call and decodes a 200 answer into out.
func (n *Node) call(ctx context.Context, method, url, credential string, body []byte, out any, subject ...string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if credential != "" {
		req.Header.Set("Authorization", credential)
	}
	if len(subject) > 0 && subject[0] != "" {
		req.Header.Set(subjectHeader, subject[0])
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode == http.StatusOK && out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return 0, nil, fmt.Errorf("decode %s answer: %w", url, err)
		}
	}
	return resp.StatusCode, data, nil
}

// Handler serves the internal endpoints other nodes call. authz is asked
// before a forwarded write is appended or a node joins; nil refuses both.
// rep answers the leader's periodic question (usage.go); nil has no answer.
func (n *Node) Handler(authz Authorizer, rep Reporter) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+pathPropose, func(w http.ResponseWriter, r *http.Request) { n.handlePropose(w, r, authz) })
	mux.HandleFunc("POST "+pathProposeBatch, func(w http.ResponseWriter, r *http.Request) { n.handleProposeBatch(w, r, authz) })
	mux.HandleFunc("POST "+pathJoin, func(w http.ResponseWriter, r *http.Request) { n.handleJoin(w, r, authz) })
	mux.HandleFunc("GET "+pathApplied, n.handleApplied)
	mux.HandleFunc("GET "+pathStatus, n.handleStatus)
	mux.HandleFunc("GET "+pathConfirm, n.handleConfirm)
	mux.HandleFunc("GET "+pathKeyUsage, func(w http.ResponseWriter, _ *http.Request) { n.handleKeyUsage(w, rep) })
	return n.RequirePeer(n.cfg.Links.Handler(mux))
}

// leaderBody reads a forwarded write's body, at most limit bytes, on the
// leader only; otherwise it answers and returns false.
func (n *Node) leaderBody(w http.ResponseWriter, r *http.Request, limit int) ([]byte, bool) {
	if !n.IsLeader() {
		http.Error(w, "not the leader", http.StatusConflict) // not appended: retry elsewhere
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil || len(body) > limit {
		http.Error(w, "body unreadable or larger than the limit", http.StatusBadRequest)
		return nil, false
	}
	return body, true
}

func (n *Node) handlePropose(w http.ResponseWriter, r *http.Request, authz Authorizer) {
	event, ok := n.leaderBody(w, r, maxEventBytes)
	if !ok {
		return
	}
	a := n.admitForwarded(authz, r.Header.Get("Authorization"), r.Header.Get(subjectHeader), event, r.RemoteAddr)
	if a == nil {
		a = appendAnswer(n.proposeConfirmed(r.Context(), event))
	}
	switch {
	case a.Status == http.StatusOK:
		writeJSON(w, http.StatusOK, proposeReply{Index: a.Index, Result: *a.Result})
	case a.Unavailable != "":
		// The client's answer names the cause (forward reads it back).
		writeESError(w, a.Status, "unavailable_shards_exception", a.Unavailable)
	default:
		http.Error(w, a.Body, a.Status)
	}
}

// forwardAnswer is the leader's answer to one forwarded write: the status
// and body of the single endpoint's answer, and one item of a batch's.
type forwardAnswer struct {
	Status int         `json:"status"`
	Index  uint64      `json:"index,omitempty"`
	Result *fsm.Result `json:"result,omitempty"`
	// Body is the reason of a refusal.
	Body string `json:"body,omitempty"`
	// Unavailable is the reason a leader that cannot write gives, which
	// the client's answer names.
	Unavailable string `json:"unavailable,omitempty"`
}

// forwarded is what the follower makes of the answer.
func (a forwardAnswer) forwarded() forwarded {
	if a.Status == http.StatusOK && a.Result != nil {
		return forwarded{index: a.Index, result: *a.Result}
	}
	return leaderRefused(a.Status, []byte(a.Body), a.Unavailable)
}

// admitForwarded is the leader's check of a forwarded write before it is
// appended: an event it can apply, sent with credentials that may write
// it. nil admits the write.
func (n *Node) admitForwarded(authz Authorizer, credential, subject string, event []byte, from string) *forwardAnswer {
	if err := fsm.Validate(event); err != nil {
		return &forwardAnswer{Status: http.StatusBadRequest, Body: err.Error()}
	}
	if authz == nil {
		return &forwardAnswer{Status: http.StatusForbidden, Body: "forwarded writes are not accepted"}
	}
	if err := authz.AuthorizeForwarded(credential, subject, event); err != nil {
		n.log.Warn("refused forwarded write", "from", from, "error", err)
		return &forwardAnswer{Status: http.StatusForbidden, Body: err.Error()}
	}
	return nil
}

// appendAnswer is the answer to a forwarded write the leader tried to
// append.
func appendAnswer(index uint64, res fsm.Result, err error) *forwardAnswer {
	ue, disk := errors.AsType[*UnavailableError](err)
	switch {
	case errors.As(err, new(*UnsupportedEventError)):
		return &forwardAnswer{Status: http.StatusPreconditionFailed, Body: err.Error()}
	case disk:
		return &forwardAnswer{Status: http.StatusServiceUnavailable, Unavailable: ue.Reason}
	case errors.Is(err, errNotAppended):
		return &forwardAnswer{Status: http.StatusConflict, Body: err.Error()} // the follower may retry
	case err != nil:
		return &forwardAnswer{Status: http.StatusServiceUnavailable, Body: err.Error()}
	}
	return &forwardAnswer{Status: http.StatusOK, Index: index, Result: &res}
}

func (n *Node) handleApplied(w http.ResponseWriter, r *http.Request) {
	// A deposed leader that does not know it yet must not vouch for its
	// state: leadership is confirmed with a quorum first.
	if !n.IsLeader() || n.raft.VerifyLeader().Error() != nil {
		http.Error(w, "not the leader", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if err := n.waitLeaderReady(ctx); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	reply := appliedReply{Applied: n.State().AppliedIndex()}
	// A follower that cannot store entries asks whether those it lacks
	// only add (waitCaughtUp).
	if since, err := strconv.ParseUint(r.URL.Query().Get("since"), 10, 64); err == nil {
		reply.AddsOnlySince = n.addsOnlySince(since, reply.Applied)
	}
	writeJSON(w, http.StatusOK, reply)
}

// Status is what a node reports about itself to its peers.
type Status struct {
	ID      string `json:"id"`
	Leader  string `json:"leader"`
	Applied uint64 `json:"applied"`
	Version string `json:"version,omitempty"`
	// Fenced says the node may lack a revocation it cannot store (disk.go)
	// and answers no credential from its state until it has caught up.
	Fenced bool `json:"fenced,omitempty"`
	// Disk is why the node cannot write its data path, if it cannot.
	Disk string `json:"disk,omitempty"`
}

func (n *Node) handleStatus(w http.ResponseWriter, r *http.Request) {
	st := Status{ID: n.cfg.ID, Leader: n.Leader(), Applied: n.State().AppliedIndex(), Version: n.cfg.BuildVersion, Fenced: n.disk.fenced()}
	// The leader waits for this node to apply a revocation at that index.
	if index, err := strconv.ParseUint(r.URL.Query().Get("fence"), 10, 64); err == nil {
		st.Fenced = n.disk.fenceFor(index)
	}
	if err := n.disk.err(); err != nil {
		st.Disk = err.Error()
	}
	writeJSON(w, http.StatusOK, st)
}

// writeJSON answers an internal call.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
