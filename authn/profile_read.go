package authn

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/tokenstore/tokenstore/authn/authz"
	"github.com/tokenstore/tokenstore/fsm"
)

// ProfileView is a profile as the profile APIs show it.
type ProfileView struct {
	UID              string          `json:"uid"`
	Enabled          bool            `json:"enabled"`
	LastSynchronized int64           `json:"last_synchronized"`
	User             ProfileUser     `json:"user"`
	Labels           json.RawMessage `json:"labels"`
	Data             json.RawMessage `json:"data"`
	Doc              *ProfileDoc     `json:"_doc,omitempty"`
}

// ProfileUser is the user a profile was last activated for.
type ProfileUser struct {
	Username  string   `json:"username"`
	Roles     []string `json:"roles"`
	RealmName string   `json:"realm_name"`
	FullName  *string  `json:"full_name,omitempty"`
	Email     *string  `json:"email,omitempty"`
}

// ProfileDoc is a profile's versioning numbers, for conditional updates.
type ProfileDoc struct {
	PrimaryTerm int64  `json:"_primary_term"`
	SeqNo       uint64 `json:"_seq_no"`
}

// dataFilter is the data keys a read returns: nil none, "*" every one.
type dataFilter []string

// ParseDataFilter reads the data parameter (comma lists, repeated).
func ParseDataFilter(values []string) dataFilter {
	var out dataFilter
	for _, v := range values {
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				out = append(out, k)
			}
		}
	}
	return out
}

func (f dataFilter) filter(data json.RawMessage) json.RawMessage {
	empty := json.RawMessage(`{}`)
	if len(f) == 0 || len(data) == 0 {
		return empty
	}
	if slices.Contains(f, "*") {
		return data
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return empty
	}
	out := map[string]json.RawMessage{}
	for _, k := range f {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	b, _ := json.Marshal(out)
	return b
}

func viewProfile(p *fsm.Profile, data dataFilter, withDoc bool) ProfileView {
	labels := p.Labels
	if len(labels) == 0 {
		labels = json.RawMessage(`{}`)
	}
	v := ProfileView{UID: p.UID, Enabled: p.Enabled, LastSynchronized: p.LastSynchronized, Labels: labels, Data: data.filter(p.Data),
		User: ProfileUser{Username: p.Username, Roles: p.Roles, RealmName: p.RealmName, FullName: p.FullName, Email: p.Email}}
	if withDoc {
		v.Doc = &ProfileDoc{PrimaryTerm: profilePrimaryTerm, SeqNo: p.ModIndex}
	}
	return v
}

// WithProfileUIDs sets the profile uid of each user that has a profile,
// for with_profile_uid.
func (s *Service) WithProfileUIDs(users []UserView) {
	for i := range users {
		users[i].ProfileUID, _ = s.ProfileUIDOf(users[i].Username)
	}
}

// ProfileUIDOf is the uid of a user's profile, if the user has one.
func (s *Service) ProfileUIDOf(username string) (string, bool) {
	p, ok := s.st.Profile(ProfileUID(username))
	if !ok {
		return "", false
	}
	return p.UID, true
}

// ProfileErrors lists the uids a request could not answer for.
type ProfileErrors struct {
	Count   int                   `json:"count"`
	Details map[string]ErrorCause `json:"details"`
}

// ErrorCause is one of those answers.
type ErrorCause struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

func (e *ProfileErrors) add(uid, typ, reason string) *ProfileErrors {
	if e == nil {
		e = &ProfileErrors{Details: map[string]ErrorCause{}}
	}
	e.Count++
	e.Details[uid] = ErrorCause{Type: typ, Reason: reason}
	return e
}

// GetProfilesResponse is the answer of GET /_security/profile/{uids}.
type GetProfilesResponse struct {
	Profiles []ProfileView  `json:"profiles"`
	Errors   *ProfileErrors `json:"errors,omitempty"`
}

// maxProfileUIDs bounds the uids one request names.
const maxProfileUIDs = 10_000

// GetProfiles returns the profiles with these uids; missing ones are
// listed in errors, as Elasticsearch does.
func (s *Service) GetProfiles(ctx context.Context, c Caller, uids []string, data dataFilter) (GetProfilesResponse, error) {
	if err := s.Authorize(c, actionProfileGet); err != nil {
		return GetProfilesResponse{}, err
	}
	if len(uids) > maxProfileUIDs {
		return GetProfilesResponse{}, validation(fmt.Sprintf("at most [%d] uids may be requested at once", maxProfileUIDs))
	}
	s.freshRead(ctx)
	out := GetProfilesResponse{Profiles: []ProfileView{}}
	// Each uid answers once: a uid repeated 10,000 times made an answer of
	// 10,000 copies of one profile's labels and data (up to 1 MiB each).
	seen := make(map[string]bool, len(uids))
	for _, uid := range uids {
		if seen[uid] {
			continue
		}
		seen[uid] = true
		p, ok := s.st.Profile(uid)
		if !ok {
			out.Errors = out.Errors.add(uid, "resource_not_found_exception", "profile document not found")
			continue
		}
		out.Profiles = append(out.Profiles, viewProfile(p, data, true))
	}
	return out, nil
}

// SuggestRequest is the body of POST /_security/profile/_suggest.
type SuggestRequest struct {
	Name *string         `json:"name"`
	Size *int            `json:"size"`
	Data json.RawMessage `json:"data"` // a string (comma list) or an array
	Hint *struct {
		UIDs   []string            `json:"uids"`
		Labels map[string][]string `json:"labels"`
	} `json:"hint"`
}

// SuggestResponse is its answer.
type SuggestResponse struct {
	Took     int64         `json:"took"`
	Total    SuggestTotal  `json:"total"`
	Profiles []ProfileView `json:"profiles"`
}

// SuggestTotal counts every matching profile.
type SuggestTotal struct {
	Value    int    `json:"value"`
	Relation string `json:"relation"`
}

// SuggestProfiles finds enabled profiles whose username, full name or
// email has words starting with each word of name; hinted ones come first,
// then the most recently synchronized.
func (s *Service) SuggestProfiles(ctx context.Context, c Caller, req SuggestRequest, dataParam []string) (SuggestResponse, error) {
	start := time.Now()
	if err := s.Authorize(c, actionProfileSuggest); err != nil {
		return SuggestResponse{}, err
	}
	size, data, err := validateSuggest(req, dataParam)
	if err != nil {
		return SuggestResponse{}, err
	}
	s.freshRead(ctx)
	m := newSuggestion(req)
	type hit struct {
		p      *fsm.Profile
		hinted bool
	}
	var hits []hit
	for _, p := range s.st.Profiles() {
		if p.Enabled && m.matchesAll(p) {
			hits = append(hits, hit{p, m.hinted(p)})
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int {
		if a.hinted != b.hinted {
			if a.hinted {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.p.LastSynchronized, a.p.LastSynchronized)
	})
	out := SuggestResponse{Total: SuggestTotal{Value: len(hits), Relation: "eq"}, Profiles: []ProfileView{}}
	for _, h := range hits[:min(size, len(hits))] {
		out.Profiles = append(out.Profiles, viewProfile(h.p, data, false))
	}
	out.Took = time.Since(start).Milliseconds()
	return out, nil
}

// maxSuggestSize bounds one suggestion's answer.
const maxSuggestSize = 10_000

func validateSuggest(req SuggestRequest, dataParam []string) (int, dataFilter, error) {
	size := 10
	if req.Size != nil {
		size = *req.Size
	}
	if size < 0 {
		return 0, nil, validation(fmt.Sprintf("[size] parameter cannot be negative but was [%d]", size))
	}
	size = min(size, maxSuggestSize)
	if req.Hint != nil && len(req.Hint.Labels) > 1 {
		return 0, nil, validation("[hint.labels] must not have more than one key")
	}
	data := ParseDataFilter(dataParam)
	if len(req.Data) > 0 && string(req.Data) != "null" {
		var one string
		var many []string
		switch {
		case json.Unmarshal(req.Data, &one) == nil:
			many = []string{one}
		case json.Unmarshal(req.Data, &many) == nil:
		default:
			return 0, nil, &Error{Kind: Invalid, Type: "x_content_parse_exception", Reason: "[data] must be a string or an array of strings"}
		}
		data = append(data, ParseDataFilter(many)...)
	}
	return size, data, nil
}

// words splits text into lower-case words at anything not a letter or digit.
func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// suggestion is a _suggest request made ready to match: its name's words
// once each, its hinted uids and label values as sets. Matching a profile
// then costs what the profile holds, not what the request repeats: a name
// of millions of words, or a hint of as many uids, was scanned again for
// every profile.
type suggestion struct {
	terms       []string
	uids        map[string]bool
	labelKey    string
	labelValues map[string]bool
}

func newSuggestion(req SuggestRequest) suggestion {
	var m suggestion
	if req.Name != nil {
		seen := map[string]bool{}
		for _, w := range words(*req.Name) {
			if !seen[w] {
				seen[w] = true
				m.terms = append(m.terms, w)
			}
		}
	}
	if req.Hint == nil {
		return m
	}
	m.uids = make(map[string]bool, len(req.Hint.UIDs))
	for _, uid := range req.Hint.UIDs {
		m.uids[uid] = true
	}
	for k, want := range req.Hint.Labels { // at most one key (validateSuggest)
		m.labelKey, m.labelValues = k, make(map[string]bool, len(want))
		for _, v := range want {
			m.labelValues[v] = true
		}
	}
	return m
}

// matchesAll reports whether every term starts a word of the profile's
// username, full name or email. A miss ends the scan, and the distinct
// terms that hit are prefixes of the profile's words, so a profile costs
// at most its own words' prefixes.
func (m suggestion) matchesAll(p *fsm.Profile) bool {
	var have []string
	for _, f := range []*string{&p.Username, p.FullName, p.Email} {
		if f != nil {
			have = append(have, words(*f)...)
		}
	}
	for _, t := range m.terms {
		if !slices.ContainsFunc(have, func(w string) bool { return strings.HasPrefix(w, t) }) {
			return false
		}
	}
	return true
}

func (m suggestion) hinted(p *fsm.Profile) bool {
	if m.uids[p.UID] {
		return true
	}
	if m.labelValues == nil || len(p.Labels) == 0 {
		return false
	}
	var labels map[string]json.RawMessage
	json.Unmarshal(p.Labels, &labels)
	var one string
	var many []string
	if json.Unmarshal(labels[m.labelKey], &one) == nil {
		many = []string{one}
	} else {
		json.Unmarshal(labels[m.labelKey], &many)
	}
	return slices.ContainsFunc(many, func(v string) bool { return m.labelValues[v] })
}

// ProfileHasPrivilegesRequest is the body of POST /_security/profile/_has_privileges.
type ProfileHasPrivilegesRequest struct {
	UIDs       []string                   `json:"uids"`
	Privileges authz.HasPrivilegesRequest `json:"privileges"`
}

// ProfileHasPrivilegesResponse is its answer.
type ProfileHasPrivilegesResponse struct {
	HasPrivilegeUIDs []string       `json:"has_privilege_uids"`
	Errors           *ProfileErrors `json:"errors,omitempty"`
}

// ProfileHasPrivileges lists the profiles whose users have every privilege
// asked for, from their current roles.
func (s *Service) ProfileHasPrivileges(ctx context.Context, c Caller, req ProfileHasPrivilegesRequest) (ProfileHasPrivilegesResponse, error) {
	if err := s.Authorize(c, actionProfileHasPrivileges); err != nil {
		return ProfileHasPrivilegesResponse{}, err
	}
	if len(req.UIDs) == 0 {
		return ProfileHasPrivilegesResponse{}, validation("profile uids must be provided")
	}
	if len(req.UIDs) > maxProfileUIDs {
		return ProfileHasPrivilegesResponse{}, validation(fmt.Sprintf("at most [%d] uids may be requested at once", maxProfileUIDs))
	}
	if n := authz.Checks(req.Privileges) * len(req.UIDs); n > maxPrivilegeChecks {
		return ProfileHasPrivilegesResponse{}, validation(fmt.Sprintf("has_privileges asks for [%d] checks, more than the limit of [%d]", n, maxPrivilegeChecks))
	}
	if err := validateHasPrivileges(req.Privileges); err != nil {
		return ProfileHasPrivilegesResponse{}, err
	}
	s.freshRead(ctx)
	out := ProfileHasPrivilegesResponse{HasPrivilegeUIDs: []string{}}
	for _, uid := range slices.Compact(slices.Sorted(slices.Values(req.UIDs))) {
		p, ok := s.st.Profile(uid)
		if !ok {
			out.Errors = out.Errors.add(uid, "resource_not_found_exception", "profile document not found")
			continue
		}
		rec, ok := lookupUser(s.st, p.Username)
		if !p.Enabled || !ok || !rec.enabled {
			continue
		}
		auth := rec.authentication()
		if authz.Check(s.Permission(Caller{Auth: auth}), auth.Username, req.Privileges, s.st.ApplicationPrivileges).HasAllRequested {
			out.HasPrivilegeUIDs = append(out.HasPrivilegeUIDs, uid)
		}
	}
	return out, nil
}
