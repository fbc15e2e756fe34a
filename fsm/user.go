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

func applyUserPutV1(s *State, index uint64, p UserPutV1) Result {
	u := p.User
	u.ModIndex = index
	old, exists := s.users[u.Username]
	if exists && u.PasswordHash == "" {
		u.PasswordHash = old.PasswordHash
	}
	if !exists && u.PasswordHash == "" {
		// Without a password the user could never authenticate; the proposer
		// checks this, but a replayed log must decide the same way.
		return Result{Status: NotFound}
	}
	s.users[u.Username] = &u
	if exists {
		return Result{Status: Updated}
	}
	return Result{Status: Created}
}

func applyUserDeletedV1(s *State, _ uint64, p UserDeletedV1) Result {
	return deleteFrom(s.users, p.Username)
}

func applyUserEnabledSetV1(s *State, index uint64, p UserEnabledSetV1) Result {
	if p.Reserved {
		return s.changeReserved(p.Username, func(r *ReservedUser) { r.Disabled, r.ModIndex = !p.Enabled, index })
	}
	return s.changeUser(p.Username, func(u *User) { u.Enabled, u.ModIndex = p.Enabled, index })
}

func applyUserPasswordChangedV1(s *State, index uint64, p UserPasswordChangedV1) Result {
	if p.Reserved {
		return s.changeReserved(p.Username, func(r *ReservedUser) { r.PasswordHash, r.ModIndex = p.PasswordHash, index })
	}
	return s.changeUser(p.Username, func(u *User) { u.PasswordHash, u.ModIndex = p.PasswordHash, index })
}

func applyElasticBootstrappedV1(s *State, index uint64, p ElasticBootstrappedV1) Result {
	if r, ok := s.reserved["elastic"]; ok && r.PasswordHash != "" {
		return Result{Status: AlreadyExists}
	}
	s.changeReserved("elastic", func(r *ReservedUser) { r.PasswordHash, r.ModIndex = p.PasswordHash, index })
	if s.meta.ClusterID == "" {
		s.meta.ClusterID = p.ClusterID
	}
	return Result{Status: Created}
}

// changeUser stores a changed copy of a native user's record, so readers
// holding the old pointer never see it change.
func (s *State) changeUser(name string, change func(*User)) Result {
	old, ok := s.users[name]
	if !ok {
		return Result{Status: NotFound}
	}
	u := *old
	change(&u)
	s.users[name] = &u
	return Result{Status: Updated}
}

// changeReserved is changeUser for a built-in user, whose record is
// created on its first change.
func (s *State) changeReserved(name string, change func(*ReservedUser)) Result {
	r := &ReservedUser{Username: name}
	if old, ok := s.reserved[name]; ok {
		*r = *old
	}
	change(r)
	s.reserved[name] = r
	return Result{Status: Updated}
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
	return sortedValues(s.users)
}

func (u *User) recordKey() string { return u.Username }

func (r *ReservedUser) recordKey() string { return r.Username }
