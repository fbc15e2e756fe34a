package fsm

import "maps"

// Counts returns how many records of each kind the state holds.
func (s *State) Counts() map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	privs := 0
	for _, p := range s.appPrivs {
		privs += len(p)
	}
	return map[string]int{
		"users": len(s.users), "reserved_users": len(s.reserved), "roles": len(s.roles),
		"application_privileges": privs, "api_keys": s.apiKeys.len(), "service_tokens": len(s.serviceTokens),
		"tokens": s.tokens.len(), "nodes": len(s.nodes), "profiles": len(s.profiles),
	}
}

// AdoptCluster makes a state restored from a backup fit the cluster it is
// restored into: that cluster's members, id and applied index replace the
// backup's, since membership belongs to the cluster and not to the data.
func (s *State) AdoptCluster(live *State) {
	live.mu.RLock()
	nodes, meta := maps.Clone(live.nodes), live.meta
	applied := live.applied.Load()
	live.mu.RUnlock()
	s.mu.Lock()
	s.nodes, s.meta = nodes, meta
	s.applied.Store(applied)
	s.mu.Unlock()
}
