package authn

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tokenstore/tokenstore/fsm"
)

// Secret is a password or key as it arrives in a request body. It prints
// and marshals as [redacted], so it cannot leak into logs or answers.
type Secret string

func (Secret) String() string               { return "[redacted]" }
func (Secret) GoString() string             { return "[redacted]" }
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }
func (s Secret) bytes() []byte              { return []byte(s) }

// PutUserRequest is the body of put user.
type PutUserRequest struct {
	Username     *string         `json:"username,omitempty"`
	Password     *Secret         `json:"password,omitempty"`
	PasswordHash *string         `json:"password_hash,omitempty"`
	Roles        []string        `json:"roles"`
	FullName     *string         `json:"full_name,omitempty"`
	Email        *string         `json:"email,omitempty"`
	Metadata     json.RawMessage `json:"metadata,omitempty"`
	Enabled      *bool           `json:"enabled,omitempty"`
}

// UserView is a user as get user shows it.
type UserView struct {
	Username string          `json:"username"`
	Roles    []string        `json:"roles"`
	FullName *string         `json:"full_name"`
	Email    *string         `json:"email"`
	Metadata json.RawMessage `json:"metadata"`
	Enabled  bool            `json:"enabled"`
	// ProfileUID is set by WithProfileUIDs (with_profile_uid).
	ProfileUID string `json:"profile_uid,omitempty"`
}

const (
	actionUserPut      = secPrefix + "user/put"
	actionUserDelete   = secPrefix + "user/delete"
	actionUserGet      = secPrefix + "user/get"
	actionUserEnabled  = secPrefix + "user/set_enabled"
	actionUserPassword = secPrefix + "user/change_password"
	minPasswordLength  = 6
)

// validName checks user and role names: 1 to 1024 printable ASCII
// characters without leading or trailing spaces, as Elasticsearch requires.
// A '/' is refused too: names travel as one path segment.
func validName(kind, name string) error {
	if len(name) < 1 || len(name) > 1024 {
		return validation(fmt.Sprintf("%s names must be at least [1] and no more than [1024] characters", kind))
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] > 0x7e || name[i] == '/' {
			return validation(fmt.Sprintf("%s names may only contain printable ASCII characters other than [/]", kind))
		}
	}
	if name[0] == ' ' || name[len(name)-1] == ' ' {
		return validation(fmt.Sprintf("%s names may not start or end with a space", kind))
	}
	return nil
}

// PutUser creates or updates a native user; it reports whether it created.
func (s *Service) PutUser(ctx context.Context, c Caller, name string, req PutUserRequest) (bool, error) {
	if err := s.Authorize(c, actionUserPut); err != nil {
		return false, err
	}
	if err := validName("User", name); err != nil {
		return false, err
	}
	if IsReservedUser(name) {
		return false, validation(fmt.Sprintf("Username [%s] is reserved and may not be used.", name))
	}
	if req.Username != nil && *req.Username != name {
		return false, invalid("expected field [username] to be of type string")
	}
	if req.Roles == nil {
		return false, validation("roles are missing")
	}
	if err := checkMetadataKeys(req.Metadata); err != nil {
		return false, err
	}
	hash, err := s.passwordHash(ctx, req.Password, req.PasswordHash)
	if err != nil {
		return false, err
	}
	if hash == "" {
		if _, exists := s.st.User(name); !exists {
			return false, validation("password must be specified unless you are updating an existing user")
		}
	}
	u := fsm.User{Username: name, PasswordHash: hash, Roles: req.Roles, FullName: req.FullName,
		Email: req.Email, Metadata: compactObject(req.Metadata), Enabled: req.Enabled == nil || *req.Enabled}
	res, err := s.propose(ctx, c, fsm.UserPutV1{User: u})
	if err != nil {
		return false, err
	}
	if res.Status == fsm.NotFound {
		return false, validation("password must be specified unless you are updating an existing user")
	}
	return res.Status == fsm.Created, nil
}

// passwordHash turns the password fields of a request into a stored hash;
// "" means no password was given.
func (s *Service) passwordHash(ctx context.Context, password *Secret, prehashed *string) (string, error) {
	switch {
	case password != nil && prehashed != nil:
		return "", validation("only one of [password, passwordHash] can be provided")
	case prehashed != nil:
		if err := s.checkPrehashed(*prehashed); err != nil {
			return "", err
		}
		return *prehashed, nil
	case password != nil:
		if len(*password) < minPasswordLength {
			return "", validation(fmt.Sprintf("passwords must be at least [%d] characters long", minPasswordLength))
		}
		return s.hashPassword(ctx, password.bytes())
	}
	return "", nil
}

// checkPrehashed admits a password_hash as Elasticsearch does, of any of
// its password hashers, and only within the cost limit: every later login
// with a wrong password pays what the hash costs.
func (s *Service) checkPrehashed(hash string) error {
	const reason = "The provided password hash is not a hash or it could not be resolved to a supported hash algorithm. The supported password hash algorithms are %s"
	if !s.hasher.acceptsPrehashed(hash) {
		return invalid(reason, supportedHashers)
	}
	if !s.costLimit.allows(hash) {
		family, _, _ := hashCost(hash)
		return invalid(reason+", with %s", supportedHashers, s.costLimit.describe(family))
	}
	return nil
}

// checkForwardedPasswordHash is the leader's check of a password hash in a
// forwarded user write: the forwarding node checked it, but the internal
// endpoint may be called by anyone when peers are not authenticated, and
// the nodes' limits may differ. Events without a hash pass.
func (s *Service) checkForwardedPasswordHash(t fsm.EventType, body []byte) error {
	var hash string
	switch t {
	case fsm.UserPut:
		var p fsm.UserPutV1
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		hash = p.User.PasswordHash
	case fsm.UserPasswordChanged:
		var p fsm.UserPasswordChangedV1
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		hash = p.PasswordHash
	}
	if hash == "" && t != fsm.UserPasswordChanged {
		return nil
	}
	return s.checkPrehashed(hash)
}

func compactObject(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

// DeleteUser removes a native user; it reports whether it existed.
func (s *Service) DeleteUser(ctx context.Context, c Caller, name string) (bool, error) {
	if err := s.Authorize(c, actionUserDelete); err != nil {
		return false, err
	}
	if IsReservedUser(name) {
		return false, validation(fmt.Sprintf("user [%s] is reserved and may not be deleted", name))
	}
	res, err := s.propose(ctx, c, fsm.UserDeletedV1{Username: name})
	if err != nil {
		return false, err
	}
	s.users.remove(name)
	return res.Status == fsm.Deleted, nil
}

// SetEnabled enables or disables a user. Nobody may change their own status.
func (s *Service) SetEnabled(ctx context.Context, c Caller, name string, enabled bool) error {
	if err := s.Authorize(c, actionUserEnabled); err != nil {
		return err
	}
	// Whatever the credential (password, token, API key of the user, run as
	// the user), as Elasticsearch compares the effective user.
	if name == c.Auth.Username {
		return validation("users may not update the enabled status of their own account")
	}
	reserved := IsReservedUser(name)
	if !reserved {
		if _, ok := s.st.User(name); !ok {
			return notFoundUser(name)
		}
	}
	res, err := s.propose(ctx, c, fsm.UserEnabledSetV1{Username: name, Reserved: reserved, Enabled: enabled})
	if err != nil {
		return err
	}
	if res.Status == fsm.NotFound {
		return notFoundUser(name)
	}
	return nil
}

func notFoundUser(name string) *Error {
	return &Error{Kind: NotFound, Type: "resource_not_found_exception", Reason: fmt.Sprintf("user [%s] does not exist", name)}
}

// ChangePassword sets a user's password. A user may change their own
// password (when authenticated by a realm); anyone else needs manage_security.
func (s *Service) ChangePassword(ctx context.Context, c Caller, name string, password *Secret, prehashed *string) error {
	if name == "" {
		name = c.Auth.Username
	}
	if name == c.Auth.Username && c.Auth.Type == "token" {
		// A stolen access token must not be enough to take over the account.
		return forbidden(c.Auth, actionUserPassword)
	}
	self := name == c.Auth.Username && c.Auth.Type == "realm"
	if !self {
		if err := s.Authorize(c, actionUserPassword); err != nil {
			return err
		}
	}
	if password == nil && prehashed == nil {
		return validation("password must be specified")
	}
	hash, err := s.passwordHash(ctx, password, prehashed)
	if err != nil {
		return err
	}
	reserved := IsReservedUser(name)
	if !reserved {
		if _, ok := s.st.User(name); !ok {
			return notFoundUser(name)
		}
	}
	res, err := s.propose(ctx, c, fsm.UserPasswordChangedV1{Username: name, Reserved: reserved, PasswordHash: hash})
	if err != nil {
		return err
	}
	if res.Status == fsm.NotFound {
		return notFoundUser(name)
	}
	s.users.remove(name)
	return nil
}

// GetUsers returns the named users, or all users when names is empty. The
// second result lists names that were asked for and not found.
func (s *Service) GetUsers(ctx context.Context, c Caller, names []string) ([]UserView, []string, error) {
	if err := s.Authorize(c, actionUserGet); err != nil {
		return nil, nil, err
	}
	s.freshRead(ctx)
	var out []UserView
	var missing []string
	if len(names) == 0 {
		for _, name := range sortedReservedUsers() {
			out = append(out, s.reservedView(name))
		}
		for _, u := range s.st.Users() {
			out = append(out, nativeView(u))
		}
		return out, nil, nil
	}
	for _, name := range names {
		if IsReservedUser(name) {
			out = append(out, s.reservedView(name))
		} else if u, ok := s.st.User(name); ok {
			out = append(out, nativeView(u))
		} else {
			missing = append(missing, name)
		}
	}
	return out, missing, nil
}

func sortedReservedUsers() []string { return slices.Sorted(maps.Keys(reservedUsers)) }

func (s *Service) reservedView(name string) UserView {
	r, _ := s.st.Reserved(name)
	enabled := r == nil || !r.Disabled
	return UserView{Username: name, Roles: reservedUsers[name], Metadata: reservedMetadata, Enabled: enabled}
}

func nativeView(u *fsm.User) UserView {
	md := u.Metadata
	if len(md) == 0 {
		md = json.RawMessage(`{}`)
	}
	return UserView{Username: u.Username, Roles: u.Roles, FullName: u.FullName, Email: u.Email, Metadata: md, Enabled: u.Enabled}
}

// SplitNames splits a comma-separated path parameter, dropping empties.
func SplitNames(s string) []string {
	var out []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}
