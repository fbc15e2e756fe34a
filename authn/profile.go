package authn

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tokenstore/tokenstore/fsm"
)

// The cluster actions of the user profile API; manage_user_profile grants
// them all, read_security the reads.
const (
	actionProfileActivate      = secPrefix + "profile/activate"
	actionProfileGet           = secPrefix + "profile/get"
	actionProfileData          = secPrefix + "profile/put/data"
	actionProfileEnabled       = secPrefix + "profile/set_enabled"
	actionProfileSuggest       = secPrefix + "profile/suggest"
	actionProfileHasPrivileges = secPrefix + "profile/has_privileges"
)

// ProfileUID is the uid Elasticsearch gives a user's profile: "u_", the
// unpadded base64url SHA-256 of the username, and the differentiator "_0".
func ProfileUID(username string) string {
	sum := sha256.Sum256([]byte(username))
	return "u_" + base64.RawURLEncoding.EncodeToString(sum[:]) + "_0"
}

// ActivateProfileRequest is the body of POST /_security/profile/_activate.
type ActivateProfileRequest struct {
	GrantType   string  `json:"grant_type"`
	Username    *string `json:"username"`
	Password    *Secret `json:"password"`
	AccessToken *string `json:"access_token"`
}

// ActivateProfile creates or updates the profile of the user a grant
// proves (a password or an access token), as Kibana does at every login.
func (s *Service) ActivateProfile(ctx context.Context, c Caller, req ActivateProfileRequest) (ProfileView, error) {
	if err := s.Authorize(c, actionProfileActivate); err != nil {
		return ProfileView{}, err
	}
	subject, err := s.profileSubject(ctx, &c, req)
	if err != nil {
		return ProfileView{}, err
	}
	if subject.APIKey != nil || subject.Realm == ServiceAccountRealm {
		return ProfileView{}, invalid("profile is not supported for %s", subjectKind(subject))
	}
	uid := ProfileUID(subject.Username)
	p := fsm.Profile{UID: uid, Username: subject.Username, RealmName: subject.Realm.Name, RealmType: subject.Realm.Type,
		Roles: subject.Roles, FullName: subject.FullName, Email: subject.Email, LastSynchronized: s.now().UnixMilli()}
	if p.Roles == nil {
		p.Roles = []string{}
	}
	// As Elasticsearch: a profile activated again within 30 s for the same
	// user is answered as it is, without a write (Kibana activates at every
	// login).
	if old, ok := s.st.Profile(uid); ok && old.Enabled && sameProfileUser(old, &p) && p.LastSynchronized-old.LastSynchronized < activateInterval {
		return viewProfile(old, nil, true), nil
	}
	if _, err := s.propose(ctx, c, fsm.ProfileActivatedV1{Profile: p}); err != nil {
		return ProfileView{}, err
	}
	stored, ok := s.st.Profile(uid)
	if !ok {
		return ProfileView{}, fmt.Errorf("activate profile: profile %s not found after its activation", uid)
	}
	return viewProfile(stored, nil, true), nil
}

// activateInterval is Elasticsearch's ACTIVATE_INTERVAL_IN_MS.
const activateInterval = 30_000

func sameProfileUser(a, b *fsm.Profile) bool {
	return a.Username == b.Username && a.RealmName == b.RealmName && a.RealmType == b.RealmType && slices.Equal(a.Roles, b.Roles) &&
		equalPtr(a.FullName, b.FullName) && equalPtr(a.Email, b.Email)
}

// profileSubject authenticates the user of an activation's grant.
func (s *Service) profileSubject(ctx context.Context, c *Caller, req ActivateProfileRequest) (*Authentication, error) {
	switch req.GrantType {
	case "password":
		if req.Username == nil || *req.Username == "" || req.Password == nil || len(*req.Password) == 0 {
			return nil, validation("username is missing", "password is missing")
		}
		if req.AccessToken != nil {
			return nil, validation("access_token is not supported with the password grant_type")
		}
		c.Subject = basicCredential(*req.Username, *req.Password)
		return s.authenticatePassword(ctx, *c, "activate_profile", *req.Username, req.Password.bytes(), "/_security/profile/_activate")
	case "access_token":
		if req.AccessToken == nil || *req.AccessToken == "" {
			return nil, validation("access_token is missing")
		}
		if req.Username != nil || req.Password != nil {
			return nil, validation("username and password are not supported with the access_token grant_type")
		}
		c.Subject = "Bearer " + *req.AccessToken
		return s.authenticateAccessToken(ctx, *req.AccessToken)
	case "":
		return nil, validation("grant_type is missing")
	}
	return nil, validation("grant_type [" + Clip(req.GrantType, maxEcho) + "] is not supported")
}

func subjectKind(a *Authentication) string {
	if a.APIKey != nil {
		return "API keys"
	}
	return "service accounts"
}

// UpdateProfileDataRequest is the body of POST /_security/profile/{uid}/_data.
type UpdateProfileDataRequest struct {
	Labels json.RawMessage `json:"labels"`
	Data   json.RawMessage `json:"data"`
}

// IfSeq is a conditional write's if_seq_no and if_primary_term, when given.
type IfSeq struct {
	SeqNo, PrimaryTerm *int64
}

// profilePrimaryTerm is the _primary_term of every profile: the Raft log
// has no terms a client could compare, and a profile's _seq_no (its mod
// index) is what changes on every write.
const profilePrimaryTerm = 1

// UpdateProfileData merges labels and data into a profile.
func (s *Service) UpdateProfileData(ctx context.Context, c Caller, uid string, req UpdateProfileDataRequest, cond IfSeq) error {
	if err := s.Authorize(c, actionProfileData); err != nil {
		return err
	}
	labels, data, err := validateProfileUpdate(req, cond)
	if err != nil {
		return err
	}
	if err := s.strictRead(ctx); err != nil {
		return err
	}
	p, ok := s.st.Profile(uid)
	if !ok {
		return profileMissing(uid)
	}
	ev := fsm.ProfileDataUpdatedV1{UID: uid, Labels: labels, Data: data}
	if cond.SeqNo != nil {
		if *cond.PrimaryTerm != profilePrimaryTerm || *cond.SeqNo < 0 {
			return versionConflict(uid, cond, p.ModIndex)
		}
		seq := uint64(*cond.SeqNo)
		ev.IfSeqNo = &seq
	}
	res, err := s.propose(ctx, c, ev)
	if err != nil {
		return err
	}
	switch res.Status {
	case fsm.NotFound:
		return profileMissing(uid)
	case fsm.Conflict:
		cur, _ := s.st.Profile(uid)
		return versionConflict(uid, cond, cur.ModIndex)
	case fsm.TooLarge:
		return profileTooLarge()
	}
	return nil
}

// validateProfileUpdate refuses what Elasticsearch refuses and returns the
// labels and data compact; nothing is proposed for a refused request.
func validateProfileUpdate(req UpdateProfileDataRequest, cond IfSeq) (labels, data json.RawMessage, err error) {
	var msgs []string
	keys := map[string]bool{}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		out  *json.RawMessage
	}{{"labels", req.Labels, &labels}, {"data", req.Data, &data}} {
		m, err := profileObject(f.name, f.raw)
		if err != nil {
			return nil, nil, err
		}
		for k := range m {
			keys[k] = true
		}
		if len(m) > 0 {
			*f.out, _ = fsm.MergeObjects(nil, f.raw)
		}
	}
	// Elasticsearch's checks of the application names (the top-level keys).
	names := slices.Sorted(maps.Keys(keys))
	if len(names) == 0 {
		msgs = append(msgs, "update request is empty")
	}
	for _, bad := range []struct {
		what string
		is   func(string) bool
	}{
		{"contain dot", func(n string) bool { return strings.Contains(n, ".") }},
		{"start with underscore", func(n string) bool { return strings.HasPrefix(n, "_") }},
	} {
		var found []string
		for _, n := range names {
			if bad.is(n) {
				found = append(found, n)
			}
		}
		if len(found) > 0 {
			msgs = append(msgs, fmt.Sprintf("application name must not %s, but found [%s]", bad.what, Clip(strings.Join(found, ","), maxEcho)))
		}
	}
	if (cond.SeqNo == nil) != (cond.PrimaryTerm == nil) {
		msgs = append(msgs, "if_seq_no and if_primary_term must be set together")
	}
	if len(msgs) > 0 {
		return nil, nil, validation(msgs...)
	}
	if len(labels)+len(data) > fsm.MaxProfileContent {
		return nil, nil, profileTooLarge()
	}
	return labels, data, nil
}

// profileObject decodes labels or data, which must be a JSON object.
func profileObject(field string, raw json.RawMessage) (map[string]json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, &Error{Kind: Invalid, Type: "x_content_parse_exception", Reason: fmt.Sprintf("[%s] must be an object", field)}
	}
	return m, nil
}

func profileTooLarge() *Error {
	return invalid("the labels and data of a profile may not exceed [%d] bytes", fsm.MaxProfileContent)
}

func profileMissing(uid string) *Error {
	return &Error{Kind: NotFound, Type: "document_missing_exception", Reason: fmt.Sprintf("[%s]: document missing", Clip(uid, maxEcho))}
}

func versionConflict(uid string, cond IfSeq, current uint64) *Error {
	return &Error{Kind: Conflict, Type: "version_conflict_engine_exception", Reason: fmt.Sprintf(
		"[%s]: version conflict, required seqNo [%d], primary term [%d]. current document has seqNo [%d] and primary term [%d]",
		Clip(uid, maxEcho), *cond.SeqNo, *cond.PrimaryTerm, current, profilePrimaryTerm)}
}

// SetProfileEnabled enables or disables a profile: a disabled profile is
// left out of suggestions and privilege checks.
func (s *Service) SetProfileEnabled(ctx context.Context, c Caller, uid string, enabled bool) error {
	if err := s.Authorize(c, actionProfileEnabled); err != nil {
		return err
	}
	if err := s.strictRead(ctx); err != nil {
		return err
	}
	if _, ok := s.st.Profile(uid); !ok {
		return profileMissing(uid)
	}
	res, err := s.propose(ctx, c, fsm.ProfileEnabledSetV1{UID: uid, Enabled: enabled})
	if err != nil {
		return err
	}
	if res.Status == fsm.NotFound {
		return profileMissing(uid)
	}
	return nil
}
