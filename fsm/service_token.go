package fsm

import (
	"maps"
	"slices"
	"strings"
)

// ServiceToken is an index-backed service account token. Hash is the
// "{SSHA256}" digest of its secret.
type ServiceToken struct {
	Namespace string `json:"namespace"`
	Service   string `json:"service"`
	Name      string `json:"name"`
	Hash      string `json:"hash"`
	Creation  int64  `json:"creation"` // epoch ms
	Creator   string `json:"creator"`
	ModIndex  uint64 `json:"mod_index"`
}

// Qualified is the token's "namespace/service/name".
func (t *ServiceToken) Qualified() string { return t.Namespace + "/" + t.Service + "/" + t.Name }

// ServiceTokenCreatedV1 stores a new service account token.
type ServiceTokenCreatedV1 struct {
	Token ServiceToken `json:"token"`
}

// EventType implements Payload.
func (ServiceTokenCreatedV1) EventType() (EventType, uint8) { return ServiceTokenCreated, 1 }

// ServiceTokenDeletedV1 removes a service account token by qualified name.
type ServiceTokenDeletedV1 struct {
	Qualified string `json:"qualified"`
}

// EventType implements Payload.
func (ServiceTokenDeletedV1) EventType() (EventType, uint8) { return ServiceTokenDeleted, 1 }

func applyServiceTokenCreatedV1(s *State, index uint64, p ServiceTokenCreatedV1) Result {
	t := p.Token
	if _, exists := s.serviceTokens[t.Qualified()]; exists {
		return Result{Status: AlreadyExists}
	}
	t.ModIndex = index
	s.serviceTokens[t.Qualified()] = &t
	return Result{Status: Created}
}

func applyServiceTokenDeletedV1(s *State, _ uint64, p ServiceTokenDeletedV1) Result {
	return deleteFrom(s.serviceTokens, p.Qualified)
}

// ServiceToken returns the token with a qualified name (immutable).
func (s *State) ServiceToken(qualified string) (*ServiceToken, bool) {
	s.mu.RLock()
	t, ok := s.serviceTokens[qualified]
	s.mu.RUnlock()
	return t, ok
}

// ServiceTokens returns the tokens of one account ("namespace/service"),
// ordered by name.
func (s *State) ServiceTokens(principal string) []*ServiceToken {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*ServiceToken
	for _, k := range slices.Sorted(maps.Keys(s.serviceTokens)) {
		if strings.HasPrefix(k, principal+"/") {
			out = append(out, s.serviceTokens[k])
		}
	}
	return out
}

func (t *ServiceToken) recordKey() string { return t.Qualified() }
