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
	since      time.Time // when probing started
}

type statusAt struct {
	Status
	at time.Time
}

const probeEvery = 500 * time.Millisecond

func newHealthProbe(n *Node) *healthProbe {
	h := &healthProbe{node: n, lastSeen: map[string]time.Time{}, lastStatus: map[string]statusAt{}, since: time.Now()}
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

// fenced reports whether a member has not answered for so long that its
// read lease has surely run out: the lease counts from the member's last
// contact with the leader, which is at most a probe period after its last
// answer here (or after this node started probing).
func (h *healthProbe) fenced(id string) bool {
	h.mu.Lock()
	last, ok := h.lastSeen[id]
	h.mu.Unlock()
	if !ok || last.Before(h.since) {
		last = h.since
	}
	return time.Since(last) > h.node.fenceAfter()
}
