package cluster

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// healthProbe asks every member for its status once a second, so health and
// _cat/nodes can say which nodes are up without a call per request.
type healthProbe struct {
	node     *Node
	mu       sync.Mutex
	lastSeen map[string]time.Time
	// lastStatus is each member's last answer to a probe, and when.
	lastStatus map[string]statusAt
	// firstKnown is when this node first met each member in the
	// configuration (or was first asked about it).
	firstKnown map[string]time.Time
	since      time.Time // when probing started
}

type statusAt struct {
	Status
	at time.Time
}

const probeEvery = 500 * time.Millisecond

func newHealthProbe(n *Node) *healthProbe {
	h := &healthProbe{node: n, lastSeen: map[string]time.Time{}, lastStatus: map[string]statusAt{}, firstKnown: map[string]time.Time{}, since: time.Now()}
	go h.loop()
	return h
}

func (h *healthProbe) alive(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return time.Since(h.lastSeen[id]) < 3*probeEvery
}

func (h *healthProbe) loop() {
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		select {
		case <-h.node.stopped:
			return
		case <-t.C:
		}
		f := h.node.raft.GetConfiguration()
		if f.Error() != nil {
			continue
		}
		for _, s := range f.Configuration().Servers {
			id := string(s.ID)
			h.know(id)
			node, ok := h.node.State().Node(id)
			if !ok || id == h.node.cfg.ID {
				continue
			}
			go h.probe(id, h.node.PeerURL(node.HTTPAddr)+pathStatus)
		}
	}
}

func (h *healthProbe) probe(id, url string) {
	ctx, cancel := context.WithTimeout(context.Background(), probeEvery)
	defer cancel()
	var st Status
	status, _, err := h.node.call(ctx, http.MethodGet, url, h.node.peerCredential(), nil, &st)
	if err != nil || status != http.StatusOK || st.ID != id {
		return
	}
	h.record(id, st)
}

// record keeps a member's answer to a probe, which also says it is alive.
func (h *healthProbe) record(id string, st Status) {
	h.mu.Lock()
	now := time.Now()
	h.lastSeen[id] = now
	h.lastStatus[id] = statusAt{st, now}
	h.mu.Unlock()
}

// last is a member's last answer to a probe and when it came.
func (h *healthProbe) last(id string) (Status, time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, ok := h.lastStatus[id]
	return st.Status, st.at, ok
}

func (h *healthProbe) seen(id string) {
	h.mu.Lock()
	h.lastSeen[id] = time.Now()
	h.mu.Unlock()
}

// know notes when this node first met a member.
func (h *healthProbe) know(id string) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	first, ok := h.firstKnown[id]
	if !ok {
		first = time.Now()
		h.firstKnown[id] = first
	}
	return first
}

// fenced reports whether a member has not answered for so long that its
// read lease has surely run out: the lease counts from the member's last
// contact with the leader, which is at most a probe period after its last
// answer here (or after this node started probing, or first met the
// member: one that joined a moment ago, not yet probed or even registered,
// may already answer from its state).
func (h *healthProbe) fenced(id string) bool {
	first := h.know(id)
	h.mu.Lock()
	last := h.lastSeen[id]
	h.mu.Unlock()
	last = latest(last, h.since, first)
	return time.Since(last) > h.node.fenceAfter()
}

func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}
