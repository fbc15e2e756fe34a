package fsm

import "strings"

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

	// salt and digest are Hash decoded once, at apply time.
	salt   []byte
	digest []byte
}

// Qualified is the token's "namespace/service/name".
func (t *ServiceToken) Qualified() string { return t.Namespace + "/" + t.Service + "/" + t.Name }

// SaltDigest returns the decoded hash parts.
func (t *ServiceToken) SaltDigest() ([]byte, []byte) { return t.salt, t.digest }

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

func applyServiceTokenCreatedV1(s *State, index uint64, body []byte) (Result, error) {
	p, err := decodePayload[ServiceTokenCreatedV1](body)
	if err != nil {
		return Result{}, err
	}
	t := p.Token
	if _, exists := s.serviceTokens[t.Qualified()]; exists {
		return Result{Status: AlreadyExists}, nil
	}
	t.ModIndex = index
	t.salt, t.digest = DecodeSSHA256(t.Hash)
	s.serviceTokens[t.Qualified()] = &t
	return Result{Status: Created}, nil
}

func applyServiceTokenDeletedV1(s *State, _ uint64, body []byte) (Result, error) {
	p, err := decodePayload[ServiceTokenDeletedV1](body)
	if err != nil {
		return Result{}, err
	}
	if _, ok := s.serviceTokens[p.Qualified]; !ok {
		return Result{Status: NotFound}, nil
	}
	delete(s.serviceTokens, p.Qualified)
	return Result{Status: Deleted}, nil
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
	for _, k := range sortedKeys(s.serviceTokens) {
		if strings.HasPrefix(k, principal+"/") {
			out = append(out, s.serviceTokens[k])
		}
	}
	return out
}
