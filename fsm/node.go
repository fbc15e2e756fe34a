package fsm

// Node is a cluster member's public addresses, so any node can reach any
// other's HTTP endpoint (for forwarding writes to the leader).
type Node struct {
	ID       string `json:"id"`
	HTTPAddr string `json:"http_addr"`
	RaftAddr string `json:"raft_addr"`
}

// NodeRegisteredV1 records or updates a member's addresses.
type NodeRegisteredV1 struct {
	Node Node `json:"node"`
}

// EventType implements Payload.
func (NodeRegisteredV1) EventType() (EventType, uint8) { return NodeRegistered, 1 }

func applyNodeRegisteredV1(s *State, _ uint64, p NodeRegisteredV1) Result {
	old, ok := s.nodes[p.Node.ID]
	if ok && *old == p.Node {
		return Result{Status: Unchanged}
	}
	n := p.Node
	s.nodes[n.ID] = &n
	if ok {
		return Result{Status: Updated}
	}
	return Result{Status: Created}
}

// Node returns a member's registered addresses.
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
