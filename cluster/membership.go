package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tokenstore/tokenstore/fsm"
)

type joinRequest struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	HTTPAddr string `json:"http_addr"`
	// NonVoter asks to join as a non-voting member. It only matters for a
	// node not yet in the configuration: a member keeps its suffrage until
	// an operator promotes or demotes it.
	NonVoter bool `json:"non_voter,omitempty"`
	// Applies is the event versions the joining build applies (absent
	// from builds before v0.1.0).
	Applies fsm.EventVersions `json:"applies,omitempty"`
}

// maxAppliesEntries bounds the versions a join may register: far more
// event types than exist.
const maxAppliesEntries = 4096

// joinAny asks the given members, in turn, to add this node as a voter (or
// a non-voter). Any member will do: a follower passes the request to the
// leader.
func (n *Node) joinAny(urls []string) error {
	body, _ := json.Marshal(joinRequest{ID: n.cfg.ID, RaftAddr: string(n.transport.LocalAddr()), HTTPAddr: n.cfg.HTTPAddr, NonVoter: n.cfg.NonVoter, Applies: fsm.Applies()})
	deadline := time.Now().Add(n.cfg.JoinTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		for _, u := range urls {
			base := strings.TrimSuffix(u, "/")
			if !strings.Contains(base, "://") {
				base = n.PeerURL(base)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			status, resp, err := n.call(ctx, http.MethodPost, base+pathJoin, n.cfg.JoinCredential, body, nil)
			cancel()
			if err == nil && status == http.StatusOK {
				n.log.Info("joined cluster", "via", base)
				return nil
			}
			if err == nil {
				err = fmt.Errorf("%s answered %d: %s", base, status, strings.TrimSpace(string(resp)))
				if status == http.StatusBadRequest {
					return fmt.Errorf("join refused: %w", err) // asking again changes nothing
				}
			}
			lastErr = err
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("join %s: %w", strings.Join(urls, ","), lastErr)
}

func (n *Node) handleJoin(w http.ResponseWriter, r *http.Request, authz Authorizer) {
	data, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	var req joinRequest
	if err == nil {
		err = json.Unmarshal(data, &req)
	}
	if err == nil {
		err = req.validate()
	}
	if err != nil {
		writeESError(w, http.StatusBadRequest, "illegal_argument_exception", err.Error())
		return
	}
	if !n.IsLeader() {
		n.passJoinToLeader(w, r, data)
		return
	}
	if authz == nil || authz.AuthorizeJoin(r.Header.Get("Authorization")) != nil {
		n.log.Warn("refused a join request", "from", r.RemoteAddr, "id", truncate(req.ID, 64))
		writeESError(w, http.StatusForbidden, "security_exception",
			"joining needs the credential of a user with the all cluster privilege")
		return
	}
	if err := n.addMember(req); err != nil {
		var conflict *memberConflict
		if errors.As(err, &conflict) {
			n.log.Warn("refused a join request", "from", r.RemoteAddr, "error", err)
			writeESError(w, http.StatusBadRequest, "illegal_argument_exception", err.Error())
			return
		}
		writeESError(w, http.StatusServiceUnavailable, "unavailable_shards_exception", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"joined": true})
}

func (n *Node) passJoinToLeader(w http.ResponseWriter, r *http.Request, data []byte) {
	base, err := n.leaderURL()
	if err != nil {
		writeESError(w, http.StatusServiceUnavailable, "unavailable_shards_exception", err.Error())
		return
	}
	status, resp, err := n.call(r.Context(), http.MethodPost, base+pathJoin, r.Header.Get("Authorization"), data, nil)
	if err != nil {
		writeESError(w, http.StatusServiceUnavailable, "unavailable_shards_exception", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(resp)
}

// validate bounds what a join may write into the configuration and the log.
func (req joinRequest) validate() error {
	if req.ID == "" || len(req.ID) > 256 || strings.ContainsFunc(req.ID, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return errors.New("join needs an [id] of 1 to 256 printable characters")
	}
	for name, addr := range map[string]string{"raft_addr": req.RaftAddr, "http_addr": req.HTTPAddr} {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host == "" || port == "" || len(addr) > 256 {
			return fmt.Errorf("join needs [%s] as host:port", name)
		}
	}
	if len(req.Applies) > maxAppliesEntries {
		return fmt.Errorf("join lists %d event types in [applies], more than %d", len(req.Applies), maxAppliesEntries)
	}
	return nil
}

// memberConflict refuses a join that names an id or an address another
// member holds: a join never removes or replaces a member (an operator
// removes one with voting_config_exclusions first).
type memberConflict struct{ reason string }

func (e *memberConflict) Error() string { return e.reason }

// addMember makes the node a voter, or a non-voter when it asks to be one,
// and records its HTTP address. A member joining again with its own id and
// Raft address (after a restart on a new HTTP port, or with a wiped data
// dir) only has its HTTP address recorded.
func (n *Node) addMember(req joinRequest) error {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	present := false
	for _, s := range f.Configuration().Servers {
		sameID, sameAddr := s.ID == raft.ServerID(req.ID), s.Address == raft.ServerAddress(req.RaftAddr)
		node, _ := n.State().Node(string(s.ID))
		switch {
		case sameID && sameAddr:
			present = true
		case sameID:
			return &memberConflict{fmt.Sprintf("node id [%s] is already a member, with another raft address", truncate(req.ID, 64))}
		case sameAddr:
			return &memberConflict{fmt.Sprintf("raft address [%s] already belongs to member [%s]", truncate(req.RaftAddr, 64), s.ID)}
		case node.HTTPAddr == req.HTTPAddr:
			return &memberConflict{fmt.Sprintf("http address [%s] already belongs to member [%s]", truncate(req.HTTPAddr, 64), s.ID)}
		}
	}
	if !present {
		if err := n.appliesState(req); err != nil {
			return err
		}
		if err := n.addToConfiguration(req.ID, req.RaftAddr, req.NonVoter); err != nil {
			return err
		}
	}
	return n.register(fsm.Node{ID: req.ID, HTTPAddr: req.HTTPAddr, RaftAddr: req.RaftAddr, Applies: req.Applies})
}

// selfRecord is this node as the state records it.
func (n *Node) selfRecord() fsm.Node {
	return fsm.Node{ID: n.cfg.ID, HTTPAddr: n.cfg.HTTPAddr, RaftAddr: string(n.transport.LocalAddr()), Applies: fsm.Applies()}
}

func (n *Node) register(node fsm.Node) error {
	if old, ok := n.State().Node(node.ID); ok && old.Equal(node) {
		return nil
	}
	_, _, err := n.applyLocal(fsm.MustEncode(fsm.NodeRegisteredV2{Node: node}))
	return err
}

// registerLoop makes sure the cluster knows this node's current addresses
// and the event versions its build applies: a leader records its own, a
// follower re-joins through the leader when what is recorded differs (say,
// after a restart on a new HTTP port, or with another build).
func (n *Node) registerLoop() {
	self := n.selfRecord()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-n.stopped:
			return
		case <-tick.C:
		}
		if n.Halted() != nil {
			n.yieldLeadership()
			continue
		}
		if got, ok := n.State().Node(self.ID); ok && got.Equal(self) {
			continue
		}
		var err error
		if n.IsLeader() {
			err = n.register(self)
		} else if base, lerr := n.leaderURL(); lerr == nil {
			body, _ := json.Marshal(joinRequest{ID: self.ID, RaftAddr: self.RaftAddr, HTTPAddr: self.HTTPAddr, NonVoter: n.cfg.NonVoter, Applies: self.Applies})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _, err = n.call(ctx, http.MethodPost, base+pathJoin, n.cfg.JoinCredential, body, nil)
			cancel()
		}
		if err != nil {
			n.log.Debug("register addresses", "error", err)
		}
	}
}

// RemoveVoter takes a node out of the voting configuration. Only the leader
// can; callers on a follower get ErrNotLeader-wrapped errors.
func (n *Node) RemoveVoter(id string) error {
	if !n.IsLeader() {
		return ErrNoLeader
	}
	n.removed.note(id) // before: a revocation confirmed meanwhile must wait for it
	if err := n.raft.RemoveServer(raft.ServerID(id), 0, 10*time.Second).Error(); err != nil {
		return fmt.Errorf("remove voter %s: %w", id, err)
	}
	n.removed.note(id)
	n.log.Info("removed voter", "id", id)
	return nil
}

// Member is one server of the Raft configuration as this node sees it.
type Member struct {
	ID       string
	HTTPAddr string
	RaftAddr string
	Voter    bool
	Leader   bool
	Alive    bool
	// LastContact is how long ago this node last had an answer from the
	// member (zero for itself), or -1 when it never had one.
	LastContact time.Duration
	// Applied is the member's applied index as of that answer; Lag how far
	// it trails the highest applied index known here.
	Applied, Lag uint64
	// Version is the build the member said it runs ("" when unknown).
	Version string
}

// Members lists the configuration's servers in id order, with the HTTP
// address each registered and whether this node reached it recently.
func (n *Node) Members() ([]Member, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	leader := n.Leader()
	var out []Member
	for _, s := range f.Configuration().Servers {
		m := Member{ID: string(s.ID), RaftAddr: string(s.Address), Voter: s.Suffrage == raft.Voter, Leader: string(s.ID) == leader}
		if node, ok := n.State().Node(m.ID); ok {
			m.HTTPAddr = node.HTTPAddr
		}
		m.Alive = m.ID == n.cfg.ID || n.health.alive(m.ID)
		n.describe(&m)
		out = append(out, m)
	}
	var top uint64
	for _, m := range out {
		top = max(top, m.Applied)
	}
	for i := range out {
		out[i].Lag = top - out[i].Applied
	}
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
