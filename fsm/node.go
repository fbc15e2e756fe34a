package fsm

// Node is a cluster member's public addresses, so any node can reach any
// other's HTTP endpoint (for forwarding writes to the leader), and the event
// versions its build applies, so the leader proposes only what every member
// can apply (rolling upgrades).
type Node struct {
	ID       string `json:"id"`
	HTTPAddr string `json:"http_addr"`
	RaftAddr string `json:"raft_addr"`
	// Applies is nil for a member registered by version 1 of the event,
	// which is taken to apply Baseline.
	Applies EventVersions `json:"applies,omitempty"`
}

// Equal reports whether two records say the same.
func (n Node) Equal(o Node) bool {
	return n.ID == o.ID && n.HTTPAddr == o.HTTPAddr && n.RaftAddr == o.RaftAddr && n.Applies.equal(o.Applies)
}

// AppliesOrBaseline is what the member applies, as far as the cluster knows.
func (n Node) AppliesOrBaseline() EventVersions {
	if len(n.Applies) == 0 {
		return Baseline
	}
	return n.Applies
}

// NodeRegisteredV1 records or updates a member's addresses.
type NodeRegisteredV1 struct {
	Node Node `json:"node"`
}

// EventType implements Payload.
func (NodeRegisteredV1) EventType() (EventType, uint8) { return NodeRegistered, 1 }

// NodeRegisteredV2 records or updates a member's addresses and the event
// versions its build applies.
type NodeRegisteredV2 struct {
	Node Node `json:"node"`
}

// EventType implements Payload.
func (NodeRegisteredV2) EventType() (EventType, uint8) { return NodeRegistered, 2 }

func applyNodeRegisteredV1(s *State, i uint64, p NodeRegisteredV1) Result {
	p.Node.Applies = nil // version 1 carries no versions
	return applyNodeRegisteredV2(s, i, NodeRegisteredV2(p))
}

func applyNodeRegisteredV2(s *State, _ uint64, p NodeRegisteredV2) Result {
	old, ok := s.nodes[p.Node.ID]
	if ok && old.Equal(p.Node) {
		return Result{Status: Unchanged}
	}
	n := p.Node
	s.nodes[n.ID] = &n
	if ok {
		return Result{Status: Updated}
	}
	return Result{Status: Created}
}

// Node returns a member's registered record; its Applies is shared and
// must not be changed.
func (s *State) Node(id string) (Node, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, ok := s.nodes[id]
	if !ok {
		return Node{}, false
	}
	return *n, true
}

func (n *Node) recordKey() string { return n.ID }
