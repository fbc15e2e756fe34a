package fsm

import "encoding/json"

// User is a native-realm user. PasswordHash is a slow-KDF hash string in
// Elasticsearch's format; the password itself never reaches the state.
type User struct {
	Username     string          `json:"username"`
	PasswordHash string          `json:"password_hash"`
	Roles        []string        `json:"roles"`
	FullName     *string         `json:"full_name"`
	Email        *string         `json:"email"`
	Metadata     json.RawMessage `json:"metadata,omitempty"`
	Enabled      bool            `json:"enabled"`
	// ModIndex is the log index of the last change; caches key on it, so any
	// change to the user invalidates cached verifications on every node.
	ModIndex uint64 `json:"mod_index"`
}

// ReservedUser holds the mutable part of a built-in user (elastic,
// kibana_system, ...): the rest of it is defined in code.
type ReservedUser struct {
	Username     string `json:"username"`
	PasswordHash string `json:"password_hash"`
	Disabled     bool   `json:"disabled"`
	ModIndex     uint64 `json:"mod_index"`
}

// UserPutV1 creates or replaces a native user. An empty PasswordHash on an
// existing user keeps the stored one.
type UserPutV1 struct {
	User User `json:"user"`
}

// EventType implements Payload.
func (UserPutV1) EventType() (EventType, uint8) { return UserPut, 1 }

// UserDeletedV1 removes a native user.
type UserDeletedV1 struct {
	Username string `json:"username"`
}

// EventType implements Payload.
func (UserDeletedV1) EventType() (EventType, uint8) { return UserDeleted, 1 }

// UserEnabledSetV1 enables or disables a native or reserved user.
type UserEnabledSetV1 struct {
	Username string `json:"username"`
	Reserved bool   `json:"reserved"`
	Enabled  bool   `json:"enabled"`
}

// EventType implements Payload.
func (UserEnabledSetV1) EventType() (EventType, uint8) { return UserEnabledSet, 1 }

// UserPasswordChangedV1 replaces a native or reserved user's password hash.
type UserPasswordChangedV1 struct {
	Username     string `json:"username"`
	Reserved     bool   `json:"reserved"`
	PasswordHash string `json:"password_hash"`
}

// EventType implements Payload.
func (UserPasswordChangedV1) EventType() (EventType, uint8) { return UserPasswordChanged, 1 }

// ElasticBootstrappedV1 sets the first password of the elastic superuser. It
// applies only while elastic has none, so a second bootstrap changes nothing.
type ElasticBootstrappedV1 struct {
	PasswordHash string `json:"password_hash"`
	// ClusterID names the cluster for its whole life (GET /, backups).
	ClusterID string `json:"cluster_id"`
}

// EventType implements Payload.
func (ElasticBootstrappedV1) EventType() (EventType, uint8) { return ElasticBootstrapped, 1 }

func applyUserPutV1(s *State, index uint64, body []byte) (Result, error) {
	p, err := decodePayload[UserPutV1](body)
	if err != nil {
		return Result{}, err
	}
	u := p.User
	u.ModIndex = index
	old, exists := s.users[u.Username]
	if exists && u.PasswordHash == "" {
		u.PasswordHash = old.PasswordHash
	}
	if !exists && u.PasswordHash == "" {
		// Without a password the user could never authenticate; the proposer
		// checks this, but a replayed log must decide the same way.
		return Result{Status: NotFound}, nil
	}
	s.users[u.Username] = &u
	if exists {
		return Result{Status: Updated}, nil
	}
	return Result{Status: Created}, nil
}

func applyUserDeletedV1(s *State, _ uint64, body []byte) (Result, error) {
	p, err := decodePayload[UserDeletedV1](body)
	if err != nil {
		return Result{}, err
	}
	if _, ok := s.users[p.Username]; !ok {
		return Result{Status: NotFound}, nil
	}
	delete(s.users, p.Username)
	return Result{Status: Deleted}, nil
}

func applyUserEnabledSetV1(s *State, index uint64, body []byte) (Result, error) {
	p, err := decodePayload[UserEnabledSetV1](body)
	if err != nil {
		return Result{}, err
	}
	if p.Reserved {
		r := s.reservedCopy(p.Username)
		r.Disabled, r.ModIndex = !p.Enabled, index
		s.reserved[p.Username] = r
		return Result{Status: Updated}, nil
	}
	old, ok := s.users[p.Username]
	if !ok {
		return Result{Status: NotFound}, nil
	}
	u := *old
	u.Enabled, u.ModIndex = p.Enabled, index
	s.users[p.Username] = &u
	return Result{Status: Updated}, nil
}

func applyUserPasswordChangedV1(s *State, index uint64, body []byte) (Result, error) {
	p, err := decodePayload[UserPasswordChangedV1](body)
	if err != nil {
		return Result{}, err
	}
	if p.Reserved {
		r := s.reservedCopy(p.Username)
		r.PasswordHash, r.ModIndex = p.PasswordHash, index
		s.reserved[p.Username] = r
		return Result{Status: Updated}, nil
	}
	old, ok := s.users[p.Username]
	if !ok {
		return Result{Status: NotFound}, nil
	}
	u := *old
	u.PasswordHash, u.ModIndex = p.PasswordHash, index
	s.users[p.Username] = &u
	return Result{Status: Updated}, nil
}

func applyElasticBootstrappedV1(s *State, index uint64, body []byte) (Result, error) {
	p, err := decodePayload[ElasticBootstrappedV1](body)
	if err != nil {
		return Result{}, err
	}
	if r, ok := s.reserved["elastic"]; ok && r.PasswordHash != "" {
		return Result{Status: AlreadyExists}, nil
	}
	r := s.reservedCopy("elastic")
	r.PasswordHash, r.ModIndex = p.PasswordHash, index
	s.reserved["elastic"] = r
	if s.meta.ClusterID == "" {
		s.meta.ClusterID = p.ClusterID
	}
	return Result{Status: Created}, nil
}

// reservedCopy returns a fresh copy of a reserved user's record, so readers
// holding the old pointer never see it change.
func (s *State) reservedCopy(name string) *ReservedUser {
	if r, ok := s.reserved[name]; ok {
		c := *r
		return &c
	}
	return &ReservedUser{Username: name}
}

// User returns the native user with that name. The pointer is immutable:
// Apply replaces records instead of changing them.
func (s *State) User(name string) (*User, bool) {
	s.mu.RLock()
	u, ok := s.users[name]
	s.mu.RUnlock()
	return u, ok
}

// Reserved returns the stored part of a built-in user, if any was stored.
func (s *State) Reserved(name string) (*ReservedUser, bool) {
	s.mu.RLock()
	r, ok := s.reserved[name]
	s.mu.RUnlock()
	return r, ok
}

// Users returns every native user, ordered by name.
func (s *State) Users() []*User {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*User, 0, len(s.users))
	for _, k := range sortedKeys(s.users) {
		out = append(out, s.users[k])
	}
	return out
}
